using System.Buffers.Binary;
using System.Text;

namespace NeuralStyle.Tests.Support;

/// <summary>The section table of a little-endian ELF64 file (a CUBIN, a Linux shared library), with each section's name.</summary>
internal sealed class ElfSections
{
    private ElfSections(byte[] file, ElfSection[] sections)
    {
        File = file;
        All = sections;
    }

    public byte[] File { get; }

    public IReadOnlyList<ElfSection> All { get; }

    /// <summary>e_machine: 62 for x86-64, 190 for CUDA.</summary>
    public int Machine => BinaryPrimitives.ReadUInt16LittleEndian(File.AsSpan(18));

    /// <summary>e_flags (a CUBIN's carry its SM architecture).</summary>
    public uint Flags => BinaryPrimitives.ReadUInt32LittleEndian(File.AsSpan(48));

    public static ElfSections Read(byte[] file)
    {
        ReadOnlySpan<byte> data = file;
        if (data.Length < 64 || !data[..4].SequenceEqual("\u007fELF"u8) || data[4] != 2 || data[5] != 1)
        {
            throw new InvalidDataException("not a little-endian ELF64 file");
        }

        long table = (long)BinaryPrimitives.ReadUInt64LittleEndian(data[40..]);
        int entrySize = BinaryPrimitives.ReadUInt16LittleEndian(data[58..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(data[60..]);
        int namesIndex = BinaryPrimitives.ReadUInt16LittleEndian(data[62..]);
        var headers = Enumerable.Range(0, count).Select(i => file.AsSpan(checked((int)(table + (long)i * entrySize)), entrySize).ToArray()).ToArray();
        long namesOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(headers[namesIndex].AsSpan(24));
        ElfSection[] sections = headers.Select(h => new ElfSection(
            CString(file, namesOffset + BinaryPrimitives.ReadUInt32LittleEndian(h)),
            BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(4)),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(16)),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(24)),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(32)),
            (int)BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(40)))).ToArray();
        return new ElfSections(file, sections);
    }

    public ElfSection Named(string name) =>
        All.FirstOrDefault(s => s.Name == name) ?? throw new InvalidDataException($"the file has no {name} section");

    /// <summary>The file offset that holds virtual address <paramref name="address"/>, or -1 where no section maps it.</summary>
    public long OffsetOfAddress(long address)
    {
        ElfSection? section = All.FirstOrDefault(s => s.Address != 0 && address >= s.Address && address < s.Address + s.Size);
        return section is null ? -1 : section.Offset + (address - section.Address);
    }

    public string CString(long offset) => CString(File, offset);

    /// <summary>The libraries a shared object links (its DT_NEEDED entries), in order.</summary>
    public IReadOnlyList<string> NeededLibraries()
    {
        const long Needed = 1; // DT_NEEDED
        ElfSection dynamic = Named(".dynamic");
        var needed = new List<string>();
        for (long entry = dynamic.Offset; entry + 16 <= dynamic.Offset + dynamic.Size; entry += 16)
        {
            if (BinaryPrimitives.ReadInt64LittleEndian(File.AsSpan((int)entry)) == Needed)
            {
                needed.Add(CString(All[dynamic.Link].Offset + (long)BinaryPrimitives.ReadUInt64LittleEndian(File.AsSpan((int)entry + 8))));
            }
        }

        return needed;
    }

    private static string CString(byte[] data, long offset)
    {
        int end = Array.IndexOf(data, (byte)0, checked((int)offset));
        return Encoding.ASCII.GetString(data, (int)offset, end - (int)offset);
    }
}

/// <param name="Type">sh_type: 2 is a symbol table.</param>
/// <param name="Address">sh_addr: where the section is mapped in memory; 0 for sections that are not.</param>
/// <param name="Link">sh_link: for a symbol table, the index of its string table.</param>
internal sealed record ElfSection(string Name, uint Type, long Address, long Offset, long Size, int Link);
