using System.Globalization;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NeuralStyle.Cuda.Interop;
using NeuralStyle.Engine;
using NeuralStyle.Graphs;
using NeuralStyle.Model;
using NeuralStyle.Runtime;

namespace NeuralStyle.Cuda;

/// <summary>
/// The CUDA backend: the forward and backward graphs on ONNX Runtime's CUDA provider, issued on our stream
/// (<see cref="CudaGraphs"/>), bound once to our device buffers; Gram, loss gradients, reductions, TV and Adam in our
/// kernels on the same stream. Per iteration only the loss values (a few doubles per item) come back to the host.
/// Each style layer's Gram and gradient products run on our kernels or on cuBLAS, whichever measured faster for
/// the layer's shape when the loop was built (<see cref="StyleProducts"/>).
/// </summary>
/// <remarks>
/// Checked by the Category=Cuda tests where a device exists (tools/gpu-check.sh; the README's "CUDA status" says what
/// has changed since it last ran on a GPU). Without one, its loop runs on the emulated driver with the graphs on the
/// CPU provider (<see cref="CudaSetup"/>).
/// </remarks>
public sealed class CudaBackend : IStyleBackend
{
    private readonly CudaDevice _device;
    private readonly CudaKernels _kernels;
    private readonly NetworkWeights _weights;
    private readonly LossSettings _loss;
    private readonly AdamSettings _adam;
    private readonly PreprocessPreset _preprocess;
    private readonly CudaGraphs _graphs;
    private readonly InferenceSession _forward;
    private readonly Func<CublasApi> _loadCublas;
    private readonly StyleProductSource _products;
    private readonly CublasApi? _cublas;
    private readonly IntPtr _cublasHandle;
    private Loop? _loop;

    /// <summary>
    /// Opens device 0, compiles the kernels and creates the forward session, which fails early if cuDNN or the CUDA
    /// provider is missing. The backward session is built in <see cref="Start"/>, for the run's batch and image size.
    /// Without cuBLAS the style products stay on our kernels.
    /// </summary>
    public CudaBackend(NetworkWeights weights, PreprocessPreset preprocess, LossSettings loss, AdamSettings adam, bool allowTf32 = false,
        StyleProductSource products = StyleProductSource.Measured)
        : this(weights, preprocess, loss, adam, allowTf32, products, CudaSetup.Gpu)
    {
    }

    /// <summary>The backend on <paramref name="setup"/>'s device, cuBLAS and provider (tests pass the emulated driver).</summary>
    internal CudaBackend(NetworkWeights weights, PreprocessPreset preprocess, LossSettings loss, AdamSettings adam, bool allowTf32,
        StyleProductSource products, CudaSetup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(loss);
        _loss = loss;
        _adam = adam;
        _weights = weights.TruncatedAt(loss.DeepestTap(weights.Architecture));
        _preprocess = preprocess;
        _products = products;
        _loadCublas = setup.LoadCublas;
        _device = setup.OpenDevice();
        _graphs = new CudaGraphs(_device, allowTf32, setup.GraphsOnHost);
        try
        {
            _kernels = new CudaKernels(_device, setup.KernelCache);
            (_cublas, _cublasHandle) = OpenCublas(allowTf32);
            _forward = _graphs.Create(ForwardGraphBuilder.Build(_weights, preprocess, loss.Pooling).ToByteArray());
            _graphs.Probe(_forward, _weights.Architecture);
        }
        catch
        {
            DestroyCublas();
            _forward?.Dispose();
            _kernels?.Dispose();
            _graphs.Dispose();
            _device.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public string Description => $"CUDA ({CudaRuntime.Current.DeviceName}, ONNX Runtime {OrtRuntime.Environment.GetVersionString()})"
        + $"; cuDNN algorithms {_graphs.CudnnAlgorithmSearch}"
        + (_loop is null ? "" : $"; style products: {_loop.DescribeProducts()}")
        + (_cublas is null && _products == StyleProductSource.Measured ? "; cuBLAS not found, style products on our kernels" : "");

    /// <inheritdoc/>
    public PhaseTimes LastPhases => _loop?.LastPhases ?? default;

    /// <inheritdoc/>
    public long? DeviceMemoryInUse
    {
        get
        {
            var (free, total) = _device.MemoryInfo();
            return (long)(total - free);
        }
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, FeatureMap> Features(float[] image, int height, int width, IEnumerable<string> layers, CancellationToken cancel = default)
    {
        cancel.ThrowIfCancellationRequested(); // one graph run, a fraction of a second on a GPU: checked before it only
        try
        {
            return ForwardFeatures.Read(_forward, _weights.Architecture, image, height, width, layers);
        }
        catch (OnnxRuntimeException e) when (CudaGraphs.RanOutOfDeviceMemory(e))
        {
            // The targets' pass over a large style image (--style-scale) can need more than the run itself.
            var (free, total) = _device.MemoryInfo();
            throw new UserInputException(string.Create(CultureInfo.InvariantCulture,
                $"The GPU has too little memory to compute the targets of a {width}×{height} image: {free / 1e9:F1} GB of its {total / 1e9:F1} GB are free. Lower {SettingNames.Current.StyleScaleOrSize}."), e);
        }
    }

    /// <inheritdoc/>
    public float[] Gram(FeatureMap features)
    {
        ArgumentNullException.ThrowIfNull(features);
        using DeviceBuffer f = _device.AllocateFloats(features.Data.Length), g = _device.AllocateFloats((long)features.Channels * features.Channels);
        using DeviceBuffer? workspace = CudaKernels.AllocateWorkspace(_device, CudaKernels.GramWorkspaceNeeded(features.Channels, features.Positions, 1));
        _device.Upload<float>(features.Data, f);
        _kernels.Gram(f, g, features.Channels, features.Positions, 1, (float)LossSettings.GramScale(features.Channels, features.Positions), workspace);
        var gram = new float[features.Channels * features.Channels];
        _device.Download<float>(g, gram);
        return gram;
    }

    /// <inheritdoc/>
    public void Start(StyleTargets targets, OptimizerState initial, int height, int width, IReadOnlyList<double> learningRates, float[]? bestImages = null)
    {
        StartChecks.Require(_weights.Architecture, _loss, targets, initial, height, width, learningRates, bestImages);
        _loop?.Dispose(); // first: the new loop may need its memory
        _loop = null;
        Loop? loop = null;
        try
        {
            loop = new Loop(this, targets, height, width, learningRates);
            loop.Load(initial, bestImages);
        }
        catch (Exception e)
        {
            loop?.Dispose(); // a loop whose constructor failed has freed what it had allocated
            // Our buffers or ONNX Runtime's backward session: the free memory read now is what this run could have used.
            if (CudaGraphs.RanOutOfDeviceMemory(e))
            {
                throw DeviceMemoryTooSmall(learningRates.Count, width, height, e);
            }

            throw;
        }

        _loop = loop;
    }

    /// <inheritdoc/>
    public IterationLosses[] Iterate(IReadOnlyList<bool>? frozen = null) => (_loop ?? throw new InvalidOperationException("Call Start before Iterate.")).Step(frozen);

    /// <inheritdoc/>
    public void RevertLastUpdate(int item) => (_loop ?? throw new InvalidOperationException("Call Start first.")).Revert(item);

    /// <inheritdoc/>
    public void KeepAsBest(int item) => (_loop ?? throw new InvalidOperationException("Call Start first.")).KeepAsBest(item);

    /// <inheritdoc/>
    public float[] ReadBestImages() => (_loop ?? throw new InvalidOperationException("Call Start first.")).BestImages();

    /// <inheritdoc/>
    public OptimizerState ReadState() => (_loop ?? throw new InvalidOperationException("Call Start first.")).Save();

    /// <inheritdoc/>
    public void Dispose()
    {
        _loop?.Dispose();
        _forward.Dispose();
        _graphs.Dispose();
        DestroyCublas();
        _kernels.Dispose();
        _device.Dispose();
    }

    /// <summary>The error for a batch the GPU has no room for: the sizes, and what is free on the device now.</summary>
    private UserInputException DeviceMemoryTooSmall(int items, int width, int height, Exception cause)
    {
        var (free, total) = _device.MemoryInfo();
        return new UserInputException(string.Create(CultureInfo.InvariantCulture,
            $"The GPU has too little memory for {items} image(s) of {width}×{height}: {free / 1e9:F1} GB of its {total / 1e9:F1} GB are free. Use a smaller {SettingNames.Current.Size} or {SettingNames.Current.SmallerBatch}."), cause);
    }

    private (CublasApi? Api, IntPtr Handle) OpenCublas(bool allowTf32)
    {
        if (_products == StyleProductSource.Ours)
        {
            return (null, IntPtr.Zero);
        }

        try
        {
            CublasApi api = _loadCublas();
            return (api, api.Create(_device.Stream, allowTf32));
        }
        catch (CudaLibraryException) when (_products == StyleProductSource.Measured)
        {
            return (null, IntPtr.Zero); // optional: our kernels do the products
        }
    }

    private void DestroyCublas()
    {
        if (_cublas is not null && _cublasHandle != IntPtr.Zero)
        {
            _ = _cublas.Destroy(_cublasHandle);
        }
    }

    /// <summary>Every device buffer and binding of the loop, allocated and bound once.</summary>
    private sealed class Loop : IDisposable
    {
        private readonly CudaBackend _owner;
        private readonly int _batch, _height, _width, _length;
        private readonly DeviceBuffer _image, _gradient, _m, _v, _previousImage, _previousM, _previousV, _bestImage;
        private readonly AdamBuffers _adamState;
        private readonly OwnedResources _owned = new(); // everything the loop creates
        private readonly Dictionary<string, (DeviceBuffer Buffer, int Channels, int Positions)> _activations = [];
        private readonly Dictionary<string, DeviceBuffer> _seeds = [];
        private readonly List<(LayerWeight Layer, StyleProducts Products, DeviceBuffer Gram, DeviceBuffer Target)> _style = [];
        private readonly List<(string Layer, DeviceBuffer Target)> _content = [];
        private readonly DeviceBuffer _partials;
        private readonly DeviceBuffer? _gramWorkspace; // the style layers' Gram slices, one layer at a time on the stream; null where none needs slices
        // Every term's per-item loss, written there by its reduction for one download: the style terms, the content
        // terms, then TV, each a double per item (term t's item n at t·batch + n).
        private readonly DeviceBuffer _lossValues;
        private readonly double[] _lossHost;
        private readonly byte[] _active; // per item: whether the last Step updates it (Adam's mask, set on the device each step)
        private readonly InferenceSession _backward;
        private readonly OrtIoBinding _forwardBinding, _backwardBinding;
        private readonly int[] _steps, _previousSteps; // host copies: updates applied, and before the last update

        // Recorded on the stream at the phase boundaries: start, forward, loss, backward, TV, host sync, Adam.
        private readonly StreamEvent[] _marks;
        private bool _phasesRecorded; // whether the marks hold the last Step's phases, not yet read into _lastPhases
        private PhaseTimes _lastPhases;

        public Loop(CudaBackend owner, StyleTargets targets, int height, int width, IReadOnlyList<double> learningRates)
        {
            _owner = owner;
            _batch = learningRates.Count;
            _height = height;
            _width = width;
            _length = 3 * height * width;
            _steps = new int[_batch];
            _previousSteps = new int[_batch];
            try
            {
                // Built for this batch and size: with every size a constant the graph needs no Shape node, whose
                // output would draw the pools' size arithmetic onto the CPU, which these sessions forbid.
                _backward = Own(owner._graphs.Create(BackwardGraphBuilder.Build(owner._weights, owner._preprocess, owner._loss.Pooling, owner._loss.Taps,
                    new BatchShape(_batch, height, width)).ToByteArray()));
                CudaDevice device = owner._device;
                _marks = Enumerable.Range(0, 7).Select(_ => Own(device.CreateEvent())).ToArray();
                _image = Own(device.AllocateFloats((long)_batch * _length));
                _gradient = Own(device.AllocateFloats((long)_batch * _length));
                _m = Own(device.AllocateFloats((long)_batch * _length));
                _v = Own(device.AllocateFloats((long)_batch * _length));
                _previousImage = Own(device.AllocateFloats((long)_batch * _length));
                _previousM = Own(device.AllocateFloats((long)_batch * _length));
                _previousV = Own(device.AllocateFloats((long)_batch * _length));
                _bestImage = Own(device.AllocateFloats((long)_batch * _length));
                _adamState = Own(new AdamBuffers(device, learningRates));
                _forwardBinding = Own(owner._forward.CreateIoBinding());
                _backwardBinding = Own(_backward.CreateIoBinding());
                _forwardBinding.BindInput(GraphNames.Image, Bind(_image, TensorElementType.Float, _batch, 3, height, width));
                _backwardBinding.BindOutput(GraphNames.ImageGradient, Bind(_gradient, TensorElementType.Float, _batch, 3, height, width));

                long largest = 0;
                ConvLayer? previous = null;
                foreach (ConvLayer layer in owner._weights.Architecture.Layers)
                {
                    var (h, w) = NetworkArchitecture.SpatialSize(layer.Block, height, width);
                    if (owner._loss.Pooling == PoolingMode.Max && previous is not null && previous.Block != layer.Block)
                    {
                        DeviceBuffer indices = Own(device.Allocate((ulong)_batch * (ulong)previous.OutChannels * (ulong)h * (ulong)w * sizeof(long)));
                        OrtValue value = Bind(indices, TensorElementType.Int64, _batch, previous.OutChannels, h, w);
                        _forwardBinding.BindOutput(GraphNames.PoolIndices(previous.Block), value);
                        _backwardBinding.BindInput(GraphNames.PoolIndices(previous.Block), value);
                    }

                    DeviceBuffer activation = Own(device.AllocateFloats((long)_batch * layer.OutChannels * h * w));
                    OrtValue bound = Bind(activation, TensorElementType.Float, _batch, layer.OutChannels, h, w);
                    _forwardBinding.BindOutput(layer.ReluName, bound);
                    _backwardBinding.BindInput(layer.ReluName, bound);
                    _activations[layer.ReluName] = (activation, layer.OutChannels, h * w);
                    largest = Math.Max(largest, (long)layer.OutChannels * h * w);
                    if (owner._loss.Taps.Contains(layer.ReluName))
                    {
                        DeviceBuffer seed = Own(device.AllocateFloats((long)_batch * layer.OutChannels * h * w));
                        _backwardBinding.BindInput(GraphNames.Seed(layer.ReluName), Bind(seed, TensorElementType.Float, _batch, layer.OutChannels, h, w));
                        _seeds[layer.ReluName] = seed;
                    }

                    previous = layer;
                }

                long workspace = owner._loss.StyleLayers.Select(s => _activations[s.ReluName])
                    .Select(a => CudaKernels.GramWorkspaceNeeded(a.Channels, a.Positions, _batch)).DefaultIfEmpty().Max();
                _gramWorkspace = workspace > 0 ? Own(device.AllocateFloats(workspace)) : null;
                foreach (LayerWeight style in owner._loss.StyleLayers)
                {
                    var (f, c, m) = _activations[style.ReluName];
                    largest = Math.Max(largest, (long)c * c); // the Gram's loss is reduced through the partials too: at a small image it is the largest
                    DeviceBuffer gram = Own(device.AllocateFloats((long)_batch * c * c)), target = Upload(targets.Grams[style.ReluName]);
                    var products = new StyleProducts(owner._kernels, owner._cublas, owner._cublasHandle, f, gram, target, _seeds[style.ReluName], _gramWorkspace, c, m, _batch);
                    products.Choose(owner._products, TimeOnStream);
                    _style.Add((style, products, gram, target));
                }

                foreach (string name in owner._loss.ContentLayers)
                {
                    _content.Add((name, Upload(targets.ContentFeatures[name])));
                }

                largest = Math.Max(largest, _length);
                _partials = Own(device.AllocateFloats(_batch * (long)Math.Max(LaunchConfig.Partials(largest, _batch).GridX, LaunchConfig.For1D(largest, _batch).GridX)));
                _lossHost = new double[(_style.Count + _content.Count + 1) * _batch];
                _lossValues = Own(device.AllocateDoubles(_lossHost.Length));
                _active = new byte[_batch];
            }
            catch
            {
                // A failed start (too little device memory, a refused session) must not leave device memory behind:
                // the caller may retry with a smaller batch or size.
                Dispose();
                throw;
            }
        }

        /// <summary>
        /// Stream time per phase of the last Step, read from its events when first asked for. A Step does not wait for
        /// its own Adam: the next Step's forward queues behind it on the stream while the host logs, and only a
        /// caller of this property (the benchmark) waits for the last event.
        /// </summary>
        public PhaseTimes LastPhases
        {
            get
            {
                if (_phasesRecorded)
                {
                    float Between(int a, int b) => _marks[b].MillisecondsSince(_marks[a]);
                    _lastPhases = new PhaseTimes(Between(0, 1), Between(1, 2), Between(2, 3), Between(3, 4), Between(5, 6), Between(4, 5));
                    _phasesRecorded = false;
                }

                return _lastPhases;
            }
        }

        /// <summary>Where each style layer's products run, e.g. "relu1_1 Gram cuBLAS, gradient ours; …".</summary>
        public string DescribeProducts() => string.Join("; ", _style.Select(s => $"{s.Layer.ReluName} {s.Products.Describe()}"));

        public void Load(OptimizerState state, float[]? bestImages)
        {
            CudaDevice device = _owner._device;
            device.Upload<float>(state.Images, _image);
            device.Upload<float>(state.FirstMoment, _m);
            device.Upload<float>(state.SecondMoment, _v);
            state.Steps.CopyTo(_steps, 0);
            _adamState.UploadSteps(_steps);

            // Until an item's first update, reverting it keeps the state it starts from: a resumed item whose first
            // loss is not finite keeps the image it resumed with.
            ulong bytes = (ulong)_batch * (ulong)_length * sizeof(float);
            device.Copy(_image, 0, _previousImage, 0, bytes);
            device.Copy(_m, 0, _previousM, 0, bytes);
            device.Copy(_v, 0, _previousV, 0, bytes);
            state.Steps.CopyTo(_previousSteps, 0);
            Array.Clear(_active); // no item has been updated by this loop yet
            device.Upload<float>(bestImages ?? state.Images, _bestImage);
        }

        public OptimizerState Save()
        {
            CudaDevice device = _owner._device;
            var images = new float[_batch * _length];
            var m = new float[images.Length];
            var v = new float[images.Length];
            device.Download<float>(_image, images);
            device.Download<float>(_m, m);
            device.Download<float>(_v, v);
            return new OptimizerState((int[])_steps.Clone(), images, m, v);
        }

        /// <summary>
        /// An item the last Step updated has its evaluated image in the previous-image buffer (copied before Adam, on
        /// the same stream), else in the image buffer: a device-side copy either way, queued behind that Adam.
        /// </summary>
        public void KeepAsBest(int n)
        {
            ulong bytes = (ulong)_length * sizeof(float), offset = (ulong)n * bytes;
            _owner._device.Copy(_active[n] == 1 ? _previousImage : _image, offset, _bestImage, offset, bytes);
        }

        public float[] BestImages()
        {
            var images = new float[_batch * _length];
            _owner._device.Download<float>(_bestImage, images);
            return images;
        }

        public void Revert(int n)
        {
            CudaDevice device = _owner._device;
            ulong bytes = (ulong)_length * sizeof(float), offset = (ulong)n * bytes;
            device.Copy(_previousImage, offset, _image, offset, bytes);
            device.Copy(_previousM, offset, _m, offset, bytes);
            device.Copy(_previousV, offset, _v, offset, bytes);
            _steps[n] = _previousSteps[n];
            _adamState.SetSteps(n, _steps[n]); // queued like the copies: a revert does not wait for the device
        }

        public IterationLosses[] Step(IReadOnlyList<bool>? frozen)
        {
            CudaBackend o = _owner;
            LossSettings loss = o._loss;
            _phasesRecorded = false; // the marks are recorded again below
            _marks[0].Record();
            RunGraph(o._forward, _forwardBinding);
            _marks[1].Record();
            int term = 0; // where each term's losses go in _lossValues, in units of a batch
            foreach (var (layer, products, gram, target) in _style)
            {
                var (_, c, m) = _activations[layer.ReluName];
                products.Gram((float)LossSettings.GramScale(c, m));
                o._kernels.SumSquaredDifference(gram, target, _partials, _lossValues, c * c, _batch, loss.StyleLossScale(layer, c), term++ * _batch);
                products.Gradient((float)loss.StyleGradientScale(layer, c, m)); // the seed's first writer: content adds to it below
            }

            foreach (var (name, target) in _content)
            {
                var (f, c, m) = _activations[name];
                int count = c * m;
                bool accumulate = loss.StyleLayers.Any(s => s.ReluName == name);
                o._kernels.ContentGradient(f, target, _seeds[name], count, _batch, (float)loss.ContentGradientScale(count), accumulate);
                o._kernels.SumSquaredDifference(f, target, _partials, _lossValues, count, _batch, loss.ContentLossScale(count), term++ * _batch);
            }

            _marks[2].Record();
            RunGraph(_backward, _backwardBinding);
            _marks[3].Record();
            o._kernels.TotalVariation(_image, _gradient, _partials, _lossValues, 3, _height, _width, _batch, loss.TvWeight, term * _batch);
            _marks[4].Record();

            // The host round trip of the iteration: the loss values, needed for logging and for the finiteness
            // check, in one download, the iteration's one wait; then which items Adam updates goes down as fills,
            // queued without a wait (the values travel in the calls).
            var losses = ReadLosses();
            byte[] active = _active;
            for (int n = 0; n < _batch; n++)
            {
                active[n] = (byte)(losses[n].IsFinite && (frozen is null || !frozen[n]) ? 1 : 0);
            }

            SetAdamMask(active);
            _marks[5].Record();

            KeepForRevert(active);
            o._kernels.Adam(_adamState, _image, _m, _v, _gradient, _length, _batch, o._adam.Beta1, o._adam.Beta2, (float)o._adam.Epsilon);
            _marks[6].Record();
            _phasesRecorded = true; // between marks 4 and 5 the stream idled while the host read the losses
            return losses;
        }

        public void Dispose()
        {
            // A Step returns before its Adam is done: the device finishes with these buffers before they are freed.
            _owner._device.SynchronizeForRelease();
            _owned.Dispose();
        }

        /// <summary>Runs a graph on its bound buffers; ONNX Runtime allocates its own working memory on the first runs, where a GPU too small for the batch shows.</summary>
        private void RunGraph(InferenceSession session, OrtIoBinding binding)
        {
            try
            {
                _owner._graphs.Run(session, binding);
            }
            catch (OnnxRuntimeException e) when (CudaGraphs.RanOutOfDeviceMemory(e))
            {
                throw _owner.DeviceMemoryTooSmall(_batch, _width, _height, e);
            }
        }

        /// <summary>
        /// What a revert goes back to: the state of each item about to be updated, one copy per buffer for each run of
        /// such items (three in all while every item runs), queued before its Adam; and its step count.
        /// </summary>
        private void KeepForRevert(byte[] active)
        {
            CudaDevice device = _owner._device;
            ulong bytes = (ulong)_length * sizeof(float);
            foreach (var (start, end, value) in Runs(active))
            {
                if (value == 0)
                {
                    continue;
                }

                ulong offset = (ulong)start * bytes, length = (ulong)(end - start) * bytes;
                device.Copy(_image, offset, _previousImage, offset, length);
                device.Copy(_m, offset, _previousM, offset, length);
                device.Copy(_v, offset, _previousV, offset, length);
                for (int n = start; n < end; n++)
                {
                    _previousSteps[n] = _steps[n];
                    _steps[n]++;
                }
            }
        }

        /// <summary>Adam's per-item mask on the device, one fill per run of equal values (one in all while every item runs).</summary>
        private void SetAdamMask(byte[] active)
        {
            foreach (var (start, end, value) in Runs(active))
            {
                _owner._device.Fill(_adamState.Active, (ulong)start, value, (ulong)(end - start));
            }
        }

        /// <summary>The runs of equal values in <paramref name="values"/>: [start, end) and their value, in order.</summary>
        private static IEnumerable<(int Start, int End, byte Value)> Runs(byte[] values)
        {
            int start = 0;
            while (start < values.Length)
            {
                int end = start + 1;
                while (end < values.Length && values[end] == values[start])
                {
                    end++;
                }

                yield return (start, end, values[start]);
                start = end;
            }
        }

        /// <summary>Every term's per-item loss in one download, summed per item into content, style and TV.</summary>
        private IterationLosses[] ReadLosses()
        {
            _owner._device.Download<double>(_lossValues, _lossHost);
            int contentEnd = _style.Count + _content.Count; // the terms before it are style, then content; TV is last
            var losses = new IterationLosses[_batch];
            for (int n = 0; n < _batch; n++)
            {
                double style = 0, content = 0;
                for (int t = 0; t < _style.Count; t++)
                {
                    style += _lossHost[(t * _batch) + n];
                }

                for (int t = _style.Count; t < contentEnd; t++)
                {
                    content += _lossHost[(t * _batch) + n];
                }

                losses[n] = new IterationLosses(content, style, _lossHost[(contentEnd * _batch) + n]);
            }

            return losses;
        }

        /// <summary>Device milliseconds of <paramref name="launch"/> on our stream, between two of the phase events.</summary>
        private double TimeOnStream(Action launch)
        {
            _phasesRecorded = false; // the marks no longer hold a Step's phases
            _marks[0].Record();
            launch();
            _marks[1].Record();
            return _marks[1].MillisecondsSince(_marks[0]);
        }

        private T Own<T>(T resource) where T : IDisposable => _owned.Own(resource);

        private DeviceBuffer Upload(float[] values)
        {
            DeviceBuffer buffer = Own(_owner._device.AllocateFloats(values.Length));
            _owner._device.Upload<float>(values, buffer);
            return buffer;
        }

        private OrtValue Bind(DeviceBuffer buffer, TensorElementType type, params long[] shape) => Own(_owner._graphs.Tensor(buffer, type, shape));
    }
}
