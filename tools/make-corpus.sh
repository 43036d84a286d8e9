#!/usr/bin/env bash
# Regenerates tests/corpus/images: small good images in every awkward encoding, and bad files of every kind.
# The files are committed; this script documents how each was made. Needs ImageMagick, libjpeg-turbo's cjpeg and
# python3 (installs the first two with apt when missing).
set -euo pipefail
cd "$(dirname "$0")/../tests/corpus/images"
command -v convert >/dev/null || { apt-get update -qq && apt-get install -y -qq imagemagick; }
command -v cjpeg >/dev/null || { apt-get update -qq && apt-get install -y -qq libjpeg-turbo-progs; }

base=/tmp/neuralstyle-corpus-base.png
convert -size 16x12 gradient:red-blue -fill yellow -draw "rectangle 4,3 9,7" "$base"

convert "$base" -colorspace Gray -depth 8 ok-gray.png
convert "$base" -colorspace Gray -depth 16 ok-gray16.png
convert "$base" -depth 16 PNG48:ok-rgb16.png
convert "$base" -colors 8 PNG8:ok-palette.png
convert "$base" -alpha set -channel A -fx "i<8 ? 0 : 1" +channel PNG32:ok-alpha.png
convert "$base" -colorspace CMYK -quality 95 ok-cmyk.jpg
convert "$base" -colorspace Gray -quality 95 ok-gray.jpg
# Stored landscape 16×12, EXIF orientation 6 (rotate 90° clockwise to display): shown as 12×16.
convert "$base" -quality 95 ok-exif-rotated.jpg
convert "$base" ok-bmp.bmp
convert "$base" ok-gif.gif
convert "$base" -compress lzw ok-tiff.tif

: > bad-empty.png
printf 'This is a text file, not an image.\n' > bad-text.png
python3 - <<'PY'
import random, struct, zlib
good = open("ok-palette.png", "rb").read()
open("bad-truncated.png", "wb").write(good[: len(good) // 2])
jpg = open("ok-gray.jpg", "rb").read()
open("bad-truncated.jpg", "wb").write(jpg[: len(jpg) // 2])
rng = random.Random(7)
data = bytearray(good)
for i in range(60, len(data) - 12, 7):      # flip bits all through the chunks after the header
    data[i] ^= 1 << rng.randrange(8)
open("bad-bitflips.png", "wb").write(bytes(data))
open("bad-random.png", "wb").write(bytes(rng.randrange(256) for _ in range(512)))
# A valid PNG header claiming 60000×60000 pixels, with a tiny IDAT: must be refused before decoding.
def chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
open("bad-huge.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
# EXIF orientation 6, inserted as an APP1 segment right after the JPEG's SOI marker.
tiff = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0) + struct.pack(">I", 0)
app1 = b"Exif\x00\x00" + tiff
jpeg = open("ok-exif-rotated.jpg", "rb").read()
open("ok-exif-rotated.jpg", "wb").write(jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:])
PY
# Files cut short, or whose pixel data stops short, which ImageSharp 2 decodes without complaint (half blank) or, an
# interlaced PNG, never finishes decoding: ImageIntegrity refuses them before any decoder runs. Larger than the base
# so that each cut falls inside the pixel data rather than the headers.
plasma=/tmp/neuralstyle-corpus-plasma.png
convert -seed 1 -size 64x48 plasma: "$plasma"
convert "$plasma" -interlace PNG ok-interlaced.png
convert "$plasma" -interlace JPEG -quality 90 ok-progressive.jpg
convert "$plasma" -quality 90 /tmp/neuralstyle-corpus-baseline.jpg
convert "$plasma" /tmp/neuralstyle-corpus-plasma.gif
convert "$plasma" -quality 90 /tmp/neuralstyle-corpus-plasma.webp
convert "$plasma" /tmp/neuralstyle-corpus-plasma.bmp
convert "$plasma" -depth 8 -compress RLE ok-rle.tga
convert "$plasma" -depth 8 ok-binary.ppm
convert "$plasma" -monochrome ok-binary.pbm
python3 - <<'PY'
import struct, zlib
def read(path):
    return open(path, "rb").read()
def chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
def chunks(png):
    at, found = 8, []
    while at < len(png):
        length = struct.unpack(">I", png[at:at + 4])[0]
        found.append((png[at + 4:at + 8], png[at + 8:at + 8 + length]))
        at += 12 + length
    return found
def rechunked(png, size):
    """The same PNG with its pixel data split over IDAT chunks of SIZE bytes, as large images have it."""
    parts = chunks(png)
    data = b"".join(data for kind, data in parts if kind == b"IDAT")
    head = b"".join(chunk(kind, data) for kind, data in parts if kind not in (b"IDAT", b"IEND"))
    return png[:8] + head + b"".join(chunk(b"IDAT", data[i:i + size]) for i in range(0, len(data), size)) + chunk(b"IEND", b"")
def short_pixels(png):
    """The same PNG, every chunk whole, with only the first half of its inflated pixel data."""
    parts = chunks(png)
    raw = zlib.decompress(b"".join(data for kind, data in parts if kind == b"IDAT"))
    head = b"".join(chunk(kind, data) for kind, data in parts if kind not in (b"IDAT", b"IEND"))
    return png[:8] + head + chunk(b"IDAT", zlib.compress(raw[: len(raw) // 2])) + chunk(b"IEND", b"")
interlaced = read("ok-interlaced.png")
cut = rechunked(interlaced, 1024)
open("bad-cut-interlaced.png", "wb").write(cut[: len(cut) * 6 // 10])  # whole chunks first, then a cut one
open("bad-short-pixels-interlaced.png", "wb").write(short_pixels(interlaced))
open("bad-short-pixels.png", "wb").write(short_pixels(read("/tmp/neuralstyle-corpus-plasma.png")))
baseline = read("/tmp/neuralstyle-corpus-baseline.jpg")
open("bad-cut-scan.jpg", "wb").write(baseline[:-40])
progressive = read("ok-progressive.jpg")
open("bad-cut-progressive.jpg", "wb").write(progressive[: progressive.rindex(b"\xff\xda") + 40])  # inside the last scan
# A phone's motion photo: the video follows the JPEG's end-of-image marker.
open("ok-trailing-data.jpg", "wb").write(baseline + b"\0\0\0\x18ftypmp42" + bytes(200))
for kind in ("gif", "webp", "bmp"):
    whole = read(f"/tmp/neuralstyle-corpus-plasma.{kind}")
    open(f"bad-cut.{kind}", "wb").write(whole[: len(whole) * 7 // 10])
for good, cut in (("ok-rle.tga", "bad-cut.tga"), ("ok-binary.ppm", "bad-cut.ppm")):
    whole = read(good)
    open(cut, "wb").write(whole[: len(whole) * 7 // 10])
PY
# A text chunk that inflates to 64 MB, as a decompression bomb has it: ImageSharp would inflate it into a string;
# the loader drops text chunks first (PngChunks), so the image loads as the small PNG it is.
python3 - <<'PY'
import struct, zlib
def chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
png = open("ok-palette.png", "rb").read()
header_end = 8 + 25  # the signature and IHDR
bomb = chunk(b"zTXt", b"Comment\0\0" + zlib.compress(bytes(64 << 20), 9))
open("ok-text-bomb.png", "wb").write(png[:header_end] + bomb + png[header_end:])
PY
# A valid JPEG in a variant ImageSharp cannot decode: arithmetic coding.
convert "$base" ppm:- | cjpeg -arithmetic > bad-arithmetic.jpg
printf '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="12"><rect width="16" height="12" fill="red"/></svg>\n' > bad-unsupported.svg
ls -la
