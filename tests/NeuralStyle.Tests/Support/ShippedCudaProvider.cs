using System.Buffers.Binary;

namespace NeuralStyle.Tests.Support;

/// <summary>One kernel that ONNX Runtime's CUDA provider registers: an operator of a domain ("" is ONNX's own) for
/// opsets <see cref="Since"/> to <see cref="Until"/> (null: every later one). Typed kernels register once per type, so
/// the same range can appear several times.</summary>
internal sealed record KernelRegistration(string Domain, string Operator, int Since, int? Until)
{
    public bool Covers(int opset) => opset >= Since && (Until is null || opset <= Until);
}

/// <summary>
/// What tests read from the CUDA provider library we ship (<c>libonnxruntime_providers_cuda.so</c>, linux-x64)
/// without loading it (that needs a GPU and cuDNN): the libraries it links, and its kernel registry, read from its
/// machine code, so that a graph can be checked against what the provider really implements.
/// <para>
/// Why machine code: the library is stripped and holds no table of its kernels. A shared provider builds each
/// KernelDef through the host's function table, and compiled for x86-64 every registration reads the same way:
/// <c>lea rdx,[rip+name]</c> … <c>call [rax+0xb08]</c> (SetName), <c>lea rdx,[rip+domain]</c> …
/// <c>call [rax+0xb10]</c> (SetDomain), then <c>mov ecx,until; mov edx,since</c> … <c>call [rax+0xb20]</c>
/// (SinceVersion(since, until)) or <c>mov edx,since</c> … <c>call [rax+0xb18]</c> (SinceVersion(since)). The slot
/// offsets belong to ONNX Runtime 1.31's ProviderHost. Another build can move them; then this reader finds nothing
/// or throws on the first registration it cannot read, and the tests that use it fail instead of passing vacuously.
/// </para>
/// </summary>
internal static class ShippedCudaProvider
{
    public const string LibraryName = "libonnxruntime_providers_cuda.so";

    private static readonly byte[] CallSetName = [0xff, 0x90, 0x08, 0x0b, 0x00, 0x00];
    private static readonly byte[] CallSetDomain = [0xff, 0x90, 0x10, 0x0b, 0x00, 0x00];
    private static readonly byte[] CallSinceRange = [0xff, 0x90, 0x20, 0x0b, 0x00, 0x00];
    private static readonly byte[] CallSinceOpen = [0xff, 0x90, 0x18, 0x0b, 0x00, 0x00];
    private static readonly byte[] LeaRdxRipRelative = [0x48, 0x8d, 0x15];
    private const byte MovEdxImmediate = 0xba, MovEcxImmediate = 0xb9;

    /// <summary>Where the build puts the library next to the tests (from the ONNX Runtime GPU package): under
    /// runtimes/ for a build, beside the assemblies for a linux-x64 publish.</summary>
    public static string LibraryPath
    {
        get
        {
            string published = Path.Combine(AppContext.BaseDirectory, LibraryName);
            return File.Exists(published) ? published : Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", LibraryName);
        }
    }

    // The file is about 280 MB: read once per test run, and not kept.
    private static readonly Lazy<(IReadOnlyList<KernelRegistration> Kernels, IReadOnlyList<string> Linked)> Shipped = new(() =>
    {
        ElfSections elf = ElfSections.Read(File.ReadAllBytes(LibraryPath));
        return (ReadKernels(elf), elf.NeededLibraries());
    });

    /// <summary>The shipped provider's kernel registry.</summary>
    public static IReadOnlyList<KernelRegistration> Kernels => Shipped.Value.Kernels;

    /// <summary>The libraries the shipped provider links (its DT_NEEDED entries).</summary>
    public static IReadOnlyList<string> LinkedLibraries => Shipped.Value.Linked;

    public static IReadOnlyList<KernelRegistration> ReadKernels(ElfSections elf)
    {
        ElfSection text = elf.Named(".text");
        ReadOnlySpan<byte> code = elf.File.AsSpan((int)text.Offset, (int)text.Size);
        var registrations = new List<KernelRegistration>();
        for (int at = code.IndexOf(CallSetName); at >= 0;)
        {
            registrations.Add(ReadRegistration(elf, text, code, at));
            int next = code[(at + 1)..].IndexOf(CallSetName);
            at = next < 0 ? -1 : at + 1 + next;
        }

        return registrations;
    }

    private static KernelRegistration ReadRegistration(ElfSections elf, ElfSection text, ReadOnlySpan<byte> code, int setName)
    {
        string Where() => $"registration at 0x{text.Address + setName:x}";

        int nameLea = code.Slice(setName - 24, 24).LastIndexOf(LeaRdxRipRelative);
        int setDomain = IndexWithin(code, setName + CallSetName.Length, 60, CallSetDomain);
        if (nameLea < 0 || setDomain < 0)
        {
            throw new InvalidDataException($"{Where()}: no name or no SetDomain call; the provider's build differs from the one this reader knows");
        }

        int domainLea = IndexWithin(code, setName + CallSetName.Length, setDomain - setName - CallSetName.Length, LeaRdxRipRelative);
        string name = RipRelativeString(elf, text, code, setName - 24 + nameLea);
        string domain = domainLea < 0 ? throw new InvalidDataException($"{Where()}: no domain") : RipRelativeString(elf, text, code, domainLea);

        // Between SetDomain and SinceVersion: mov rdi,[…]; [mov ecx,until;] mov edx,since; mov rsi,reg; mov rax,[rdi].
        int afterDomain = setDomain + CallSetDomain.Length;
        int range = IndexWithin(code, afterDomain, 40, CallSinceRange), open = IndexWithin(code, afterDomain, 40, CallSinceOpen);
        int call = range >= 0 && (open < 0 || range < open) ? range : open;
        int since = call - 11, until = call - 16;
        if (call < 0 || code[since] != MovEdxImmediate || (call == range && code[until] != MovEcxImmediate))
        {
            throw new InvalidDataException($"{Where()} ({domain}:{name}): its SinceVersion call does not read as this reader expects");
        }

        return new KernelRegistration(domain, name, Immediate(code, since), call == range ? Immediate(code, until) : null);
    }

    private static int IndexWithin(ReadOnlySpan<byte> code, int start, int length, ReadOnlySpan<byte> pattern)
    {
        int found = code.Slice(start, Math.Min(length, code.Length - start)).IndexOf(pattern);
        return found < 0 ? -1 : start + found;
    }

    private static int Immediate(ReadOnlySpan<byte> code, int instruction) => BinaryPrimitives.ReadInt32LittleEndian(code[(instruction + 1)..]);

    /// <summary>The C string a 7-byte <c>lea reg,[rip+disp32]</c> at <paramref name="lea"/> points at.</summary>
    private static string RipRelativeString(ElfSections elf, ElfSection text, ReadOnlySpan<byte> code, int lea)
    {
        long target = text.Address + lea + 7 + BinaryPrimitives.ReadInt32LittleEndian(code[(lea + 3)..]);
        long offset = elf.OffsetOfAddress(target);
        return offset < 0 ? throw new InvalidDataException($"address 0x{target:x} is in no section") : elf.CString(offset);
    }
}
