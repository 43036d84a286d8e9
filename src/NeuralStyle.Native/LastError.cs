using System.Runtime.InteropServices;

namespace NeuralStyle.Native;

/// <summary>
/// The thread-local message behind <c>ns_last_error()</c>, and the one funnel that turns every exception into an
/// ns_status: no exception ever crosses the C boundary.
/// </summary>
internal static unsafe class LastError
{
    private static readonly IntPtr Empty = Marshal.StringToCoTaskMemUTF8(string.Empty);

    [ThreadStatic]
    private static IntPtr _message;

    public static IntPtr Current => _message == IntPtr.Zero ? Empty : _message;

    /// <summary>Runs <paramref name="body"/>; on success clears the message, on failure records it and maps the exception.</summary>
    public static int Guard(Func<NsStatus> body)
    {
        using IDisposable names = SettingNames.Use(SettingNames.C); // the engine's messages name ns_options' fields
        try
        {
            NsStatus status = body();
            Set(status == NsStatus.Ok ? null : _pending);
            _pending = null;
            return (int)status;
        }
#pragma warning disable CA1031 // Exceptions must not escape an UnmanagedCallersOnly export: each becomes a status.
        catch (Exception e)
#pragma warning restore CA1031
        {
            NsStatus status = e switch
            {
                InvalidHandleException => NsStatus.InvalidHandle,
                UserInputException => NsStatus.BadInput,
                ArgumentException => NsStatus.InvalidArgument,
                ObjectDisposedException => NsStatus.InvalidHandle,
                InvalidOperationException => NsStatus.InvalidState,
                OperationCanceledException => NsStatus.Cancelled,
                _ => NsStatus.Internal,
            };

            // An internal error names every exception in the chain: the root cause is usually the inner one.
            Set(status == NsStatus.Internal ? Describe(e) : e.Message);
            return (int)status;
        }
    }

    private static string Describe(Exception e) =>
        e.InnerException is null ? $"{e.GetType().Name}: {e.Message}" : $"{e.GetType().Name}: {e.Message} ← {Describe(e.InnerException)}";

    [ThreadStatic]
    private static string? _pending;

    /// <summary>A message for a non-exception failure status returned by the next <see cref="Guard"/> body.</summary>
    public static NsStatus Fail(NsStatus status, string message)
    {
        _pending = message;
        return status;
    }

    private static void Set(string? message)
    {
        if (_message != IntPtr.Zero)
        {
            Marshal.FreeCoTaskMem(_message);
            _message = IntPtr.Zero;
        }

        if (message is not null)
        {
            _message = Marshal.StringToCoTaskMemUTF8(message);
        }
    }
}
