using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using NeuralStyle.Engine;
using NeuralStyle.Graphs;
using NeuralStyle.Model;
using NeuralStyle.Runtime;

namespace NeuralStyle.Cpu;

/// <summary>
/// The CPU backend: the network in stages (<see cref="CpuStages"/>) — ONNX Runtime graphs over runs of layers and
/// Winograd layers around ONNX Runtime's MatMul — bound once to pinned host buffers, with the pools between blocks in
/// <see cref="CpuPooling"/>; style products on ONNX Runtime's MatMul; the rest in <see cref="CpuKernels"/>.
/// </summary>
public sealed class CpuBackend : IStyleBackend
{
    private readonly NetworkWeights _weights;
    private readonly LossSettings _loss;
    private readonly AdamSettings _adam;
    private readonly CpuStages _stages;
    private readonly long _bandFloats;
    private readonly InferenceSession _gram;
    private readonly InferenceSession _apply;
    private readonly RunOptions _runOptions = new();
    private readonly bool _profiled;
    private LoopBuffers? _loop;

    /// <summary>Builds the graphs for <paramref name="weights"/> (truncated at the deepest tap of <paramref name="loss"/>) and opens their sessions.</summary>
    public CpuBackend(NetworkWeights weights, PreprocessPreset preprocess, LossSettings loss, AdamSettings adam)
        : this(weights, preprocess, loss, adam, CpuStages.DefaultWinogradMinChannels)
    {
    }

    /// <summary>
    /// As the public constructor, with layers of at least <paramref name="winogradMinChannels"/> channels done as
    /// Winograd, in bands of at most <paramref name="bandFloats"/> transformed values (tests lower both).
    /// </summary>
    internal CpuBackend(NetworkWeights weights, PreprocessPreset preprocess, LossSettings loss, AdamSettings adam, int winogradMinChannels,
        long bandFloats = WinogradBands.DefaultScratchFloats)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(loss);
        _bandFloats = bandFloats;
        _profiled = OrtRuntime.ProfileDirectory is not null; // its sessions then have pools of their own
        _loss = loss;
        _adam = adam;
        _weights = weights.TruncatedAt(loss.DeepestTap(weights.Architecture));
        _stages = new CpuStages(_weights, preprocess, loss.Pooling, winogradMinChannels);
        _gram = OrtRuntime.CreateCpuSession(ProductGraphBuilder.Gram(), "gram");
        _apply = OrtRuntime.CreateCpuSession(ProductGraphBuilder.Apply(), "apply");
    }

    /// <inheritdoc/>
    public string Description => $"CPU (ONNX Runtime {OrtRuntime.Environment.GetVersionString()}, {Environment.ProcessorCount} threads"
        + (!OrtRuntime.SharesPool ? ", a pool per session: the process made ONNX Runtime's environment before the engine)"
            : _profiled ? ", a pool per session while profiled)" : ")")
        + (Notice is null ? "" : $" (CUDA not used: {Notice.Split(". ")[0].TrimEnd('.')})")
        + (Tf32Asked ? " in fp32 (TF32 is for CUDA's convolutions)" : "");

    /// <summary>Why CUDA was not chosen when the device was auto and CUDA is built in; null otherwise.</summary>
    public string? Notice { get; init; }

    /// <summary>Whether TF32 was asked for, which the CPU does not do: the description says it computes in fp32.</summary>
    public bool Tf32Asked { get; init; }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, FeatureMap> Features(float[] image, int height, int width, IEnumerable<string> layers, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(layers);
        return FeaturePass.Run(_stages, _runOptions, image, height, width, layers, _bandFloats, cancel);
    }

    /// <inheritdoc/>
    public float[] Gram(FeatureMap features)
    {
        ArgumentNullException.ThrowIfNull(features);
        using var input = OrtValue.CreateTensorValueFromMemory(features.Data, [1, features.Channels, features.Positions]);
        using IDisposableReadOnlyCollection<OrtValue> outputs = _gram.Run(_runOptions, [ProductGraphBuilder.Features], [input], [ProductGraphBuilder.Result]);
        float[] gram = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        float scale = (float)LossSettings.GramScale(features.Channels, features.Positions);
        for (int i = 0; i < gram.Length; i++)
        {
            gram[i] *= scale;
        }

        return gram;
    }

    /// <inheritdoc/>
    public void Start(StyleTargets targets, OptimizerState initial, int height, int width, IReadOnlyList<double> learningRates, float[]? bestImages = null)
    {
        StartChecks.Require(_weights.Architecture, _loss, targets, initial, height, width, learningRates, bestImages);
        if (_loop is not null)
        {
            // A batch started again (the engine drops stopped items): the old loop's arrays are garbage now; collect
            // them before the new loop allocates its own, or the peak holds both.
            _loop.Dispose();
            _loop = null;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }

        _loop = new LoopBuffers(this, targets, height, width, learningRates.ToArray());
        _loop.Load(initial, bestImages);
    }

    /// <inheritdoc/>
    public IterationLosses[] Iterate(IReadOnlyList<bool>? frozen = null)
    {
        LoopBuffers loop = _loop ?? throw new InvalidOperationException("Call Start before Iterate.");
        return loop.Step(frozen);
    }

    /// <inheritdoc/>
    public PhaseTimes LastPhases => _loop?.LastPhases ?? default;

    /// <inheritdoc/>
    public void RevertLastUpdate(int item) => (_loop ?? throw new InvalidOperationException("Call Start first.")).Revert(item);

    /// <inheritdoc/>
    public void KeepAsBest(int item) => (_loop ?? throw new InvalidOperationException("Call Start first.")).KeepAsBest(item);

    /// <inheritdoc/>
    public float[] ReadBestImages() => (_loop ?? throw new InvalidOperationException("Call Start first.")).BestImages();

    /// <inheritdoc/>
    public OptimizerState ReadState()
    {
        LoopBuffers loop = _loop ?? throw new InvalidOperationException("Call Start before ReadState.");
        return loop.Save();
    }

    /// <summary>dL/dx of the last iteration ([N, 3, H, W], TV included); for gradient checks.</summary>
    internal ReadOnlySpan<float> LastGradient => (_loop ?? throw new InvalidOperationException("Call Start first.")).Gradient;

    /// <inheritdoc/>
    public void Dispose()
    {
        _loop?.Dispose();
        _stages.Dispose();
        _gram.Dispose();
        _apply.Dispose();
        _runOptions.Dispose();
    }

    /// <summary>Every buffer and binding of the optimization loop, allocated and bound once.</summary>
    private sealed class LoopBuffers : IDisposable
    {
        private readonly CpuBackend _owner;
        private readonly StyleTargets _targets;
        private readonly int _batch, _height, _width;
        private readonly double[] _learningRates;
        private readonly ForwardPass _forwardPass;
        private readonly BackwardPass _backwardPass;
        private readonly PinnedTensor<float> _image, _gradient, _m, _v;
        private readonly IReadOnlyDictionary<string, PinnedTensor<float>> _activations;
        private readonly PinnedTensor<float> _seed; // the seed of the tap the backward pass is at: the taps take it in turn
        private readonly Dictionary<string, StyleTerm> _styleTerms = []; // by ReLU name
        private readonly Dictionary<string, double[]> _contentLosses = []; // by ReLU name: per item, written with the seed
        private long _seedTicks; // the backward pass's time in WriteSeed, which counts as loss kernels
        private readonly OwnedResources _owned = new(); // passes, tensors and bindings
        private readonly int[] _steps;
        private readonly float[] _previousImage, _previousM, _previousV;
        private readonly int[] _previousSteps;
        private readonly bool[] _updated; // per item: whether the last Step updated it (its evaluated image is then the previous one)
        private readonly float[] _bestImage;

        public LoopBuffers(CpuBackend owner, StyleTargets targets, int height, int width, double[] learningRates)
        {
            _owner = owner;
            _targets = targets;
            _batch = learningRates.Length;
            _height = height;
            _width = width;
            _learningRates = learningRates;
            _steps = new int[_batch];
            _previousSteps = new int[_batch];
            _updated = new bool[_batch];
            try
            {
                _forwardPass = _owned.Own(new ForwardPass(owner._stages, _batch, height, width, owner._loss.Taps.ToHashSet(), owner._bandFloats));
                _image = _forwardPass.Image;
                _activations = _forwardPass.Activations;
                _m = _owned.Own(new PinnedTensor<float>(_batch, 3, height, width));
                _v = _owned.Own(new PinnedTensor<float>(_batch, 3, height, width));
                _previousImage = new float[_image.Array.Length];
                _previousM = new float[_image.Array.Length];
                _previousV = new float[_image.Array.Length];
                _bestImage = new float[_image.Array.Length];
                // One seed buffer for all the taps: the backward pass consumes a layer's seed before it reaches the next.
                _seed = _owned.Own(new PinnedTensor<float>(owner._loss.Taps.Max(tap => (long)_activations[tap].Array.Length)));
                _backwardPass = _owned.Own(new BackwardPass(_forwardPass, WriteSeed));
                _gradient = _backwardPass.Gradient;

                foreach (LayerWeight style in owner._loss.StyleLayers)
                {
                    _styleTerms[style.ReluName] = new StyleTerm(this, style, owner._weights.Architecture.FindRelu(style.ReluName)!);
                }

                foreach (string name in owner._loss.ContentLayers)
                {
                    _contentLosses[name] = new double[_batch];
                }
            }
            catch
            {
                _owned.Dispose(); // what was made before the failure
                throw;
            }
        }

        public void Load(OptimizerState state, float[]? bestImages)
        {
            state.Images.CopyTo(_image.Array, 0);
            state.FirstMoment.CopyTo(_m.Array, 0);
            state.SecondMoment.CopyTo(_v.Array, 0);
            state.Steps.CopyTo(_steps, 0);

            // Until an item's first update, reverting it keeps the state it starts from: a resumed item whose first
            // loss is not finite keeps the image it resumed with.
            state.Images.CopyTo(_previousImage, 0);
            state.FirstMoment.CopyTo(_previousM, 0);
            state.SecondMoment.CopyTo(_previousV, 0);
            state.Steps.CopyTo(_previousSteps, 0);
            Array.Clear(_updated);
            (bestImages ?? state.Images).CopyTo(_bestImage, 0);
        }

        public ReadOnlySpan<float> Gradient => _gradient.Array;

        public PhaseTimes LastPhases { get; private set; }

        public void Revert(int n)
        {
            int length = _image.ItemLength;
            _previousImage.AsSpan(n * length, length).CopyTo(_image.Item(n));
            _previousM.AsSpan(n * length, length).CopyTo(_m.Item(n));
            _previousV.AsSpan(n * length, length).CopyTo(_v.Item(n));
            _steps[n] = _previousSteps[n];
        }

        public void KeepAsBest(int n)
        {
            int length = _image.ItemLength;
            ReadOnlySpan<float> evaluated = _updated[n] ? _previousImage.AsSpan(n * length, length) : _image.Item(n);
            evaluated.CopyTo(_bestImage.AsSpan(n * length, length));
        }

        public float[] BestImages() => (float[])_bestImage.Clone();

        public OptimizerState Save() =>
            new((int[])_steps.Clone(), (float[])_image.Array.Clone(), (float[])_m.Array.Clone(), (float[])_v.Array.Clone());

        public IterationLosses[] Step(IReadOnlyList<bool>? frozen)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            _forwardPass.Run(_owner._runOptions);
            long forwardDone = System.Diagnostics.Stopwatch.GetTimestamp();
            var content = new double[_batch];
            var style = new double[_batch];
            var tv = new double[_batch];

            foreach (LayerWeight layer in _owner._loss.StyleLayers) // in the loss's order, which fixes the order of the sums
            {
                _styleTerms[layer.ReluName].Evaluate(style);
            }

            long lossDone = System.Diagnostics.Stopwatch.GetTimestamp();
            _seedTicks = 0;
            _backwardPass.Run(_owner._runOptions); // writes the seeds, and with them the content losses
            long backwardDone = System.Diagnostics.Stopwatch.GetTimestamp();
            LossSettings loss = _owner._loss;
            foreach (string name in loss.ContentLayers)
            {
                for (int n = 0; n < _batch; n++)
                {
                    content[n] += _contentLosses[name][n];
                }
            }

            var tvTicks = new long[_batch];
            var losses = new IterationLosses[_batch];
            Parallel.For(0, _batch, n =>
            {
                long tvStart = System.Diagnostics.Stopwatch.GetTimestamp();
                tv[n] = loss.TvWeight * CpuKernels.TotalVariation(_image.Item(n), 3, _height, _width, (float)loss.TvWeight, _gradient.Item(n));
                tvTicks[n] = System.Diagnostics.Stopwatch.GetTimestamp() - tvStart;

                // An item whose loss is not finite is not updated: the engine then takes it back to the state
                // before its previous update, the last one whose loss was finite.
                bool finite = double.IsFinite(content[n]) && double.IsFinite(style[n]) && double.IsFinite(tv[n]);
                _updated[n] = finite && (frozen is null || !frozen[n]);
                if (_updated[n])
                {
                    // Keep the state before this update: if it diverges, the item goes back to it.
                    _image.Item(n).CopyTo(_previousImage.AsSpan(n * _image.ItemLength, _image.ItemLength));
                    _m.Item(n).CopyTo(_previousM.AsSpan(n * _image.ItemLength, _image.ItemLength));
                    _v.Item(n).CopyTo(_previousV.AsSpan(n * _image.ItemLength, _image.ItemLength));
                    _previousSteps[n] = _steps[n];
                    _steps[n]++;
                    CpuKernels.AdamStep(_image.Item(n), _m.Item(n), _v.Item(n), _gradient.Item(n), _steps[n], _learningRates[n], _owner._adam);
                }
            });
            // TV and Adam run item-parallel: TV's share is its summed time over the items running at once.
            long end = System.Diagnostics.Stopwatch.GetTimestamp();
            double Ms(long ticks) => ticks * 1000.0 / System.Diagnostics.Stopwatch.Frequency;
            double tvMs = Math.Min(Ms(end - backwardDone), Ms(tvTicks.Sum()) / Math.Max(1, Math.Min(_batch, Environment.ProcessorCount)));
            LastPhases = new PhaseTimes(Ms(forwardDone - start), Ms(lossDone - forwardDone + _seedTicks), Ms(backwardDone - lossDone - _seedTicks), tvMs, Ms(end - backwardDone) - tvMs);
            for (int n = 0; n < _batch; n++)
            {
                losses[n] = new IterationLosses(content[n], style[n], tv[n]);
            }

            return losses;
        }

        public void Dispose() => _owned.Dispose();

        /// <summary>
        /// The backward pass's <see cref="BackwardPass.SeedWriter"/>: writes dL/d(the ReLU output of <paramref name="layer"/>)
        /// from the loss terms that tap it, into the one seed buffer. A style term's product writes it (=); a content
        /// term then adds to it, and records its loss.
        /// </summary>
        private ReadOnlySpan<float> WriteSeed(ConvLayer layer)
        {
            bool style = _styleTerms.TryGetValue(layer.ReluName, out StyleTerm? term);
            if (!style && !_contentLosses.ContainsKey(layer.ReluName))
            {
                return [];
            }

            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            PinnedTensor<float> f = _activations[layer.ReluName];
            Span<float> seed = _seed.Array.AsSpan(0, f.Array.Length);
            term?.WriteSeed();
            if (_contentLosses.TryGetValue(layer.ReluName, out double[]? contentLoss))
            {
                LossSettings loss = _owner._loss;
                float[] target = _targets.ContentFeatures[layer.ReluName];
                float gradScale = (float)loss.ContentGradientScale(f.ItemLength);
                double lossScale = loss.ContentLossScale(f.ItemLength);
                for (int n = 0; n < _batch; n++)
                {
                    contentLoss[n] = lossScale * CpuKernels.ContentDifference(f.Item(n), target, gradScale, seed.Slice(n * f.ItemLength, f.ItemLength), accumulate: style);
                }
            }

            _seedTicks += System.Diagnostics.Stopwatch.GetTimestamp() - start;
            return seed;
        }

        private T Own<T>(T resource) where T : IDisposable => _owned.Own(resource);

        /// <summary>One style layer's buffers: the raw product F·Fᵀ and the scaled difference fed back through (G−A)·F.</summary>
        private sealed class StyleTerm
        {
            private readonly LoopBuffers _loop;
            private readonly LayerWeight _style;
            private readonly PinnedTensor<float> _product, _difference;
            private readonly OrtIoBinding _gramBinding, _applyBinding;
            private readonly int _channels, _positions;

            public StyleTerm(LoopBuffers loop, LayerWeight style, ConvLayer layer)
            {
                _loop = loop;
                _style = style;
                PinnedTensor<float> activation = loop._activations[style.ReluName];
                _channels = layer.OutChannels;
                _positions = activation.ItemLength / _channels;
                _product = loop.Own(new PinnedTensor<float>(loop._batch, _channels, _channels));
                _difference = loop.Own(new PinnedTensor<float>(loop._batch, _channels, _channels));
                OrtValue flat = activation.View(loop._batch, _channels, _positions);
                _gramBinding = loop.Own(loop._owner._gram.CreateIoBinding());
                _gramBinding.BindInput(ProductGraphBuilder.Features, flat);
                _gramBinding.BindOutput(ProductGraphBuilder.Result, _product.Value);
                _applyBinding = loop.Own(loop._owner._apply.CreateIoBinding());
                _applyBinding.BindInput(ProductGraphBuilder.Difference, _difference.Value);
                _applyBinding.BindInput(ProductGraphBuilder.Features, flat);
                _applyBinding.BindOutput(ProductGraphBuilder.Result, loop._seed.PrefixView(loop._batch, _channels, _positions));
            }

            /// <summary>Adds sw·w_l·style_l per item to <paramref name="style"/>, keeping the scaled difference for <see cref="WriteSeed"/>.</summary>
            public void Evaluate(double[] style)
            {
                CpuBackend owner = _loop._owner;
                owner._gram.RunWithBinding(owner._runOptions, _gramBinding);
                LossSettings loss = owner._loss;
                float gramScale = (float)LossSettings.GramScale(_channels, _positions);
                float gradScale = (float)loss.StyleGradientScale(_style, _channels, _positions);
                double lossScale = loss.StyleLossScale(_style, _channels);
                float[] target = _loop._targets.Grams[_style.ReluName];
                for (int n = 0; n < _loop._batch; n++)
                {
                    style[n] += lossScale * CpuKernels.GramDifference(_product.Item(n), target, gramScale, gradScale, _difference.Item(n));
                }
            }

            /// <summary>Writes the seed sw·w_l·4/(C²·C·M)·(G−A)·F into the loop's seed buffer, from the last <see cref="Evaluate"/>.</summary>
            public void WriteSeed()
            {
                CpuBackend owner = _loop._owner;
                owner._apply.RunWithBinding(owner._runOptions, _applyBinding);
            }
        }
    }
}
