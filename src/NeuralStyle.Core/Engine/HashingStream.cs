using System.Security.Cryptography;

namespace NeuralStyle.Engine;

/// <summary>
/// Passes reads or writes through to another stream and hashes every byte that passes (SHA-256), so a file can end
/// with the checksum of what came before it without being held in memory. Does not own the inner stream.
/// </summary>
internal sealed class HashingStream(Stream inner) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>Bytes in a checksum.</summary>
    public const int ChecksumLength = 32;

    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => throw new NotSupportedException("A hashing stream passes bytes in order.");
    }

    /// <summary>The checksum of every byte passed so far.</summary>
    public byte[] Checksum() => _hash.GetCurrentHash();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int read = inner.Read(buffer);
        _hash.AppendData(buffer[..read]);
        return read;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        inner.Write(buffer);
        _hash.AppendData(buffer);
    }

    public override void Flush() => inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("A hashing stream passes bytes in order.");

    public override void SetLength(long value) => throw new NotSupportedException("A hashing stream passes bytes in order.");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }
}
