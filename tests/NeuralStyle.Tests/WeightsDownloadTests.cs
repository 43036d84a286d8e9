using System.Net;
using System.Security.Cryptography;
using NeuralStyle.Model;
using NeuralStyle.Tests.Support;
using NeuralStyle.Weights;

namespace NeuralStyle.Tests;

/// <summary>
/// <c>model fetch</c>'s download, against a server played by an HttpMessageHandler: a file takes its name in the cache
/// only with the expected size and SHA-256, and no failure leaves a partial file or replaces one that was there. And
/// what the command line says of the cache.
/// </summary>
public sealed class WeightsDownloadTests : TemporaryFolderTest
{
    private static readonly Uri Address = new("http://mirror.test/vgg19.onnx");
    private readonly byte[] _content = RandomNumberGenerator.GetBytes(2_500_001); // not a whole number of reads
    private readonly PretrainedFile _file;

    public WeightsDownloadTests() =>
        _file = new PretrainedFile("test", "vgg-test.onnx", Address, _content.Length, Convert.ToHexStringLower(SHA256.HashData(_content)));

    private string Cache => Path.Combine(Folder, "cache");

    [Fact]
    public async Task A_file_of_the_expected_size_and_hash_is_saved_under_its_name()
    {
        var reported = new List<long>();
        string path = await Fetch(Serve(_content), new SynchronousProgress<long>(reported.Add));

        Assert.Equal(Path.Combine(Cache, "vgg-test.onnx"), path);
        Assert.Equal(_content, await File.ReadAllBytesAsync(path));
        Assert.Equal(["vgg-test.onnx"], Directory.GetFiles(Cache).Select(Path.GetFileName));
        Assert.Equal(_content.Length, reported[^1]);
        Assert.True(reported.SequenceEqual(reported.Order()), "progress went backwards");
        Assert.True(WeightsDownload.Holds(path, _file));
    }

    [Fact]
    public async Task A_file_with_another_hash_is_refused_and_the_file_there_before_is_kept()
    {
        Directory.CreateDirectory(Cache);
        string kept = Path.Combine(Cache, "vgg-test.onnx");
        await File.WriteAllTextAsync(kept, "the user's own file");
        byte[] damaged = (byte[])_content.Clone();
        damaged[1_234_567] ^= 1;

        var e = await Assert.ThrowsAsync<IOException>(() => Fetch(Serve(damaged)));

        Assert.Contains($"has SHA-256 {Convert.ToHexStringLower(SHA256.HashData(damaged))}, not vgg-test.onnx's {_file.Sha256}", e.Message, StringComparison.Ordinal);
        Assert.Equal("the user's own file", await File.ReadAllTextAsync(kept));
        Assert.Equal(["vgg-test.onnx"], Directory.GetFiles(Cache).Select(Path.GetFileName)); // no partial file
        Assert.False(WeightsDownload.Holds(kept, _file));
    }

    [Fact]
    public async Task A_body_that_goes_past_the_size_is_refused_and_dropped()
    {
        var e = await Assert.ThrowsAsync<IOException>(() => Fetch(Serve([.. _content, .. new byte[1 << 21]], declareLength: false)));

        Assert.Equal($"The download of {Address} went past vgg-test.onnx's 2,500,001 bytes; nothing was saved in {Cache}. Check that the URL serves vgg-test.onnx.", e.Message);
        Assert.Empty(Directory.GetFiles(Cache));
    }

    /// <summary>
    /// A download broken off keeps what arrived; the next attempt asks for the rest only and the file comes out
    /// whole. A server that ignores the range and sends everything starts it over, with the same result.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_broken_download_continues_where_it_stopped(bool serverHonoursRanges)
    {
        const int Arrived = 1_000_000;
        var first = await Assert.ThrowsAsync<IOException>(() => Fetch(new Server(_ => new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = new StreamContent(new BreakingStream(_content[..Arrived])),
        })));
        string partial = WeightsDownload.PartialPath(Cache, _file);
        Assert.EndsWith($"the 1,000,000 of 2,500,001 bytes received are kept in {partial}, and the next attempt continues from there. Check the connection, or download vgg-test.onnx yourself into {Cache} (models/README.md).", first.Message, StringComparison.Ordinal);
        Assert.Equal(_content[..Arrived], await File.ReadAllBytesAsync(partial));

        long? askedFrom = null;
        var reported = new List<long>();
        string path = await Fetch(new Server(request =>
        {
            askedFrom = request.Headers.Range?.Ranges.Single().From;
            if (!serverHonoursRanges || askedFrom is not long from)
            {
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(_content) };
            }

            var rest = new ByteArrayContent(_content[(int)from..]);
            rest.Headers.ContentRange = new System.Net.Http.Headers.ContentRangeHeaderValue(from, _content.Length - 1, _content.Length);
            return new HttpResponseMessage(HttpStatusCode.PartialContent) { Content = rest };
        }), new SynchronousProgress<long>(reported.Add));

        Assert.Equal(Arrived, askedFrom);
        Assert.Equal(serverHonoursRanges ? Arrived : 0, reported[0]); // where the second attempt started
        Assert.Equal(_content, await File.ReadAllBytesAsync(path));
        Assert.Equal(["vgg-test.onnx"], Directory.GetFiles(Cache).Select(Path.GetFileName)); // the partial file is gone
    }

    [Fact]
    public async Task A_server_that_stops_sending_is_given_up_at_the_stall_limit_and_what_arrived_is_kept()
    {
        using var http = new HttpClient(new Server(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new StallingStream(_content[..600_000])) }));

        var e = await Assert.ThrowsAsync<IOException>(() => WeightsDownload.FetchAsync(_file, Address, Cache, http, null, TimeSpan.FromMilliseconds(300), CancellationToken.None));

        Assert.Contains("(the server sent nothing for 0.3 s); the 600,000 of 2,500,001 bytes received are kept", e.Message, StringComparison.Ordinal);
        Assert.Equal(_content[..600_000], await File.ReadAllBytesAsync(WeightsDownload.PartialPath(Cache, _file)));
    }

    [Fact]
    public async Task A_range_the_server_cannot_serve_discards_what_was_kept()
    {
        Directory.CreateDirectory(Cache);
        string partial = WeightsDownload.PartialPath(Cache, _file);
        await File.WriteAllBytesAsync(partial, _content[..1000]);

        var e = await Assert.ThrowsAsync<IOException>(() => Fetch(new Server(_ => new HttpResponseMessage(HttpStatusCode.RequestedRangeNotSatisfiable) { ReasonPhrase = "Range Not Satisfiable" })));

        Assert.Equal($"Cannot download {Address}: the server answered 416 Range Not Satisfiable; nothing was saved in {Cache}.", e.Message);
        Assert.False(File.Exists(partial)); // else every later attempt would ask for the same range and fail the same way
    }

    [Fact]
    public async Task A_short_body_without_a_declared_length_keeps_what_arrived()
    {
        var e = await Assert.ThrowsAsync<IOException>(() => Fetch(Serve(_content[..^2], declareLength: false)));
        Assert.Contains("ended after 2,499,999 of 2,500,001 bytes; the 2,499,999 of 2,500,001 bytes received are kept", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Cache, "*.onnx"));
    }

    [Fact]
    public async Task A_declared_length_that_differs_is_refused_before_anything_is_written()
    {
        var e = await Assert.ThrowsAsync<IOException>(() => Fetch(Serve(_content[..1000])));
        Assert.Contains("it is 1,000 bytes, and vgg-test.onnx is 2,500,001", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Cache));
    }

    [Fact]
    public async Task A_server_error_and_an_unreachable_server_name_the_address_and_save_nothing()
    {
        var missing = await Assert.ThrowsAsync<IOException>(() => Fetch(new Server(_ => new HttpResponseMessage(HttpStatusCode.NotFound) { ReasonPhrase = "Not Found" })));
        Assert.Equal($"Cannot download {Address}: the server answered 404 Not Found; nothing was saved in {Cache}.", missing.Message);

        var down = await Assert.ThrowsAsync<IOException>(() => Fetch(new Server(_ => throw new HttpRequestException("Connection refused"))));
        Assert.StartsWith($"Cannot download {Address} (Connection refused); nothing was saved", down.Message, StringComparison.Ordinal);

        using var silent = new HttpClient(new SilentServer()) { Timeout = TimeSpan.FromMilliseconds(200) };
        var late = await Assert.ThrowsAsync<IOException>(() => WeightsDownload.FetchAsync(_file, Address, Cache, silent, null, CancellationToken.None));
        Assert.Equal($"Cannot download {Address}: no answer within 0.2 s; nothing was saved in {Cache}. Try again later, or another --url.", late.Message);
        Assert.False(Directory.Exists(Cache));
    }

    [Fact]
    public void The_known_files_are_the_model_zoos_vgg19s_under_names_auto_looks_for()
    {
        Assert.Equal(["vgg19-caffe2", "vgg19"], PretrainedFile.Known.Select(f => f.Name));
        Assert.All(PretrainedFile.Known, f =>
        {
            Assert.Contains(f.FileName, WeightSource.PretrainedFileNames);
            Assert.EndsWith("/" + f.FileName, f.Url.AbsolutePath, StringComparison.Ordinal);
            Assert.Matches("^[0-9a-f]{64}$", f.Sha256);
        });
        var e = Assert.Throws<UserInputException>(() => PretrainedFile.Find("vgg16"));
        Assert.Equal("--source must be one of vgg19-caffe2, vgg19, not 'vgg16'.", e.Message);
    }

    [Fact]
    public void Model_fetch_saves_and_imports_a_good_download_and_then_has_nothing_to_do()
    {
        // A real VGG19 layout (random weights) under the name --weights auto looks for, served from memory.
        string made = Path.Combine(Folder, "made.onnx");
        VggOnnxFiles.Write(NetworkWeights.Random(NetworkArchitecture.Vgg19, 2), VggLayout.Torchvision, made);
        byte[] model = File.ReadAllBytes(made);
        var file = new PretrainedFile("test-vgg19", PretrainedFile.Gluon.FileName, Address, model.Length, Convert.ToHexStringLower(SHA256.HashData(model)));
        int requests = 0;
        using var http = new HttpClient(new Server(_ =>
        {
            Interlocked.Increment(ref requests);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(model) };
        }));

        using var output = new StringWriter();
        Assert.Equal(0, Cli.Commands.ModelFetch.Fetch(file, Address, Cache, force: false, http, output, interactive: false, CancellationToken.None));
        string saved = Path.Combine(Cache, PretrainedFile.Gluon.FileName);
        Assert.Contains($"Saved {saved} (test-vgg19: size and SHA-256 as expected; its 16 convolutions load, Torchvision preprocessing). --weights auto uses it from now on.", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(model, File.ReadAllBytes(saved));
        Assert.Equal(saved, WeightSource.CachedPretrainedFile(Cache));

        using var again = new StringWriter();
        Assert.Equal(0, Cli.Commands.ModelFetch.Fetch(file, Address, Cache, force: false, http, again, interactive: false, CancellationToken.None));
        Assert.Contains($"{saved} is already test-vgg19, size and SHA-256 as expected; nothing to download.", again.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, requests);
    }

    [Fact]
    public void Model_fetch_stopped_by_ctrl_c_keeps_what_arrived_and_says_so()
    {
        using var ctrlC = new CancellationTokenSource();
        using var http = new HttpClient(new Server(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new StallingStream(_content[..1_600_000], ctrlC.Cancel)) }));
        using var output = new StringWriter();

        int code = Cli.Commands.ModelFetch.Fetch(_file, Address, Cache, force: false, http, output, interactive: false, ctrlC.Token);

        Assert.Equal(130, code);
        string partial = WeightsDownload.PartialPath(Cache, _file);
        Assert.Contains($"Interrupted; the 2 MB received are kept in {partial}, and 'model fetch' continues from there.", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(_content[..1_600_000], File.ReadAllBytes(partial));
    }

    [Fact]
    public async Task Model_fetch_keeps_a_file_of_the_name_that_is_not_the_model()
    {
        Directory.CreateDirectory(Cache);
        string own = Path.Combine(Cache, PretrainedFile.Caffe2.FileName);
        await File.WriteAllTextAsync(own, "the user's own file");

        var (code, _, stderr) = await CliWithCache("model", "fetch");
        Assert.Equal(2, code);
        Assert.Contains($"'{own}' exists but is not vgg19-caffe2 (its size or SHA-256 differ); move it away, or add --force to replace it.", stderr, StringComparison.Ordinal);

        // With --force it would be replaced, but only by a good download: one that fails keeps it.
        (code, _, stderr) = await CliWithCache("model", "fetch", "--force", "--url", "http://127.0.0.1:9/vgg19-caffe2-9.onnx");
        Assert.Equal(1, code);
        Assert.StartsWith("Cannot download http://127.0.0.1:9/vgg19-caffe2-9.onnx (", stderr, StringComparison.Ordinal);
        Assert.Equal("the user's own file", await File.ReadAllTextAsync(own));
        Assert.Equal([own], Directory.GetFiles(Cache));
    }

    [Fact]
    public async Task Doctor_names_the_weights_that_auto_uses()
    {
        var (_, stdout, _) = await CliWithCache("doctor");
        Assert.Contains($"VGG19 weights     none in {Cache}: --weights auto uses random features; 'model fetch' downloads", stdout, StringComparison.Ordinal);

        Directory.CreateDirectory(Cache);
        string fetched = Path.Combine(Cache, PretrainedFile.Gluon.FileName);
        await File.WriteAllTextAsync(fetched, "not checked here");
        (_, stdout, _) = await CliWithCache("doctor");
        Assert.Contains($"VGG19 weights     {fetched} (--weights auto uses it)", stdout, StringComparison.Ordinal);
    }

    private Task<(int ExitCode, string Stdout, string Stderr)> CliWithCache(params string[] args)
    {
        var info = CliProcess.StartInfo(args);
        info.Environment["NEURALSTYLE_MODELS"] = Cache; // the cache is read from the environment, so its own process
        return CliProcess.RunAsync(info);
    }

    private async Task<string> Fetch(HttpMessageHandler server, IProgress<long>? progress = null)
    {
        using var http = new HttpClient(server);
        return await WeightsDownload.FetchAsync(_file, Address, Cache, http, progress, CancellationToken.None);
    }

    private static Server Serve(byte[] body, bool declareLength = true) =>
        new(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = declareLength ? new ByteArrayContent(body) : new UnsizedContent(body) });

    /// <summary>Answers every request with what <paramref name="answer"/> gives (or throws).</summary>
    private sealed class Server(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => Task.FromResult(answer(request));
    }

    /// <summary>A server that never answers.</summary>
    private sealed class SilentServer : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }

    /// <summary>A response body as a server sends it: read once, front to back.</summary>
    private abstract class ResponseBody : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A body whose connection breaks once <paramref name="body"/> has been read, with no length declared.</summary>
    private sealed class BreakingStream(byte[] body) : ResponseBody
    {
        private int _position;

        public override int Read(byte[] buffer, int offset, int count)
        {
            int read = Math.Min(count, body.Length - _position);
            if (read == 0)
            {
                throw new IOException("The connection was reset.");
            }

            body.AsSpan(_position, read).CopyTo(buffer.AsSpan(offset));
            _position += read;
            return read;
        }
    }

    /// <summary>A body that sends <paramref name="body"/> and then nothing more, the connection held open; <paramref name="stalled"/> is called when it stops sending.</summary>
    private sealed class StallingStream(byte[] body, Action? stalled = null) : ResponseBody
    {
        private int _position;

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int read = Math.Min(buffer.Length, body.Length - _position);
            if (read == 0)
            {
                stalled?.Invoke();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            body.AsMemory(_position, read).CopyTo(buffer);
            _position += read;
            return read;
        }
    }

    /// <summary>A body sent without a Content-Length, as a chunked response is.</summary>
    private sealed class UnsizedContent(byte[] body) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(body).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
