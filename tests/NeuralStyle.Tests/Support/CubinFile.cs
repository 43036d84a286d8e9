using System.Buffers.Binary;
using System.Text;

namespace NeuralStyle.Tests.Support;

/// <summary>
/// What the tests read from a CUBIN (an ELF64 file for the CUDA machine): the machine, the flags that carry the SM
/// architecture, the function symbols (the names cuModuleGetFunction looks up) and each kernel's static shared
/// memory (the size of its <c>.nv.shared.NAME</c> section).
/// </summary>
internal sealed class CubinFile
{
    /// <summary>e_machine of CUDA ELF files.</summary>
    public const int CudaMachine = 190;

    private const int SymbolTable = 2;     // SHT_SYMTAB
    private const int FunctionSymbol = 2;  // STT_FUNC

    private CubinFile(int machine, uint flags, IReadOnlySet<string> functions, IReadOnlyDictionary<string, long> sharedBytes)
    {
        Machine = machine;
        Flags = flags;
        Functions = functions;
        SharedBytes = sharedBytes;
    }

    public int Machine { get; }

    public uint Flags { get; }

    public IReadOnlySet<string> Functions { get; }

    /// <summary>Static shared memory per kernel; kernels without any are absent.</summary>
    public IReadOnlyDictionary<string, long> SharedBytes { get; }

    /// <summary>Whether the flags name sm_<paramref name="sm"/> (the byte that holds it moved in CUDA 12.8's ELF ABI).</summary>
    public bool TargetsSm(int sm) => (Flags & 0xff) == sm || ((Flags >> 8) & 0xff) == sm;

    public static CubinFile Read(byte[] elf)
    {
        ReadOnlySpan<byte> data = elf;
        if (data.Length < 64 || !data[..4].SequenceEqual("\u007fELF"u8) || data[4] != 2)
        {
            throw new InvalidDataException("not an ELF64 file");
        }

        long sectionTable = (long)BinaryPrimitives.ReadUInt64LittleEndian(data[40..]);
        int sectionSize = BinaryPrimitives.ReadUInt16LittleEndian(data[58..]);
        int sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(data[60..]);
        int namesIndex = BinaryPrimitives.ReadUInt16LittleEndian(data[62..]);
        var sections = Enumerable.Range(0, sectionCount).Select(i => Section.Read(elf.AsSpan((int)(sectionTable + (long)i * sectionSize)))).ToArray();

        var functions = new HashSet<string>(StringComparer.Ordinal);
        var shared = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (Section section in sections)
        {
            string name = CString(elf, sections[namesIndex].Offset + section.NameOffset);
            if (name.StartsWith(".nv.shared.", StringComparison.Ordinal))
            {
                shared[name[".nv.shared.".Length..]] = section.Size;
            }

            if (section.Type != SymbolTable)
            {
                continue;
            }

            for (long entry = section.Offset; entry + 24 <= section.Offset + section.Size; entry += 24)
            {
                if ((elf[entry + 4] & 0xf) == FunctionSymbol)
                {
                    functions.Add(CString(elf, sections[section.Link].Offset + BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan((int)entry))));
                }
            }
        }

        return new CubinFile(BinaryPrimitives.ReadUInt16LittleEndian(data[18..]), BinaryPrimitives.ReadUInt32LittleEndian(data[48..]), functions, shared);
    }

    private static string CString(byte[] data, long offset)
    {
        int end = Array.IndexOf(data, (byte)0, (int)offset);
        return Encoding.ASCII.GetString(data, (int)offset, end - (int)offset);
    }

    private readonly record struct Section(uint NameOffset, uint Type, long Offset, long Size, int Link)
    {
        public static Section Read(ReadOnlySpan<byte> header) => new(
            BinaryPrimitives.ReadUInt32LittleEndian(header),
            BinaryPrimitives.ReadUInt32LittleEndian(header[4..]),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(header[24..]),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(header[32..]),
            (int)BinaryPrimitives.ReadUInt32LittleEndian(header[40..]));
    }
}
