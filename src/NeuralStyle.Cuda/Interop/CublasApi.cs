using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NeuralStyle.Cuda.Interop;

/// <summary>The cuBLAS functions we use as a baseline for the Gram and style-gradient products (cublas_api.h, v2).</summary>
internal sealed unsafe class CublasApi
{
    public static readonly string[] LibraryNames = OperatingSystem.IsWindows()
        ? ["cublas64_13.dll", "cublas64_12.dll"]
        : ["libcublas.so.13", "libcublas.so.12"];

    private readonly delegate* unmanaged<IntPtr*, int> _create;                              // cublasCreate_v2(cublasHandle_t*)
    private readonly delegate* unmanaged<IntPtr, int> _destroy;                               // cublasDestroy_v2
    private readonly delegate* unmanaged<IntPtr, IntPtr, int> _setStream;                     // cublasSetStream_v2
    private readonly delegate* unmanaged<IntPtr, int, int> _setMathMode;                      // cublasSetMathMode
    private readonly delegate* unmanaged<IntPtr, int*, int> _getVersion;                      // cublasGetVersion_v2
    private readonly delegate* unmanaged<int, byte*> _statusName;                             // cublasGetStatusName (11.4.2+; optional)
    private readonly delegate* unmanaged<IntPtr, int, int, int, int, int, float*, ulong, int, long, ulong, int, long, float*, ulong, int, long, int, int> _sgemmStridedBatched;
    private readonly delegate* unmanaged<IntPtr, int, int, int, int, float*, ulong, int, float*, ulong, int, int> _ssyrk; // cublasSsyrk_v2
    private readonly delegate* unmanaged<IntPtr, int, float*, ulong, int, ulong, int, int> _saxpy;                     // cublasSaxpy_v2

    public CublasApi(NativeLibraryLoader library)
    {
        ArgumentNullException.ThrowIfNull(library);
        Library = library;
        _create = (delegate* unmanaged<IntPtr*, int>)library.Export("cublasCreate_v2");
        _destroy = (delegate* unmanaged<IntPtr, int>)library.Export("cublasDestroy_v2");
        _setStream = (delegate* unmanaged<IntPtr, IntPtr, int>)library.Export("cublasSetStream_v2");
        _setMathMode = (delegate* unmanaged<IntPtr, int, int>)library.Export("cublasSetMathMode");
        _getVersion = (delegate* unmanaged<IntPtr, int*, int>)library.Export("cublasGetVersion_v2");
        _statusName = (delegate* unmanaged<int, byte*>)library.OptionalExport("cublasGetStatusName");
        _sgemmStridedBatched = (delegate* unmanaged<IntPtr, int, int, int, int, int, float*, ulong, int, long, ulong, int, long, float*, ulong, int, long, int, int>)
            library.Export("cublasSgemmStridedBatched");
        _ssyrk = (delegate* unmanaged<IntPtr, int, int, int, int, float*, ulong, int, float*, ulong, int, int>)library.Export("cublasSsyrk_v2");
        _saxpy = (delegate* unmanaged<IntPtr, int, float*, ulong, int, ulong, int, int>)library.Export("cublasSaxpy_v2");
    }

    /// <summary>Loads cuBLAS from its versioned names.</summary>
    public static CublasApi Load(IReadOnlyList<string>? names = null) =>
        new(NativeLibraryLoader.Load("cuBLAS", names ?? LibraryNames, "Install cuBLAS (package libcublas-13-0); it is optional: without it the style products run on our kernels and the benchmark has no cuBLAS column."));

    public NativeLibraryLoader Library { get; }

    public void Check(int status, [CallerArgumentExpression(nameof(status))] string call = "")
    {
        if (status != 0)
        {
            string name = _statusName != null ? Marshal.PtrToStringUTF8((IntPtr)_statusName(status)) ?? "" : $"cublasStatus_t {status}";
            throw new CublasException(status, name, call);
        }
    }

    public IntPtr Create(IntPtr stream, bool allowTf32)
    {
        IntPtr handle;
        Check(_create(&handle));
        Check(_setStream(handle, stream));
        Check(_setMathMode(handle, allowTf32 ? 3 : 2)); // CUBLAS_TF32_TENSOR_OP_MATH or CUBLAS_PEDANTIC_MATH
        return handle;
    }

    public int Destroy(IntPtr handle) => _destroy(handle);

    public int Version(IntPtr handle)
    {
        int v;
        Check(_getVersion(handle, &v));
        return v;
    }

    /// <summary>
    /// Row-major C[n] = alpha · op(A[n]) · op(B[n]) + beta · C[n] for a batch, through column-major cuBLAS by computing
    /// Cᵀ = op(B)ᵀ op(A)ᵀ. For the Gram matrix F·Fᵀ pass A = B = F with transposeB.
    /// </summary>
    public void GemmBatchedRowMajor(IntPtr handle, bool transposeA, bool transposeB, int m, int n, int k, float alpha,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float beta, ulong c, int ldc, long strideC, int batch)
    {
        Check(_sgemmStridedBatched(handle, transposeB ? 1 : 0, transposeA ? 1 : 0, n, m, k, &alpha, b, ldb, strideB, a, lda, strideA, &beta, c, ldc, strideC, batch));
    }

    /// <summary>
    /// One triangle of G = alpha·F·Fᵀ for a row-major F [channels, positions]: column-major that F is X = Fᵀ
    /// [positions, channels] with lda = positions, and G = Xᵀ·X is SYRK with trans = T.
    /// </summary>
    public void SyrkRowMajorGram(IntPtr handle, int channels, int positions, float alpha, ulong features, ulong gram)
    {
        float beta = 0;
        Check(_ssyrk(handle, 0 /* CUBLAS_FILL_MODE_LOWER */, 1 /* CUBLAS_OP_T */, channels, positions, &alpha, features, positions, &beta, gram, channels));
    }

    /// <summary>y = alpha·x + y over <paramref name="count"/> contiguous floats (byte addresses, unit strides).</summary>
    public void Axpy(IntPtr handle, int count, float alpha, ulong x, ulong y) => Check(_saxpy(handle, count, &alpha, x, 1, y, 1));
}
