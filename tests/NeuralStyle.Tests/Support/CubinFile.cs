using System.Buffers.Binary;

namespace NeuralStyle.Tests.Support;

/// <summary>
/// What the tests read from a CUBIN (an ELF64 file for the CUDA machine): the machine, the flags that carry the SM
/// architecture, the function symbols (the names cuModuleGetFunction looks up), each kernel's static shared
/// memory (the size of its <c>.nv.shared.NAME</c> section; kernels without any are absent) and its parameter sizes
/// in bytes by ordinal (the KPARAM_INFO attributes of its <c>.nv.info.NAME</c> section: how many bytes
/// cuLaunchKernel reads from each argument pointer).
/// </summary>
internal sealed record CubinFile(int Machine, uint Flags, IReadOnlySet<string> Functions, IReadOnlyDictionary<string, long> SharedBytes,
    IReadOnlyDictionary<string, int[]> ParameterSizes)
{
    /// <summary>e_machine of CUDA ELF files.</summary>
    public const int CudaMachine = 190;

    private const int SymbolTable = 2;     // SHT_SYMTAB
    private const int FunctionSymbol = 2;  // STT_FUNC
    private const int NoValue = 1;         // EIFMT_NVAL: the attribute alone (entries stay 4-byte aligned)
    private const int HalfValue = 3;       // EIFMT_HVAL: a 2-byte value
    private const int SizedValue = 4;      // EIFMT_SVAL: a 2-byte length, then that many bytes
    private const int ParameterInfo = 0x17; // EIATTR_KPARAM_INFO: index u32, ordinal u16, offset u16, size in bits 18..31 of a u32

    /// <summary>Whether the flags name sm_<paramref name="sm"/> (the byte that holds it moved in CUDA 12.8's ELF ABI).</summary>
    public bool TargetsSm(int sm) => (Flags & 0xff) == sm || ((Flags >> 8) & 0xff) == sm;

    public static CubinFile Read(byte[] elf)
    {
        ElfSections file = ElfSections.Read(elf);
        var functions = new HashSet<string>(StringComparer.Ordinal);
        var shared = new Dictionary<string, long>(StringComparer.Ordinal);
        var parameters = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (ElfSection section in file.All)
        {
            if (section.Name.StartsWith(".nv.shared.", StringComparison.Ordinal))
            {
                shared[section.Name[".nv.shared.".Length..]] = section.Size;
            }

            if (section.Name.StartsWith(".nv.info.", StringComparison.Ordinal))
            {
                parameters[section.Name[".nv.info.".Length..]] = ReadParameterSizes(elf.AsSpan((int)section.Offset, (int)section.Size));
            }

            if (section.Type != SymbolTable)
            {
                continue;
            }

            for (long entry = section.Offset; entry + 24 <= section.Offset + section.Size; entry += 24)
            {
                if ((elf[entry + 4] & 0xf) == FunctionSymbol)
                {
                    functions.Add(file.CString(file.All[section.Link].Offset + BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan((int)entry))));
                }
            }
        }

        return new CubinFile(file.Machine, file.Flags, functions, shared, parameters);
    }

    private static int[] ReadParameterSizes(ReadOnlySpan<byte> attributes)
    {
        var sizes = new SortedDictionary<int, int>();
        for (int at = 0; at < attributes.Length;)
        {
            int format = attributes[at], attribute = attributes[at + 1];
            switch (format)
            {
                case NoValue:
                case HalfValue:
                    at += 4;
                    break;
                case SizedValue:
                    int length = BinaryPrimitives.ReadUInt16LittleEndian(attributes[(at + 2)..]);
                    if (attribute == ParameterInfo)
                    {
                        ReadOnlySpan<byte> info = attributes.Slice(at + 4, length);
                        sizes[BinaryPrimitives.ReadUInt16LittleEndian(info[4..])] = (int)(BinaryPrimitives.ReadUInt32LittleEndian(info[8..]) >> 18) & 0x3fff;
                    }

                    at += 4 + length;
                    break;
                default:
                    throw new InvalidDataException($"nv.info attribute 0x{attribute:x2} has format {format}, which this reader does not know");
            }
        }

        return [.. sizes.Values];
    }
}
