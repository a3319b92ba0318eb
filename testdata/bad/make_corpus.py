#!/usr/bin/env python3
"""Regenerates the hostile-input corpus in this folder (testdata/bad/).

Every file is derived deterministically from testdata/tos_360p24_10s.mp4 (through the
`ffmpeg` binary) or written byte by byte below; random damage uses fixed seeds. With the same
FFmpeg build the output is byte-identical (the encodes are bit-exact, single-threaded and carry
no encoder-version SEI or metadata); another FFmpeg version may produce different bytes of the
same kind. Run from anywhere:

    python3 testdata/bad/make_corpus.py

The test `cli/tests/bad_corpus.rs` picks the command for each file from its extension:
video (.mp4 .mkv .mov .m4a .wav .png .jpg .bmp .y4m), key (.key), ledger (.jsonl).
Ledger names starting with `ledger-chain-` hold well-formed entries whose hash chain is broken.
See README.md for what each file is.
"""

import hashlib
import io
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "..", "tos_360p24_10s.mp4")

# Bit-exact, single-threaded x264 without the SEI that records the encoder version.
X264 = [
    "-an", "-c:v", "libx264", "-preset", "medium", "-crf", "35", "-g", "4",
    "-threads", "1", "-bsf:v", "filter_units=remove_types=6",
    "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact",
]


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-y", "-v", "error", "-nostdin", *args], check=True)


def clip(path, *extra, frames=8, size="320:180"):
    """A few frames of the Tears of Steel clip, scaled down and re-encoded."""
    ffmpeg("-ss", "1", "-i", SOURCE, "-frames:v", str(frames), "-vf", f"scale={size}",
           *X264, *extra, path)


def still(path, size, *codec):
    ffmpeg("-ss", "1", "-i", SOURCE, "-frames:v", "1", "-vf", f"scale={size}", *codec,
           "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", path)


def y4m_frame(path, size):
    """One raw 4:2:0 frame (Y, Cb, Cr) of the clip at `size` (WxH)."""
    ffmpeg("-ss", "1", "-i", SOURCE, "-frames:v", "1", "-vf", f"scale={size.replace('x', ':')}",
           "-pix_fmt", "yuv420p", "-f", "rawvideo", path)
    return read(path)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def boxes(data, start=0, end=None):
    """Top-level MP4 boxes in data[start:end] as (type, offset, size)."""
    end = len(data) if end is None else end
    out = []
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        elif size == 0:
            size = end - pos
        out.append((kind.decode("latin-1"), pos, size))
        pos += size
    return out


def box(data, kind):
    for k, off, size in boxes(data):
        if k == kind:
            return off, size
    raise KeyError(kind)


def flip(data, seed, count, lo=0, hi=None):
    """XORs `count` bytes at random positions in data[lo:hi] with random non-zero values."""
    hi = len(data) if hi is None else hi
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(count):
        i = rng.randrange(lo, hi)
        out[i] ^= rng.randrange(1, 256)
    return bytes(out)


def png_chunk(kind, body):
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def ledger_entries(n):
    """`n` well-formed, correctly chained ledger entries (the format of core/src/ledger.rs)."""
    entries = []
    prev = "0" * 64
    for seq in range(1, n + 1):
        e = {
            "seq": seq,
            "time": f"2026-01-0{seq}T12:00:00Z",
            "recipient": 100 + seq,
            "label": f"reviewer {seq}",
            "key_fingerprint": "0123456789abcdef",
            "input_sha256": hashlib.sha256(b"input").hexdigest(),
            "output_sha256": hashlib.sha256(b"output %d" % seq).hexdigest(),
            "prev_hash": prev,
        }
        canonical = json.dumps(e, separators=(",", ":"), ensure_ascii=False)
        e["hash"] = hashlib.sha256(canonical.encode()).hexdigest()
        prev = e["hash"]
        entries.append(e)
    return entries


def line(entry):
    return json.dumps(entry, separators=(",", ":"), ensure_ascii=False) + "\n"


def rehash(entry):
    fields = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    entry["hash"] = hashlib.sha256(canonical.encode()).hexdigest()
    return entry


def main():
    files = {}

    def put(name, data):
        if isinstance(data, str):
            data = data.encode()
        assert name not in files, name
        files[name] = data

    with tempfile.TemporaryDirectory() as tmp:
        t = lambda name: os.path.join(tmp, name)
        clip(t("base.mp4"))
        clip(t("faststart.mp4"), "-movflags", "+faststart")
        clip(t("base.mkv"))
        ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000:duration=0.5",
               "-c:a", "aac", "-b:a", "16k", "-map_metadata", "-1", "-fflags", "+bitexact",
               "-flags:a", "+bitexact", t("audio.m4a"))
        ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000:duration=0.2",
               "-c:a", "pcm_u8", "-map_metadata", "-1", "-fflags", "+bitexact",
               "-flags:a", "+bitexact", t("audio.wav"))
        still(t("still.png"), "64:36")
        still(t("still.jpg"), "64:36", "-q:v", "8")
        frame320 = y4m_frame(t("f320.yuv"), "320x180")
        frame160 = y4m_frame(t("f160.yuv"), "160x90")
        mp4 = read(t("base.mp4"))
        fast = read(t("faststart.mp4"))
        mkv = read(t("base.mkv"))
        m4a = read(t("audio.m4a"))
        wav = read(t("audio.wav"))
        png = read(t("still.png"))
        jpg = read(t("still.jpg"))

    good = "YUV4MPEG2 W320 H180 F24:1 Ip A1:1 C420jpeg\n"

    # --- zero-length files -------------------------------------------------------------
    for ext in ["mp4", "mkv", "mov", "y4m"]:
        put(f"empty.{ext}", b"")

    # --- truncated MP4 (moov at the end, as ffmpeg writes it by default) ---------------
    moov_off, moov_size = box(mp4, "moov")
    mdat_off, mdat_size = box(mp4, "mdat")
    put("mp4-trunc-8-bytes.mp4", mp4[:8])
    put("mp4-trunc-after-ftyp.mp4", mp4[:mdat_off])
    put("mp4-trunc-mdat-header.mp4", mp4[:mdat_off + 16])
    put("mp4-trunc-mid-mdat.mp4", mp4[:mdat_off + mdat_size // 2])
    put("mp4-trunc-before-moov.mp4", mp4[:moov_off])
    put("mp4-trunc-mid-moov.mp4", mp4[:moov_off + moov_size // 2])
    # moov first (faststart): cut inside the index, and right after it (no media data).
    fmoov_off, fmoov_size = box(fast, "moov")
    put("mp4-faststart-trunc-mid-moov.mp4", fast[:fmoov_off + fmoov_size // 2])
    put("mp4-faststart-no-mdat.mp4", fast[:fmoov_off + fmoov_size])

    # --- structurally broken MP4 --------------------------------------------------------
    no_moov = bytearray(mp4)
    no_moov[moov_off + 4:moov_off + 8] = b"xxxx"  # an unknown box type: the index is gone
    put("mp4-moov-renamed-unknown.mp4", bytes(no_moov))
    put("mp4-moov-removed.mp4", mp4[:moov_off] + mp4[moov_off + moov_size:])
    put("mp4-mdat-removed.mp4", mp4[:mdat_off] + mp4[mdat_off + mdat_size:])
    huge_box = bytearray(mp4)
    huge_box[mdat_off:mdat_off + 4] = struct.pack(">I", 0xFFFFFFFF)  # hides the moov after it
    put("mp4-mdat-size-4gib.mp4", bytes(huge_box))
    small_box = bytearray(mp4)
    small_box[mdat_off:mdat_off + 4] = struct.pack(">I", 7)  # smaller than a box header
    put("mp4-mdat-size-7.mp4", bytes(small_box))
    # Bit flips inside the index (moov).
    for seed in [1, 2, 3]:
        put(f"mp4-flip-moov-seed{seed}.mp4",
            flip(mp4, seed, 24, moov_off + 8, moov_off + moov_size))

    # --- damage FFmpeg repairs or conceals: no error required, but no crash, no partial
    # output, bounded memory (names start with `tolerated-`) -------------------------------
    in_free = bytearray(mp4)
    in_free[moov_off + 4:moov_off + 8] = b"free"  # FFmpeg looks for a moov inside 'free'
    put("tolerated-mp4-moov-in-free-box.mp4", bytes(in_free))
    largesize = bytearray(mp4[:moov_off])
    largesize += struct.pack(">I4sQ", 1, b"moov", 1 << 62) + mp4[moov_off + 8:]
    put("tolerated-mp4-moov-largesize-2e62.mp4", bytes(largesize))
    put("tolerated-mp4-trunc-last-byte.mp4", mp4[:-1])
    put("tolerated-mp4-faststart-trunc-mid-mdat.mp4", fast[:len(fast) * 3 // 4])
    # Declared dimensions 65535x65535 in the track header and the avc1 sample entry (the
    # decoder takes the real size from the H.264 parameter sets).
    dims = bytearray(mp4)
    tkhd = mp4.find(b"tkhd", moov_off)
    # tkhd v0: width/height are the last 8 bytes (16.16 fixed point) of the box.
    tkhd_end = tkhd - 4 + struct.unpack(">I", mp4[tkhd - 4:tkhd])[0]
    dims[tkhd_end - 8:tkhd_end] = struct.pack(">II", 0xFFFF0000, 0xFFFF0000)
    avc1 = mp4.find(b"avc1", moov_off)
    # avc1 sample entry: width and height at offsets 24 and 26 after the type.
    dims[avc1 + 28:avc1 + 32] = struct.pack(">HH", 0xFFFF, 0xFFFF)
    put("tolerated-mp4-declared-65535x65535.mp4", bytes(dims))
    for seed in [4, 5]:
        put(f"tolerated-mp4-flip-mdat-seed{seed}.mp4",
            flip(mp4, seed, 16, mdat_off + 8, mdat_off + mdat_size))
    cluster = mkv.find(b"\x1f\x43\xb6\x75")
    put("tolerated-mkv-flip-clusters-seed6.mkv", flip(mkv, 6, 16, cluster + 64, len(mkv)))
    put("tolerated-y4m-second-frame-truncated.y4m",
        good.encode() + b"FRAME\n" + frame320 + b"FRAME\n" + frame320[:1000])

    # --- broken Matroska ----------------------------------------------------------------
    put("mkv-trunc-64-bytes.mkv", mkv[:64])
    put("mkv-trunc-header-only.mkv", mkv[:mkv.find(b"\x1f\x43\xb6\x75")])  # before 1st Cluster
    for seed in [1, 2, 3]:
        put(f"mkv-flip-header-seed{seed}.mkv", flip(mkv, seed, 12, 0, 200))
    ebml = bytearray(mkv)
    ebml[0] ^= 0xFF  # EBML magic 1A 45 DF A3 broken
    put("mkv-bad-ebml-magic.mkv", bytes(ebml))

    # --- wrong containers: real or minimal files of other kinds, renamed ---------------
    put("png-64x36-too-small-renamed.mp4", png)
    put("jpeg-64x36-too-small-renamed.mkv", jpg)
    put("text-renamed.mp4", "This is a README, not a video.\n" * 40)
    put("html-renamed.mp4", "<!DOCTYPE html><html><body>404 Not Found</body></html>\n")
    elf = bytearray(64)
    elf[:16] = b"\x7fELF\x02\x01\x01" + bytes(9)
    elf[16:20] = struct.pack("<HH", 2, 0x3E)  # ET_EXEC, x86-64
    put("elf-renamed.mp4", bytes(elf) + bytes(range(256)) * 4)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("video.mp4", date_time=(2026, 1, 1, 0, 0, 0))
        z.writestr(info, b"not really a video\n" * 50)
    put("zip-renamed.mp4", zbuf.getvalue())
    put("gzip-renamed.mkv", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + zlib.compress(b"x" * 1000)[2:-4])
    put("random-bytes.mp4", random.Random(7).randbytes(4096))
    put("zeros.mkv", bytes(4096))
    put("audio-only.m4a", m4a)
    put("audio-only.wav", wav)

    # --- still images with hostile declared sizes ---------------------------------------
    ihdr = struct.pack(">IIBBBBB", 65535, 65535, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(1000))
    put("png-65535x65535.png", b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))
    sof = jpg.find(b"\xff\xc0")
    big_jpg = bytearray(jpg)
    big_jpg[sof + 5:sof + 9] = struct.pack(">HH", 65500, 65500)  # height, width
    put("jpeg-65500x65500.jpg", bytes(big_jpg[:len(big_jpg) // 2]))
    bmp = struct.pack("<2sIHHI", b"BM", 54 + 16, 0, 0, 54)
    bmp += struct.pack("<IiiHHIIiiII", 40, 30000, 30000, 1, 24, 0, 0, 2835, 2835, 0, 0)
    put("bmp-30000x30000.bmp", bmp + bytes(16))

    # --- y4m: hostile headers and frames ------------------------------------------------
    # Run both as files (FFmpeg's demuxer) and on stdin (Filigree's own reader).
    half = frame320[:4096]  # the start of a 320x180 frame: far less than one frame
    for name, header in [
        ("y4m-w0", "YUV4MPEG2 W0 H180 F24:1 C420jpeg\n"),
        ("y4m-h0", "YUV4MPEG2 W320 H0 F24:1 C420jpeg\n"),
        ("y4m-w99999999-h99999999", "YUV4MPEG2 W99999999 H99999999 F24:1 C420jpeg\n"),
        ("y4m-w-overflow", "YUV4MPEG2 W184467440737095516160 H180 F24:1\n"),
        ("y4m-negative-size", "YUV4MPEG2 W-320 H-180 F24:1 C420jpeg\n"),
        ("y4m-missing-w", "YUV4MPEG2 H180 F24:1 C420jpeg\n"),
        ("y4m-missing-h", "YUV4MPEG2 W320 F24:1 C420jpeg\n"),
        ("y4m-c999", "YUV4MPEG2 W320 H180 F24:1 C999\n"),
        ("y4m-cmono", "YUV4MPEG2 W320 H180 F24:1 Cmono\n"),
        ("y4m-interlace-x", "YUV4MPEG2 W320 H180 F24:1 Ix C420jpeg\n"),
        ("y4m-rate-0-0", "YUV4MPEG2 W320 H180 F0:0 C420jpeg\n"),
        ("y4m-rate-garbage", "YUV4MPEG2 W320 H180 Fabc C420jpeg\n"),
        ("y4m-wrong-magic", "YUV4MPEG3 W320 H180 F24:1 C420jpeg\n"),
    ]:
        put(f"{name}.y4m", header.encode() + b"FRAME\n" + half)
    put("y4m-16384x16384-no-data.y4m", "YUV4MPEG2 W16384 H16384 F24:1 C444p10\nFRAME\n" + "x" * 100)
    put("y4m-8192x8192-444p10-no-data.y4m",
        "YUV4MPEG2 W8192 H8192 F24:1 C444p10\nFRAME\n" + "x" * 100)
    put("y4m-header-not-utf8.y4m", b"YUV4MPEG2 W320 H180 X\xff\xfe\xfd\nFRAME\n" + half)
    put("y4m-header-no-newline.y4m", "YUV4MPEG2 W320 H180 F24:1 C420jpeg")
    put("y4m-header-2000-bytes.y4m",
        ("YUV4MPEG2 W320 H180 F24:1 C420jpeg " + "XTAG=" + "a" * 2000 + "\nFRAME\n").encode() + half)
    put("y4m-header-only.y4m", good)
    put("y4m-truncated-frame.y4m", good.encode() + b"FRAME\n" + half)
    put("y4m-frame-marker-missing.y4m", good.encode() + half)
    put("y4m-frame-marker-garbage.y4m", good.encode() + b"FRAMEX\xff\xfe garbage\n" + half)
    put("y4m-frame-line-2000-bytes.y4m", good.encode() + b"FRAME " + b"Z" * 2000 + b"\n" + half)
    put("y4m-160x90-too-small.y4m",
        b"YUV4MPEG2 W160 H90 F24:1 Ip A1:1 C420jpeg\n" + (b"FRAME\n" + frame160) * 2)

    # --- key files ----------------------------------------------------------------------
    hexkey = "0123456789abcdef" * 4
    header = "filigree-key-v1\n"
    put("key-empty.key", b"")
    put("key-wrong-magic.key", f"filigree-key-v2\n{hexkey}\n")
    put("key-no-header.key", f"{hexkey}\n")
    put("key-header-only.key", header)
    put("key-62-hex.key", f"{header}{hexkey[:62]}\n")
    put("key-65-hex.key", f"{header}{hexkey}a\n")
    put("key-128-hex.key", f"{header}{hexkey * 2}\n")
    put("key-non-hex.key", f"{header}{'zz' * 32}\n")
    put("key-plus-signs.key", f"{header}{'+a' * 32}\n")
    put("key-multibyte.key", f"{header}{hexkey[:61]}\u20ac\n")
    put("key-spaces-inside.key", f"{header}{hexkey[:32]} {hexkey[32:]}\n")
    put("key-trailing-garbage.key", f"{header}{hexkey}\ngarbage\n")
    put("key-utf8-bom.key", f"\ufeff{header}{hexkey}\n")
    put("key-utf16.key", f"{header}{hexkey}\n".encode("utf-16"))
    put("key-binary.key", random.Random(11).randbytes(512))
    put("key-nul-bytes.key", header.encode() + bytes(64) + b"\n")

    # --- ledgers ------------------------------------------------------------------------
    entries = ledger_entries(3)
    good_lines = [line(e) for e in entries]
    put("ledger-not-json.jsonl", "this is not json\n")
    put("ledger-truncated-json.jsonl", good_lines[0] + good_lines[1][:80])
    put("ledger-json-array.jsonl", json.dumps(entries) + "\n")
    put("ledger-binary.jsonl", random.Random(13).randbytes(2048))
    put("ledger-not-utf8.jsonl", good_lines[0].encode() + b"\xff\xfe{}\n")
    wrong_type = dict(entries[0], seq="1")
    put("ledger-seq-as-string.jsonl", line(wrong_type) + "".join(good_lines[1:]))
    wrong_type = dict(entries[0], recipient=-5)
    put("ledger-negative-recipient.jsonl", line(wrong_type))
    wrong_type = dict(entries[0], recipient=1e300)
    put("ledger-recipient-float.jsonl", line(wrong_type))
    missing = {k: v for k, v in entries[0].items() if k != "prev_hash"}
    put("ledger-missing-field.jsonl", line(missing))
    extra = dict(entries[0], secret="x")
    put("ledger-unknown-field.jsonl", line(extra))
    put("ledger-bad-time.jsonl", line(rehash(dict(entries[0], time="yesterday"))))
    put("ledger-seq-zero.jsonl", line(rehash(dict(entries[0], seq=0))))
    put("ledger-huge-line.jsonl",
        good_lines[0] + line(dict(entries[1], label="L" * 70000)))
    put("ledger-nul-line.jsonl", good_lines[0] + "\0" * 100 + "\n" + good_lines[1])
    # Well-formed entries, broken chain: `ledger verify` reports it (exit 1).
    altered = dict(entries[1], recipient=999)
    put("ledger-chain-altered.jsonl", good_lines[0] + line(altered) + good_lines[2])
    put("ledger-chain-removed.jsonl", good_lines[0] + good_lines[2])
    put("ledger-chain-reordered.jsonl", good_lines[1] + good_lines[0] + good_lines[2])
    put("ledger-chain-duplicated.jsonl", good_lines[0] + good_lines[0] + good_lines[1])
    forged = rehash(dict(entries[1], prev_hash="f" * 64))
    put("ledger-chain-forged-prev.jsonl", good_lines[0] + line(forged))

    # --- write --------------------------------------------------------------------------
    keep = {"README.md", "make_corpus.py"}
    for old in os.listdir(HERE):
        if old not in keep and old not in files:
            os.remove(os.path.join(HERE, old))
    for name, data in sorted(files.items()):
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
    total = sum(len(d) for d in files.values())
    largest = max(files, key=lambda n: len(files[n]))
    print(f"{len(files)} files, {total} bytes; largest {largest} ({len(files[largest])} bytes)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
