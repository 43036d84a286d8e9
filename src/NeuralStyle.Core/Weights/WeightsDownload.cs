using System.Globalization;
using System.Security.Cryptography;

namespace NeuralStyle.Weights;

/// <summary>
/// Downloads a <see cref="PretrainedFile"/> into a folder: streamed to a temporary file while its SHA-256 is
/// computed, and renamed into place only when its size and hash are the expected ones, so the folder never holds a
/// partial or wrong file under the name <c>--weights auto</c> looks for. Every failure is an <see cref="IOException"/>
/// that names the URL, says why and that nothing was saved.
/// </summary>
public static class WeightsDownload
{
    /// <summary>How long the server may send nothing before the download is given up.</summary>
    public static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Downloads <paramref name="file"/> from <paramref name="url"/> (its own, or a mirror) into
    /// <paramref name="folder"/> and returns the path; <paramref name="progress"/> receives the bytes received so far.
    /// </summary>
    public static async Task<string> FetchAsync(PretrainedFile file, Uri url, string folder, HttpClient http, IProgress<long>? progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(http);
        string destination = Path.Combine(folder, file.FileName);
        string partial = Path.Combine(folder, $".{file.FileName}.{Environment.ProcessId}.partial");
        string nothingSaved = $"nothing was saved in {folder}";
        try
        {
            using HttpResponseMessage response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancel).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new IOException($"Cannot download {url}: the server answered {(int)response.StatusCode} {response.ReasonPhrase}; {nothingSaved}.");
            }

            if (response.Content.Headers.ContentLength is long offered && offered != file.Bytes)
            {
                throw new IOException(string.Create(CultureInfo.InvariantCulture,
                    $"Cannot download {url}: it is {offered:N0} bytes, and {file.FileName} is {file.Bytes:N0}; {nothingSaved}. Check that the URL serves {file.FileName}."));
            }

            Directory.CreateDirectory(folder); // once the server has the file: a refused download leaves no folder
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long received = await CopyAsync(response, partial, hash, file.Bytes, progress, cancel).ConfigureAwait(false);
            if (received != file.Bytes)
            {
                throw new IOException(string.Create(CultureInfo.InvariantCulture,
                    $"The download of {url} {(received < file.Bytes ? "ended after" : "went past")} {received:N0} of {file.Bytes:N0} bytes; {nothingSaved}. Try again."));
            }

            string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (actual != file.Sha256)
            {
                throw new IOException($"The file downloaded from {url} has SHA-256 {actual}, not {file.FileName}'s {file.Sha256}: it was damaged on the way or is another file; {nothingSaved}. Try again, or another --url.");
            }

            File.Move(partial, destination, overwrite: true);
            return destination;
        }
        catch (TaskCanceledException e) when (!cancel.IsCancellationRequested)
        {
            throw new IOException($"Cannot download {url}: no answer within {http.Timeout.TotalSeconds.ToString("G3", CultureInfo.InvariantCulture)} s; {nothingSaved}. Try again later, or another --url.", e);
        }
        catch (HttpRequestException e)
        {
            throw new IOException($"Cannot download {url} ({e.Message.TrimEnd('.')}); {nothingSaved}. Check the connection, or download {file.FileName} yourself into {folder} (models/README.md).", e);
        }
        finally
        {
            if (File.Exists(partial))
            {
                File.Delete(partial);
            }
        }
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="file"/>: the same size and SHA-256.</summary>
    public static bool Holds(string path, PretrainedFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (new FileInfo(path).Length != file.Bytes)
        {
            return false;
        }

        using FileStream stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream)) == file.Sha256;
    }

    /// <summary>
    /// Streams the body into <paramref name="path"/> and <paramref name="hash"/>, stopping one read past
    /// <paramref name="expected"/> bytes (a server that sends more is not read to its end) or when the server stalls.
    /// </summary>
    private static async Task<long> CopyAsync(HttpResponseMessage response, string path, IncrementalHash hash, long expected, IProgress<long>? progress, CancellationToken cancel)
    {
        var buffer = new byte[1 << 20];
        long received = 0;
        await using Stream source = await response.Content.ReadAsStreamAsync(cancel).ConfigureAwait(false);
        await using var target = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        while (received <= expected)
        {
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            stall.CancelAfter(StallLimit);
            int read;
            try
            {
                read = await source.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                throw new HttpRequestException($"the server sent nothing for {StallLimit.TotalSeconds:F0} s");
            }

            if (read == 0)
            {
                break;
            }

            received += read;
            hash.AppendData(buffer, 0, read);
            await target.WriteAsync(buffer.AsMemory(0, read), cancel).ConfigureAwait(false);
            progress?.Report(received);
        }

        await target.FlushAsync(cancel).ConfigureAwait(false);
        target.Flush(flushToDisk: true);
        return received;
    }
}
