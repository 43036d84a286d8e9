using System.Security.Cryptography;

namespace NeuralStyle.Tests.Support;

/// <summary>
/// A checkpoint file in the parts tests change: its JSON header (after the signature, a length-prefixed string as
/// <see cref="BinaryWriter"/> writes it), the arrays after it, and the SHA-256 of all that at the end.
/// </summary>
internal static class CheckpointBytes
{
    private static ReadOnlySpan<byte> Signature => "NSCKPT01"u8;

    /// <summary>The header's JSON and the bytes after it (the arrays, then the checksum).</summary>
    public static (string Json, byte[] After) Split(byte[] file)
    {
        using var reader = new BinaryReader(new MemoryStream(file));
        reader.ReadBytes(Signature.Length);
        string json = reader.ReadString();
        return (json, file[(int)reader.BaseStream.Position..]);
    }

    /// <summary>A file of <paramref name="json"/> and <paramref name="arrays"/>, ending in their checksum or, as files from before the checksum did, not.</summary>
    public static byte[] Join(string json, byte[] arrays, bool checksum)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Signature);
            writer.Write(json);
            writer.Write(arrays);
        }

        byte[] content = stream.ToArray();
        return checksum ? [.. content, .. SHA256.HashData(content)] : content;
    }
}
