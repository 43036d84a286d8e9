namespace NeuralStyle.Cuda;

/// <summary>A CUDA library (driver, NVRTC, cuBLAS) or one of its functions is missing; the message says what to install.</summary>
public sealed class CudaLibraryException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CudaLibraryException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a cause.</summary>
    public CudaLibraryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an empty exception.</summary>
    public CudaLibraryException()
    {
    }
}

/// <summary>
/// A CUDA driver call failed. Carries the status, its name and description in the driver's own words
/// (cuGetErrorName / cuGetErrorString) and the failing call as written in our source.
/// </summary>
public sealed class CudaException : Exception
{
    /// <summary>Creates the exception from a failed call.</summary>
    public CudaException(CUresult status, string name, string description, string call)
        : base($"{call} failed: {name} ({(int)status}): {description}")
    {
        Status = status;
        Name = name;
        Call = call;
    }

    /// <summary>Creates an empty exception.</summary>
    public CudaException()
    {
        Name = Call = string.Empty;
    }

    /// <summary>Creates an exception with a message.</summary>
    public CudaException(string message)
        : base(message)
    {
        Name = Call = string.Empty;
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public CudaException(string message, Exception innerException)
        : base(message, innerException)
    {
        Name = Call = string.Empty;
    }

    /// <summary>The driver status.</summary>
    public CUresult Status { get; }

    /// <summary>The status's name as cuda.h spells it, e.g. CUDA_ERROR_OUT_OF_MEMORY.</summary>
    public string Name { get; }

    /// <summary>The call that failed, as written in the source.</summary>
    public string Call { get; }
}

/// <summary>An NVRTC call failed; compilation failures carry the program log.</summary>
public sealed class NvrtcException : Exception
{
    /// <summary>Creates the exception from a failed call.</summary>
    public NvrtcException(int status, string description, string call, string log = "")
        : base($"{call} failed: {description} ({status}){(log.Length > 0 ? "\n" + log : "")}")
    {
        Status = status;
        Log = log;
    }

    /// <summary>Creates an empty exception.</summary>
    public NvrtcException()
    {
        Log = string.Empty;
    }

    /// <summary>Creates an exception with a message.</summary>
    public NvrtcException(string message)
        : base(message)
    {
        Log = string.Empty;
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public NvrtcException(string message, Exception innerException)
        : base(message, innerException)
    {
        Log = string.Empty;
    }

    /// <summary>nvrtcResult.</summary>
    public int Status { get; }

    /// <summary>The compiler's log (empty unless compilation failed).</summary>
    public string Log { get; }
}

/// <summary>A cuBLAS call failed.</summary>
public sealed class CublasException : Exception
{
    /// <summary>Creates the exception from a failed call.</summary>
    public CublasException(int status, string name, string call)
        : base($"{call} failed: {name} ({status})")
    {
        Status = status;
    }

    /// <summary>Creates an empty exception.</summary>
    public CublasException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public CublasException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public CublasException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>cublasStatus_t.</summary>
    public int Status { get; }
}
