using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace NeuralStyle.Weights;

/// <summary>
/// Downloads a <see cref="PretrainedFile"/> into a folder: streamed to a hidden partial file while its SHA-256 is
/// computed, and renamed into place only when its size and hash are the expected ones, so the folder never holds a
/// partial or wrong file under the name <c>--weights auto</c> looks for. A download broken off (the connection, a
/// stall, Ctrl-C) keeps what arrived, and the next one asks the server for the rest only (an HTTP range); a server
/// that answers with the whole file starts it over. Every failure is an <see cref="IOException"/> that names the
/// URL, says why, and says what was kept.
/// </summary>
public static class WeightsDownload
{
    /// <summary>How long the server may send nothing before the download is given up.</summary>
    public static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(60);

    /// <summary>Where the bytes of an unfinished download of <paramref name="file"/> into <paramref name="folder"/> wait for the next attempt.</summary>
    public static string PartialPath(string folder, PretrainedFile file) =>
        Path.Combine(folder, $".{(file ?? throw new ArgumentNullException(nameof(file))).FileName}.partial");

    /// <summary>Bytes of <paramref name="file"/> that an unfinished download left in <paramref name="folder"/> (0 when none).</summary>
    public static long PartialBytes(string folder, PretrainedFile file) =>
        PartialPath(folder, file) is string partial && File.Exists(partial) ? new FileInfo(partial).Length : 0;

    /// <summary>
    /// Downloads <paramref name="file"/> from <paramref name="url"/> (its own, or a mirror) into
    /// <paramref name="folder"/>, continuing an earlier partial download, and returns the path;
    /// <paramref name="progress"/> receives the bytes held so far.
    /// </summary>
    public static Task<string> FetchAsync(PretrainedFile file, Uri url, string folder, HttpClient http, IProgress<long>? progress, CancellationToken cancel) =>
        FetchAsync(file, url, folder, http, progress, StallLimit, cancel);

    /// <summary><see cref="FetchAsync(PretrainedFile, Uri, string, HttpClient, IProgress{long}?, CancellationToken)"/>, giving up when the server sends nothing for <paramref name="stallLimit"/>.</summary>
    internal static async Task<string> FetchAsync(PretrainedFile file, Uri url, string folder, HttpClient http, IProgress<long>? progress, TimeSpan stallLimit, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(http);
        string destination = Path.Combine(folder, file.FileName), partial = PartialPath(folder, file);
        long held = PartialBytes(folder, file);
        held = held < file.Bytes ? held : 0; // a whole one was never checked (a crash before the rename): start over
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (held > 0)
            {
                request.Headers.Range = new RangeHeaderValue(held, null);
            }

            using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
                {
                    File.Delete(partial); // the server has no rest to give for what is here: the next attempt starts over
                }

                throw new IOException($"Cannot download {url}: the server answered {(int)response.StatusCode} {response.ReasonPhrase}; {Kept(folder, file)}.");
            }

            long start = response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == held ? held : 0;
            if (response.Content.Headers.ContentLength is long offered && offered != file.Bytes - start)
            {
                throw new IOException(string.Create(CultureInfo.InvariantCulture,
                    $"Cannot download {url}: it is {offered:N0} bytes, and {file.FileName} is {file.Bytes:N0}{(start > 0 ? $" of which {start:N0} are here" : "")}; {Kept(folder, file)}. Check that the URL serves {file.FileName}."));
            }

            Directory.CreateDirectory(folder); // once the server has the file: a refused download leaves no folder
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long total = await ReceiveAsync(response, partial, start, hash, file.Bytes, progress, stallLimit, cancel).ConfigureAwait(false);
            if (total > file.Bytes)
            {
                File.Delete(partial);
                throw new IOException(string.Create(CultureInfo.InvariantCulture,
                    $"The download of {url} went past {file.FileName}'s {file.Bytes:N0} bytes; {Kept(folder, file)}. Check that the URL serves {file.FileName}."));
            }

            if (total < file.Bytes)
            {
                throw new IOException(string.Create(CultureInfo.InvariantCulture,
                    $"The download of {url} ended after {total:N0} of {file.Bytes:N0} bytes; {Kept(folder, file)}."));
            }

            string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (actual != file.Sha256)
            {
                File.Delete(partial); // which part is wrong cannot be known: the next attempt starts over
                throw new IOException($"The file downloaded from {url} has SHA-256 {actual}, not {file.FileName}'s {file.Sha256}: it was damaged on the way or is another file; {Kept(folder, file)}. Try again, or another --url.");
            }

            File.Move(partial, destination, overwrite: true);
            return destination;
        }
        catch (TaskCanceledException e) when (!cancel.IsCancellationRequested)
        {
            throw new IOException($"Cannot download {url}: no answer within {http.Timeout.TotalSeconds.ToString("G3", CultureInfo.InvariantCulture)} s; {Kept(folder, file)}. Try again later, or another --url.", e);
        }
        catch (HttpRequestException e)
        {
            throw new IOException($"Cannot download {url} ({e.Message.TrimEnd('.')}); {Kept(folder, file)}. Check the connection, or download {file.FileName} yourself into {folder} (models/README.md).", e);
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

    /// <summary>What a failed attempt leaves: nothing, or the bytes a next attempt continues from.</summary>
    private static string Kept(string folder, PretrainedFile file) =>
        PartialBytes(folder, file) is long bytes and > 0
            ? string.Create(CultureInfo.InvariantCulture, $"the {bytes:N0} of {file.Bytes:N0} bytes received are kept in {PartialPath(folder, file)}, and the next attempt continues from there")
            : $"nothing was saved in {folder}";

    /// <summary>
    /// Writes the body into the partial file after its first <paramref name="start"/> bytes (which are hashed first;
    /// anything after them is dropped), stopping one read past the expected size (a server that sends more is not read
    /// to its end) or when the server stalls. Returns the partial file's length.
    /// </summary>
    private static async Task<long> ReceiveAsync(HttpResponseMessage response, string partial, long start, IncrementalHash hash, long expected, IProgress<long>? progress,
        TimeSpan stallLimit, CancellationToken cancel)
    {
        var buffer = new byte[1 << 20];
        await using Stream source = await response.Content.ReadAsStreamAsync(cancel).ConfigureAwait(false);
        await using var target = new FileStream(partial, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: true);
        target.SetLength(start);
        for (int read; (read = await target.ReadAsync(buffer, cancel).ConfigureAwait(false)) > 0;)
        {
            hash.AppendData(buffer, 0, read);
        }

        long total = start;
        progress?.Report(total);
        while (total <= expected)
        {
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            stall.CancelAfter(stallLimit);
            int read;
            try
            {
                read = await source.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                throw new HttpRequestException(string.Create(CultureInfo.InvariantCulture, $"the server sent nothing for {stallLimit.TotalSeconds:G3} s"));
            }
            catch (IOException e)
            {
                throw new HttpRequestException(e.Message, e); // the connection broke mid-body
            }

            if (read == 0)
            {
                break;
            }

            total += read;
            hash.AppendData(buffer, 0, read);
            await target.WriteAsync(buffer.AsMemory(0, read), cancel).ConfigureAwait(false);
            progress?.Report(total);
        }

        await target.FlushAsync(cancel).ConfigureAwait(false);
        target.Flush(flushToDisk: true);
        return total;
    }
}
