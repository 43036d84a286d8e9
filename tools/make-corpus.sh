#!/usr/bin/env bash
# Regenerates tests/corpus/images: small good images in every awkward encoding, and bad files of every kind.
# The files are committed; this script documents how each was made. Needs ImageMagick and python3
# (installs ImageMagick with apt when missing).
set -euo pipefail
cd "$(dirname "$0")/../tests/corpus/images"
command -v convert >/dev/null || { apt-get update -qq && apt-get install -y -qq imagemagick; }

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
printf '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="12"><rect width="16" height="12" fill="red"/></svg>\n' > bad-unsupported.svg
ls -la
