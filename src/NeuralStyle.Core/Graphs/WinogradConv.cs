namespace NeuralStyle.Graphs;

/// <summary>
/// A 3×3, pad-1, stride-1 convolution written as Winograd F(2×2, 3×3) in plain ONNX operators (Lavin and Gray,
/// "Fast Algorithms for Convolutional Neural Networks", 2016): per 2×2 output tile Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A,
/// where d is the 4×4 input tile at stride 2 of the padded input. The 16 element-wise products over channels become
/// 16 matrix products [K, C]·[C, tiles], 2.25× fewer multiplications than the direct convolution; the transforms
/// are additions done as small matrix products and reshapes, cheap against the products when C and K are large.
/// </summary>
/// <remarks>
/// Graph, for x [N, C, H, W] with Th = ⌈H/2⌉, Tw = ⌈W/2⌉ tiles:
/// pad to [N, C, 2Th+2, 2Tw+2] → SpaceToDepth(2) → the four 2×2 neighbourhoods of blocks as slices, concatenated
/// → [N, 16, C·Th·Tw] → Bᵀ⊗Bᵀ → [N, 16, C, T] → U [16, K, C] · that → [N, 16, K, T] → Aᵀ⊗Aᵀ → [N, 2, 2, K, Th, Tw]
/// → transpose to [N, K, Th, 2, Tw, 2] → reshape [N, K, 2Th, 2Tw] → slice to H × W. The kernel transform U = G g Gᵀ is
/// computed here once, in double.
/// </remarks>
internal static class WinogradConv
{
    private static readonly double[,] BT = { { 1, 0, -1, 0 }, { 0, 1, 1, 0 }, { 0, -1, 1, 0 }, { 0, 1, 0, -1 } };
    private static readonly double[,] G = { { 1, 0, 0 }, { 0.5, 0.5, 0.5 }, { 0.5, -0.5, 0.5 }, { 0, 0, 1 } };
    private static readonly double[,] AT = { { 1, 1, 1, 0 }, { 0, 1, -1, -1 } };

    /// <summary>Writes y = conv(x, kernel) without bias; <paramref name="kernel"/> is [K, C, 3, 3]. Returns y's name.</summary>
    public static string Write(OnnxGraphWriter w, string x, float[] kernel, int outChannels, int inChannels, string name, string? outputName = null)
    {
        int k = outChannels, c = inChannels;
        string[] shared = SharedInitializers(w);
        string inputShape = w.Node("Shape", [x]);
        string hw = w.Node("Slice", [inputShape, shared[0], shared[1]]);          // [H, W]
        string odd = w.Node("Mod", [hw, shared[2]]);                               // [H mod 2, W mod 2]
        string pads = w.Node("Concat", [shared[3], w.Node("Add", [odd, shared[4]])], null, OnnxGraphWriter.Int("axis", 0));
        string padded = w.Node("Pad", [x, pads]);
        string blocks = w.Node("SpaceToDepth", [padded], null, OnnxGraphWriter.Int("blocksize", 2)); // [N, 4C, Th+1, Tw+1]

        // The tile at block (ty, tx) is blocks (ty..ty+1, tx..tx+1): four shifted views, one per neighbour.
        var neighbours = new List<string>();
        foreach (var (dy, dx) in new[] { (0, 0), (0, 1), (1, 0), (1, 1) })
        {
            string starts = dy == 0 && dx == 0 ? shared[5] : w.Int64Initializer(w.Fresh($"{name}_starts"), dy, dx);
            string ends = w.Int64Initializer(w.Fresh($"{name}_ends"), dy == 0 ? -1 : long.MaxValue, dx == 0 ? -1 : long.MaxValue);
            neighbours.Add(w.Node("Slice", [blocks, starts, ends, shared[6]]));
        }

        string tiles = w.Node("Concat", neighbours, null, OnnxGraphWriter.Int("axis", 1)); // [N, 16C, Th, Tw]
        string tileGrid = w.Node("Shape", [neighbours[0]]);
        string tileHw = w.Node("Slice", [tileGrid, shared[0], shared[1]]);             // [Th, Tw]
        string flat = w.Node("Reshape", [tiles, shared[7]]);                            // [N, 16, C·T]
        string v = w.Node("MatMul", [w.Initializer(w.Fresh($"{name}_bt"), [16, 16], InputTransform()), flat]);
        string vByChannel = w.Node("Reshape", [v, w.Int64Initializer(w.Fresh($"{name}_v_shape"), 0, 16, c, -1)]); // [N, 16, C, T]
        string m = w.Node("MatMul", [w.Initializer($"{name}_winograd_u", [16, k, c], KernelTransform(kernel, k, c)), vByChannel]); // [N, 16, K, T]
        string y4 = w.Node("MatMul", [w.Initializer(w.Fresh($"{name}_at"), [4, 16], OutputTransform()), w.Node("Reshape", [m, shared[7]])]); // [N, 4, K·T]
        string n = w.Node("Slice", [inputShape, shared[8], shared[9]]);                 // [N]
        string splitShape = w.Node("Concat", [n, w.Int64Initializer(w.Fresh($"{name}_2_2_k"), 2, 2, k), tileHw], null, OnnxGraphWriter.Int("axis", 0));
        string split = w.Node("Reshape", [y4, splitShape]);                             // [N, 2, 2, K, Th, Tw]
        string interleaved = w.Node("Transpose", [split], null, OnnxGraphWriter.Ints("perm", 0, 3, 4, 1, 5, 2)); // [N, K, Th, 2, Tw, 2]
        string doubled = w.Node("Mul", [tileHw, shared[2]]);                         // [2Th, 2Tw]
        string outShape = w.Node("Concat", [n, w.Int64Initializer(w.Fresh($"{name}_k"), k), doubled], null, OnnxGraphWriter.Int("axis", 0));
        string whole = w.Node("Reshape", [interleaved, outShape]);                      // [N, K, 2Th, 2Tw]
        return w.Node("Slice", [whole, shared[5], hw, shared[6]], outputName ?? w.Fresh(name)); // odd sizes computed one row or column too many
    }

    private static string[] SharedInitializers(OnnxGraphWriter w)
    {
        const string Stem = "winograd_";
        if (!w.HasInitializer(Stem + "two"))
        {
            w.Int64Initializer(Stem + "from2", 2);
            w.Int64Initializer(Stem + "to4", 4);
            w.Int64Initializer(Stem + "two", 2);
            w.Int64Initializer(Stem + "pads_head", 0, 0, 1, 1, 0, 0);
            w.Int64Initializer(Stem + "one", 1);
            w.Int64Initializer(Stem + "zero_zero", 0, 0);
            w.Int64Initializer(Stem + "axes_hw", 2, 3);
            w.Int64Initializer(Stem + "n_16_rest", 0, 16, -1);
            w.Int64Initializer(Stem + "from0", 0);
            w.Int64Initializer(Stem + "to1", 1);
        }

        return [Stem + "from2", Stem + "to4", Stem + "two", Stem + "pads_head", Stem + "one", Stem + "zero_zero", Stem + "axes_hw", Stem + "n_16_rest", Stem + "from0", Stem + "to1"];
    }

    /// <summary>
    /// [16, 16]: row q = 4·i + j of Bᵀ d B from the tile laid out as the concatenation gives it: entry
    /// p = 4·(2·oy + ox) + 2·by + bx holds d[2·oy + by, 2·ox + bx] (neighbour block, then position in the block).
    /// </summary>
    internal static float[] InputTransform()
    {
        var t = new float[16 * 16];
        for (int p = 0; p < 16; p++)
        {
            int neighbour = p / 4, inBlock = p % 4;
            int u = (2 * (neighbour / 2)) + (inBlock / 2), v = (2 * (neighbour % 2)) + (inBlock % 2);
            for (int i = 0; i < 4; i++)
            {
                for (int j = 0; j < 4; j++)
                {
                    t[(((4 * i) + j) * 16) + p] = (float)(BT[i, u] * BT[j, v]);
                }
            }
        }

        return t;
    }

    /// <summary>[16, K, C]: U[4·i + j, k, c] = (G g_kc Gᵀ)[i, j].</summary>
    internal static float[] KernelTransform(float[] kernel, int outChannels, int inChannels)
    {
        var u = new float[16 * outChannels * inChannels];
        for (int k = 0; k < outChannels; k++)
        {
            for (int c = 0; c < inChannels; c++)
            {
                int g = ((k * inChannels) + c) * 9;
                for (int i = 0; i < 4; i++)
                {
                    for (int j = 0; j < 4; j++)
                    {
                        double sum = 0;
                        for (int a = 0; a < 3; a++)
                        {
                            for (int b = 0; b < 3; b++)
                            {
                                sum += G[i, a] * kernel[g + (a * 3) + b] * G[j, b];
                            }
                        }

                        u[(((((4 * i) + j) * outChannels) + k) * inChannels) + c] = (float)sum;
                    }
                }
            }
        }

        return u;
    }

    /// <summary>[4, 16]: row 2·a + b of Aᵀ M A from M's entry q = 4·i + j.</summary>
    internal static float[] OutputTransform()
    {
        var t = new float[4 * 16];
        for (int a = 0; a < 2; a++)
        {
            for (int b = 0; b < 2; b++)
            {
                for (int i = 0; i < 4; i++)
                {
                    for (int j = 0; j < 4; j++)
                    {
                        t[(((2 * a) + b) * 16) + (4 * i) + j] = (float)(AT[a, i] * AT[b, j]);
                    }
                }
            }
        }

        return t;
    }
}
