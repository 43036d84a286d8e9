"""Lets TorchSharp's libLibTorchSharp.so load where the system's libstdc++ is older than GCC 13's (Debian 12: GCC 12).

The library asks GCC 13's libstdc++ for one symbol, std::ios_base_library_init() (version GLIBCXX_3.4.32), which
makes sure the standard streams are set up; GCC 12's libstdc++ sets them up in every object that includes
<iostream>, so the call has nothing left to do. This script, run on a copy of the library in a build folder:
  1. builds libiosinit.so beside it, which defines that symbol as an empty function;
  2. with patchelf, drops the symbol's version and makes the library need libiosinit.so (found through its $ORIGIN
     RUNPATH);
  3. marks the library's need for GLIBCXX_3.4.32 weak (VER_FLG_WEAK in .gnu.version_r), so the loader no longer
     refuses an older libstdc++ for it.
It does nothing when the system's libstdc++ has GLIBCXX_3.4.32, or the library does not need it or is mended already.
    python3 tools/peers/torchsharp/old-libstdcxx.py PATH/TO/libLibTorchSharp.so
"""
import os
import struct
import subprocess
import sys

VERSION = b"GLIBCXX_3.4.32"
SYMBOL = "_ZSt21ios_base_library_initv"
SHT_GNU_VERNEED = 0x6FFFFFFE
VER_FLG_WEAK = 0x2


def system_has_version():
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    path = next(line.split("=>")[-1].strip() for line in out.splitlines() if "libstdc++.so.6 " in line and "x86-64" in line)
    with open(path, "rb") as f:
        return VERSION in f.read()


def version_need(data):
    """The file offset of the library's Vernaux entry for VERSION, and its flags; None if it has none."""
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "expected a little-endian 64-bit ELF file"
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    for _, kind, _, _, offset, _, link, count, _, _ in sections:
        if kind != SHT_GNU_VERNEED:
            continue
        strings = sections[link][4]
        need = offset
        for _ in range(count):
            _, aux_count, _, aux_offset, next_need = struct.unpack_from("<HHIII", data, need)
            aux = need + aux_offset
            for _ in range(aux_count):
                _, flags, _, name, next_aux = struct.unpack_from("<IHHII", data, aux)
                if bytes(data[strings + name:data.index(0, strings + name)]) == VERSION:
                    return aux, flags
                aux += next_aux
            need += next_need
    return None


def main(library):
    with open(library, "rb") as f:
        data = bytearray(f.read())
    need = version_need(data)
    if need is None or need[1] & VER_FLG_WEAK or system_has_version():
        return  # nothing to mend, or mended already (a rebuild copies the library afresh, and this runs again)
    folder = os.path.dirname(os.path.abspath(library))
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "iosinit.cpp")
    subprocess.run(["g++", "-shared", "-fPIC", "-O2", "-o", os.path.join(folder, "libiosinit.so"), source], check=True)
    subprocess.run(["patchelf", "--clear-symbol-version", SYMBOL, "--add-needed", "libiosinit.so", library], check=True)
    with open(library, "rb") as f:
        data = bytearray(f.read())  # patchelf rewrote the file
    aux, flags = version_need(data)
    struct.pack_into("<H", data, aux + 4, flags | VER_FLG_WEAK)
    with open(library, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
