"""Filigree next to invisible-watermark (dwtDct, dwtDctSvd), in one process, on the same frames.

What it measures, per clip of real 1080p frames (first ``--frames`` frames of each clip):

* embed and detect time per 1080p frame (``time.perf_counter``, warm-up frames first, median
  over ``--timing-frames`` frames, every method on the same frames in this process);
* PSNR and SSIM of marked vs original on luma (BT.709 Y' of the RGB frames), plus PSNR on
  R'G'B' (the peer marks chroma, which luma figures do not see);
* bit and ID accuracy after real ffmpeg attacks on the whole marked clip: H.264 CRF 23/28/32,
  downscale to 640x360 (+ CRF 23), centred crop to 90 % of width and height (+ CRF 23),
  brightness/contrast (+ CRF 23), plus the unattacked frames and an unmarked control.

Filigree is a video mark: it is detected over the whole clip (one ``Detector``, every frame
added, one ``result()``) and, for fairness, also on every frame alone. The peer is a
still-image mark: every frame is decoded alone (mean bit accuracy, share of frames whose
32 bits are all right) and, as its best clip-level case, the 32 bits are voted per bit over
the clip's frames. Every method carries the same 32-bit payload.

It writes ``docs/benchmarks.md`` (tables, machine, versions, date) and
``docs/peer-accuracy-vs-crf.png`` (ID accuracy vs CRF).

Run (from the repository root; ``scripts/peer-benchmark`` installs the peers, builds the
bindings if missing and runs this):

    .venv/bin/python benches/peers/compare.py [--frames 48] [--timing-frames 10]
        [--clips bbb,tos] [--out docs/benchmarks.md] [--plot docs/peer-accuracy-vs-crf.png]

Needs ``ffmpeg`` (with libx264) on PATH and, in the venv: ``filigree`` (the bindings),
``invisible-watermark`` (installed with ``--no-deps``), ``opencv-python-headless``,
``PyWavelets``, ``Pillow``, ``matplotlib``. About 10 minutes on 2 cores with the defaults.
"""

from __future__ import annotations

import os

# Every method runs on one thread: Filigree's mark and detect are single-threaded, and the
# figures are per core. Set before numpy / OpenCV load their thread pools.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import datetime as dt
import hashlib
import importlib.metadata as md
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHARED_MEDIA = REPO.parent / "shared" / "media"

W, H = 1920, 1080
CROP_W, CROP_H = 1728, 972  # 90 % of each side, centred
CROP_X, CROP_Y = (W - CROP_W) // 2, (H - CROP_H) // 2
PAYLOAD = 0xC0FFEE12  # the 32-bit recipient ID / peer payload
PAYLOAD_BITS = np.array([int(b) for b in format(PAYLOAD, "032b")], dtype=np.uint8)
PEER_METHODS = ("dwtDct", "dwtDctSvd")
METHODS = ("filigree",) + PEER_METHODS
KEY_SEED = b"filigree peer benchmark key v1"  # fixed key, so reruns are comparable

# --------------------------------------------------------------------------------------
# Imports of the methods
# --------------------------------------------------------------------------------------

import cv2  # noqa: E402

cv2.setNumThreads(1)

import filigree  # noqa: E402

IMWATERMARK_STUBBED = False
try:
    from imwatermark import WatermarkDecoder, WatermarkEncoder
except ImportError:
    # imwatermark/watermark.py imports its RivaGAN module, which imports torch (and
    # onnxruntime) at import time. dwtDct and dwtDctSvd need neither, so an empty stand-in
    # module takes its place; RivaGAN itself is not benchmarked.
    for name in [m for m in sys.modules if m == "imwatermark" or m.startswith("imwatermark.")]:
        del sys.modules[name]
    stub = types.ModuleType("imwatermark.rivaGan")

    class RivaWatermark:  # noqa: D101 - stand-in only
        def __init__(self, *args, **kwargs):
            raise RuntimeError("rivaGan is not installed in this benchmark (no torch)")

        @classmethod
        def loadModel(cls):
            raise RuntimeError("rivaGan is not installed in this benchmark (no torch)")

    stub.RivaWatermark = RivaWatermark
    sys.modules["imwatermark.rivaGan"] = stub
    from imwatermark import WatermarkDecoder, WatermarkEncoder

    IMWATERMARK_STUBBED = True


def rel(path: Path) -> str:
    """A path relative to the repository root, for the report (never an absolute path)."""
    return os.path.relpath(Path(path).resolve(), REPO)


# --------------------------------------------------------------------------------------
# Clips and ffmpeg
# --------------------------------------------------------------------------------------


@dataclass
class Clip:
    name: str
    title: str
    path: Path
    fps: str
    note: str
    upscale: bool  # scale to 1920x1080 with Lanczos while decoding


def clip_catalogue() -> dict[str, Clip]:
    bbb_shared = SHARED_MEDIA / "bbb_1080p25_5s.mp4"
    if bbb_shared.exists():
        bbb = Clip(
            "bbb",
            "Big Buck Bunny (animation)",
            bbb_shared,
            "25",
            "1920x1080 file, itself a Lanczos upscale of the 1280x720 excerpt "
            "(see its PROVENANCE.md); read in place",
            upscale=False,
        )
    else:
        bbb = Clip(
            "bbb",
            "Big Buck Bunny (animation)",
            REPO / "testdata" / "bbb_720p25_5s.mp4",
            "25",
            "1280x720 excerpt, Lanczos-upscaled to 1920x1080 while decoding",
            upscale=True,
        )
    tos = Clip(
        "tos",
        "Tears of Steel (live action)",
        REPO / "testdata" / "tos_360p24_10s.mp4",
        "24",
        "640x360 excerpt (live-action camera footage, a scene cut), Lanczos-upscaled to "
        "1920x1080 while decoding",
        upscale=True,
    )
    return {"bbb": bbb, "tos": tos}


def ffmpeg_read(path: Path, vf: str, width: int, height: int, frames: int | None = None) -> np.ndarray:
    """Decodes a video to (N, height, width, 3) RGB uint8 through ``vf``."""
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-vf", vf]
    if frames is not None:
        cmd += ["-frames:v", str(frames)]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def decode_clip(clip: Clip, frames: int) -> np.ndarray:
    # Untagged sources: read as BT.709 (HD), the same matrix the attacks write and read back.
    if clip.upscale:
        vf = f"scale={W}:{H}:flags=lanczos:in_color_matrix=bt709"
    else:
        vf = "scale=in_color_matrix=bt709"
    out = ffmpeg_read(clip.path, vf, W, H, frames)
    if out.shape[0] < frames:
        raise SystemExit(f"{rel(clip.path)} has only {out.shape[0]} frames, {frames} asked")
    return out


def ffmpeg_encode(frames: np.ndarray, fps: str, vf: str, crf: int, dst: Path) -> None:
    """Encodes RGB frames as H.264 (libx264, preset medium, yuv420p, BT.709) through ``vf``."""
    h, w = frames.shape[1:3]
    cmd = [
        "ffmpeg", "-v", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", fps, "-i", "-",
        "-vf", vf,
        "-c:v", "libx264", "-preset", "medium", "-crf", str(crf), "-pix_fmt", "yuv420p",
        "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
        str(dst),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for f in frames:
        proc.stdin.write(np.ascontiguousarray(f).tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed: {' '.join(cmd)}")


@dataclass
class Attack:
    name: str
    crf: int | None  # None: no codec (the marked frames as they are)
    encode_vf: str  # RGB -> yuv420p (with the attack's filters)
    size: tuple[int, int]  # (w, h) of the attacked video
    peer_views: dict[str, str]  # view name -> how the peer's frames are prepared


TO_YUV = "scale=out_color_matrix=bt709"
X264_VERSION = ""


def attacks() -> list[Attack]:
    same = {"as is": ""}
    return [
        Attack("none (marked frames, no codec)", None, "", (W, H), same),
        Attack("H.264 CRF 23", 23, TO_YUV, (W, H), same),
        Attack("H.264 CRF 28", 28, TO_YUV, (W, H), same),
        Attack("H.264 CRF 32", 32, TO_YUV, (W, H), same),
        Attack(
            "downscale 640x360 + CRF 23",
            23,
            "scale=640:360:flags=bicubic:out_color_matrix=bt709",
            (640, 360),
            {"scaled back to 1920x1080": "upscale"},
        ),
        Attack(
            "crop 10 % (centred, 1728x972) + CRF 23",
            23,
            f"crop={CROP_W}:{CROP_H}:{CROP_X}:{CROP_Y},{TO_YUV}",
            (CROP_W, CROP_H),
            {"as is": "", "padded back in place (oracle)": "pad"},
        ),
        Attack(
            "brightness +0.06, contrast 1.05 + CRF 23",
            23,
            f"{TO_YUV},format=yuv420p,eq=brightness=0.06:contrast=1.05",
            (W, H),
            same,
        ),
    ]


def attacked_frames(marked: np.ndarray, attack: Attack, fps: str, tmp: Path) -> np.ndarray:
    """The frames a leak holder has after ``attack``, at the attacked size."""
    if attack.crf is None:
        return marked
    dst = tmp / "attacked.mp4"
    ffmpeg_encode(marked, fps, attack.encode_vf, attack.crf, dst)
    global X264_VERSION
    if not X264_VERSION:  # x264 writes its version into the stream (an SEI message)
        found = re.search(rb"core \d+ r\d+ [0-9a-f]+", dst.read_bytes()[:1 << 20])
        X264_VERSION = found.group().decode() if found else "?"
    w, h = attack.size
    out = ffmpeg_read(dst, "scale=in_color_matrix=bt709", w, h)
    dst.unlink()
    return out


def peer_view(frames: np.ndarray, how: str) -> np.ndarray:
    """Prepares attacked frames for the peer, which needs the original geometry."""
    if how == "":
        return frames
    if how == "upscale":
        return np.stack([cv2.resize(f, (W, H), interpolation=cv2.INTER_CUBIC) for f in frames])
    if how == "pad":
        out = np.zeros((frames.shape[0], H, W, 3), np.uint8)
        out[:, CROP_Y : CROP_Y + CROP_H, CROP_X : CROP_X + CROP_W] = frames
        return out
    raise ValueError(how)


# --------------------------------------------------------------------------------------
# Quality
# --------------------------------------------------------------------------------------


def luma709(rgb: np.ndarray) -> np.ndarray:
    """BT.709 Y' of full-range R'G'B' in 8-bit units, unrounded float64."""
    f = rgb.astype(np.float64)
    return 0.2126 * f[..., 0] + 0.7152 * f[..., 1] + 0.0722 * f[..., 2]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


_GAUSS = cv2.getGaussianKernel(11, 1.5, cv2.CV_64F)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03,
    L 255, over the valid region (windows wholly inside the plane); the same definition as
    Filigree's ``metrics::ssim``."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x):
        return cv2.sepFilter2D(x, cv2.CV_64F, _GAUSS, _GAUSS)[5:-5, 5:-5]

    x, y = a.astype(np.float64), b.astype(np.float64)
    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    return float(np.mean(num / den))


# --------------------------------------------------------------------------------------
# The methods
# --------------------------------------------------------------------------------------


def benchmark_key(tmp: Path) -> filigree.Key:
    """A fixed key derived from KEY_SEED (same key on every run)."""
    path = tmp / "bench.key"
    path.write_text("filigree-key-v1\n" + hashlib.sha256(KEY_SEED).hexdigest() + "\n")
    return filigree.Key.load(path)


class Peer:
    def __init__(self, method: str):
        self.method = method
        self.encoder = WatermarkEncoder()
        self.encoder.set_watermark("bits", [int(b) for b in PAYLOAD_BITS])
        self.decoder = WatermarkDecoder("bits", 32)

    def embed(self, rgb: np.ndarray) -> np.ndarray:
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        return np.ascontiguousarray(self.encoder.encode(bgr, self.method)[..., ::-1])

    def decode(self, rgb: np.ndarray) -> np.ndarray:
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        return np.asarray(self.decoder.decode(bgr, self.method), dtype=np.uint8)


def filigree_mark_clip(key, frames: np.ndarray) -> np.ndarray:
    embedder = filigree.Embedder(key, PAYLOAD, W, H)
    return np.stack([embedder.mark(f) for f in frames])


def filigree_detect(key, frames) -> filigree.Detection:
    detector = filigree.Detector(key)
    for f in frames:
        detector.add_frame(np.ascontiguousarray(f))
    return detector.result()


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------


CLOCKS = ("wall", "cpu")


def timed(fn, items, warmup: int) -> tuple[dict[str, list[float]], list]:
    """Runs fn on the first ``warmup`` items untimed, then times each of the rest: wall
    clock (``time.perf_counter``) and this thread's CPU time (``time.thread_time``; every
    method runs on the calling thread, so this is its cost on one core however busy the
    machine is)."""
    for it in items[:warmup]:
        fn(it)
    times: dict[str, list[float]] = {"wall": [], "cpu": []}
    outs = []
    for it in items[warmup:]:
        c0, t0 = time.thread_time(), time.perf_counter()
        out = fn(it)
        t1, c1 = time.perf_counter(), time.thread_time()
        times["wall"].append(t1 - t0)
        times["cpu"].append(c1 - c0)
        outs.append(out)
    return times, outs


def timing(key, frames: np.ndarray, n: int, warmup: int = 2) -> dict[str, dict[str, dict]]:
    """Median seconds per 1080p frame for every method's embed and detect, per clock:
    ``result[method][clock][what]``. Embedding and the peers' decoding are timed on ``n``
    frames after ``warmup``; Filigree's clip detection on all of ``frames``."""
    items = list(frames[: warmup + n])
    lumas = [np.ascontiguousarray(np.clip(luma709(f) + 0.5, 0, 255).astype(np.uint8)) for f in items]
    med = lambda ts: {c: float(np.median(ts[c])) for c in CLOCKS}  # noqa: E731

    embedder = filigree.Embedder(key, PAYLOAD, W, H)
    t_mark, marked = timed(embedder.mark, items, warmup)
    t_frame, _ = timed(lambda f: filigree.embed_frame(f, key, PAYLOAD), items, warmup)
    luma_embedder = filigree.Embedder(key, PAYLOAD, W, H)
    t_luma, _ = timed(luma_embedder.mark, lumas, warmup)

    # Detection is timed over the whole clip (how it is used): the rest of the clip is marked
    # untimed by the same embedder, then every frame goes into one detector.
    whole = marked + [embedder.mark(f) for f in frames[warmup + n :]]
    detector = filigree.Detector(key)
    for f in whole[:warmup]:  # warm-up detector, discarded
        detector.add_frame(f)
    detector.result()
    detector = filigree.Detector(key)
    t_add, _ = timed(detector.add_frame, whole, 0)
    t_result, clip_result = timed(lambda _: detector.result(), [None], 0)
    assert clip_result[0].recipient == PAYLOAD, "Filigree did not detect its own clean frames"

    def single(f):
        d = filigree.Detector(key)
        d.add_frame(f)
        return d.result()

    t_single, _ = timed(single, marked, 0)

    parts = {
        "embed": med(t_mark),
        "embed_frame": med(t_frame),
        "embed_luma": med(t_luma),
        "add_frame": med(t_add),
        "result": {c: t_result[c][0] for c in CLOCKS},
        "detect_single": med(t_single),
    }
    res: dict[str, dict[str, dict]] = {"filigree": {c: {k: v[c] for k, v in parts.items()} for c in CLOCKS}}
    for c in CLOCKS:
        res["filigree"][c]["result_frames"] = len(whole)
        res["filigree"][c]["detect"] = parts["add_frame"][c] + parts["result"][c] / len(whole)
    for m in PEER_METHODS:
        peer = Peer(m)
        t_emb, pmarked = timed(peer.embed, items, warmup)
        t_dec, _ = timed(peer.decode, pmarked, 0)
        e, d = med(t_emb), med(t_dec)
        res[m] = {c: {"embed": e[c], "detect": d[c]} for c in CLOCKS}
    return res


# --------------------------------------------------------------------------------------
# One clip
# --------------------------------------------------------------------------------------


@dataclass
class Row:
    attack: str
    view: str  # how the peer saw the frames
    filigree_clip: filigree.Detection | None = None
    filigree_frames: tuple[int, int, int] = (0, 0, 0)  # right, wrong, none
    peer: dict[str, dict[str, float]] = field(default_factory=dict)


def peer_scores(bits: np.ndarray) -> dict[str, float]:
    """bits: (frames, 32) decoded bits -> bit accuracy, per-frame ID accuracy, vote."""
    right = bits == PAYLOAD_BITS[None, :]
    vote = (bits.mean(axis=0) > 0.5).astype(np.uint8)
    return {
        "bit_acc": float(right.mean()),
        "id_acc": float(right.all(axis=1).mean()),
        "vote_ok": bool((vote == PAYLOAD_BITS).all()),
        "vote_bits": int((vote == PAYLOAD_BITS).sum()),
    }


def run_clip(clip: Clip, n_frames: int, n_timing: int, key, tmp: Path, log) -> dict:
    log(f"[{clip.name}] decoding {n_frames} frames of {rel(clip.path)}")
    original = decode_clip(clip, n_frames)

    log(f"[{clip.name}] timing on {n_timing} frames (+2 warm-up)")
    times = timing(key, original, n_timing)

    log(f"[{clip.name}] marking the clip with every method")
    marked = {"filigree": filigree_mark_clip(key, original)}
    peers = {m: Peer(m) for m in PEER_METHODS}
    for m, peer in peers.items():
        marked[m] = np.stack([peer.embed(f) for f in original])

    log(f"[{clip.name}] quality")
    quality = {}
    y_orig = [luma709(f) for f in original]
    for m in METHODS:
        ps, ss, prgb = [], [], []
        for f, yo in zip(marked[m], y_orig):
            ym = luma709(f)
            ps.append(psnr(yo, ym))
            ss.append(ssim(yo, ym))
        prgb = [psnr(a, b) for a, b in zip(original, marked[m])]
        quality[m] = {
            "psnr": float(np.mean(ps)),
            "psnr_min": float(np.min(ps)),
            "ssim": float(np.mean(ss)),
            "psnr_rgb": float(np.mean(prgb)),
        }
    del y_orig

    rows: list[Row] = []

    def evaluate(name: str, method_frames: dict[str, np.ndarray], views: dict[str, str]):
        fil = method_frames["filigree"]
        clip_det = filigree_detect(key, fil)
        right = wrong = none = 0
        for f in fil:
            d = filigree_detect(key, [f])
            if d.recipient is None:
                none += 1
            elif d.recipient == PAYLOAD:
                right += 1
            else:
                wrong += 1
        for i, (view, how) in enumerate(views.items()):
            row = Row(name, view)
            if i == 0:
                row.filigree_clip = clip_det
                row.filigree_frames = (right, wrong, none)
            for m in PEER_METHODS:
                frames = peer_view(method_frames[m], how)
                bits = np.stack([peers[m].decode(f) for f in frames])
                row.peer[m] = peer_scores(bits)
            rows.append(row)
            log(f"[{clip.name}]   {name} / {view}: filigree clip "
                f"{clip_det.recipient if i == 0 else '-'}, frames {right}/{wrong}/{none}; "
                + ", ".join(f"{m} bits {row.peer[m]['bit_acc']:.3f} id {row.peer[m]['id_acc']:.2f} "
                            f"vote {row.peer[m]['vote_ok']}" for m in PEER_METHODS))

    log(f"[{clip.name}] unmarked control")
    evaluate("unmarked original (control)", {m: original for m in METHODS}, {"as is": ""})

    for attack in attacks():
        log(f"[{clip.name}] attack: {attack.name}")
        got = {m: attacked_frames(marked[m], attack, clip.fps, tmp) for m in METHODS}
        evaluate(attack.name, got, attack.peer_views)
        del got

    return {"clip": clip, "frames": n_frames, "timing": times, "quality": quality, "rows": rows}


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine_facts() -> dict[str, str]:
    cpu = ""
    for line in sh(["lscpu"]).splitlines():
        if line.startswith("Model name:"):
            cpu = line.split(":", 1)[1].strip()
    if not cpu:
        cpu = platform.processor() or platform.machine()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    commit = sh(["git", "rev-parse", "--short=12", "HEAD"]) or "unknown"
    if sh(["git", "status", "--porcelain", "--untracked-files=no"]):
        commit += " (with uncommitted changes)"
    native = sorted(Path(filigree.__file__).parent.glob("_filigree*.so"))
    if native:
        built = dt.datetime.fromtimestamp(native[0].stat().st_mtime, dt.timezone.utc)
        commit += f"; bindings in the venv built {built:%Y-%m-%d %H:%M} UTC"
    ffmpeg = sh(["ffmpeg", "-hide_banner", "-version"]).splitlines()
    ffmpeg_version = ffmpeg[0].split(" Copyright")[0] if ffmpeg else "ffmpeg ?"

    def ver(dist: str) -> str:
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            return "?"

    return {
        "cpu": cpu,
        "cores": f"{os.cpu_count()} logical CPUs ({usable} usable by this process)",
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "opencv": cv2.__version__ + f" (opencv-python-headless {ver('opencv-python-headless')})",
        "pywavelets": ver("PyWavelets"),
        "invisible-watermark": ver("invisible-watermark"),
        "filigree": f"{filigree.__version__}, git commit {commit}",
        "ffmpeg": ffmpeg_version,
        "x264": f"libx264 {X264_VERSION or '?'}",
    }


def ms(s: float) -> str:
    return f"{s * 1000:.1f}"


def fps(s: float) -> str:
    return f"{1 / s:.1f}" if s > 0 else "-"


def pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def fil_clip_cell(d: filigree.Detection | None, control: bool) -> str:
    if d is None:
        return "(same frames as above)"
    if d.recipient is None:
        return "no mark (right)" if control else "**missed** (no mark found)"
    p = d.false_positive_probability
    pstr = f", p {p:.0e}" if p is not None else ""
    if control:
        return f"**false alarm**: {d.recipient:#010x}{pstr}"
    if d.recipient == PAYLOAD:
        return f"right{pstr}"
    return f"**WRONG** {d.recipient:#010x}{pstr}"


def fil_frames_cell(r: tuple[int, int, int], n: int, control: bool, first: bool) -> str:
    if not first:
        return ""
    right, wrong, none = r
    if control:
        return f"{wrong + right}/{n} false alarms"
    cell = f"{pct(right / n)} ({right}/{n})"
    if wrong:
        cell += f", {wrong} wrong"
    return cell


def peer_cells(s: dict[str, float], control: bool) -> list[str]:
    if control:
        # No mark present: bit agreement with the payload is chance; any exact match or
        # unanimous vote would be a false alarm (the peer has no "no mark" answer).
        return [f"{100 * s['bit_acc']:.1f} %", f"{pct(s['id_acc'])} (chance)",
                f"{s['vote_bits']}/32 bits" + (" **false alarm**" if s["vote_ok"] else "")]
    vote = "right" if s["vote_ok"] else f"wrong ({s['vote_bits']}/32 bits)"
    return [f"{100 * s['bit_acc']:.1f} %", pct(s["id_acc"]), vote]


def report(results: list[dict], facts: dict[str, str], args, elapsed: float, load: tuple) -> str:
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out: list[str] = []
    w = out.append
    w("# Benchmarks: Filigree next to invisible-watermark")
    w("")
    w("Generated by `scripts/peer-benchmark` (which runs `benches/peers/compare.py`); do not")
    w("edit by hand, rerun it. Every number below comes from one run of one process on the same")
    w("decoded frames.")
    w("")
    w(f"- Date: {today}")
    w(f"- Machine: {facts['cpu']}, {facts['cores']}; {facts['os']}")
    w(f"- Load average (1 min) at start / end of the run: {load[0]:.2f} / {load[1]:.2f}; "
      f"whole run {elapsed / 60:.1f} min")
    w(f"- Python {facts['python']}, numpy {facts['numpy']}, OpenCV {facts['opencv']}, "
      f"PyWavelets {facts['pywavelets']}, invisible-watermark {facts['invisible-watermark']}")
    w(f"- Filigree {facts['filigree']}")
    w(f"- {facts['ffmpeg']}; {facts['x264']}")
    w(f"- Payload: the same 32 bits ({PAYLOAD:#010x}) for every method; Filigree key derived from a "
      "fixed seed (the same on every run), default strength; invisible-watermark at its default "
      "scales.")
    w("")

    # ---- goals
    first = results[0]
    tw, tc = first["timing"]["filigree"]["wall"], first["timing"]["filigree"]["cpu"]
    pw = {m: first["timing"][m]["wall"] for m in PEER_METHODS}
    pc = {m: first["timing"][m]["cpu"] for m in PEER_METHODS}
    w("## Against the issue's goal figures")
    w("")
    w(f"On {first['clip'].title} frames (1920x1080), median of {args.timing_frames} frames after 2 "
      "warm-up frames, one thread; *wall* is elapsed time, *CPU* the calling thread's CPU time "
      "(what one core spends, whatever else the machine runs).")
    w("")
    w("| goal | measured here |")
    w("|---|---|")
    w("| peer embed at 1080p ~0.17 s/frame (dwtDct, on a machine like CI) | dwtDct "
      f"{pw['dwtDct']['embed']:.3f} s/frame wall ({pc['dwtDct']['embed']:.3f} s CPU); dwtDctSvd "
      f"{pw['dwtDctSvd']['embed']:.3f} s wall ({pc['dwtDctSvd']['embed']:.3f} s CPU) |")
    w(f"| Filigree CPU embed >= 150 frames/s per core at 1080p | luma plane in/out: "
      f"{fps(tc['embed_luma'])} frames/s per core from CPU time ({fps(tw['embed_luma'])} from wall "
      f"time); RGB in/out through the Python API: {fps(tc['embed'])} frames/s from CPU time "
      f"({fps(tw['embed'])} wall), the RGB to luma and back conversion included |")
    w("")

    # ---- speed and quality
    for res in results:
        clip: Clip = res["clip"]
        t, q = res["timing"], res["quality"]
        fw, fc = t["filigree"]["wall"], t["filigree"]["cpu"]
        w(f"## {clip.title}: speed and quality")
        w("")
        w(f"Source: `{rel(clip.path)}`, first {res['frames']} frames: {clip.note}. Times per "
          f"1920x1080 frame, median of {args.timing_frames}.")
        w("")
        w("| method | embed ms wall | embed ms CPU | embed frames/s per core (CPU) | detect ms wall "
          "| detect ms CPU |")
        w("|---|---|---|---|---|---|")

        def speed_row(label, e, d):
            cells = [label, ms(e[0]), ms(e[1]), fps(e[1])]
            cells += [ms(d[0]), ms(d[1])] if d else ["", ""]
            w("| " + " | ".join(cells) + " |")

        speed_row(f"Filigree: `Embedder.mark` RGB in/out; detect `add_frame` + `result()` over "
                  f"{fc['result_frames']} frames, amortised", (fw["embed"], fc["embed"]),
                  (fw["detect"], fc["detect"]))
        speed_row("Filigree: `Embedder.mark` on a uint8 luma plane", (fw["embed_luma"],
                  fc["embed_luma"]), None)
        speed_row("Filigree: `embed_frame` (stateless) RGB; detect one frame alone (`add_frame` + "
                  "`result()`)", (fw["embed_frame"], fc["embed_frame"]),
                  (fw["detect_single"], fc["detect_single"]))
        for m in PEER_METHODS:
            speed_row(f"invisible-watermark `{m}`: `encode` / `decode` (BGR)",
                      (t[m]["wall"]["embed"], t[m]["cpu"]["embed"]),
                      (t[m]["wall"]["detect"], t[m]["cpu"]["detect"]))
        w("")
        w(f"Filigree detect parts: `add_frame` {ms(fw['add_frame'])} ms/frame wall "
          f"({ms(fc['add_frame'])} CPU, median), `result()` {ms(fw['result'])} ms wall "
          f"({ms(fc['result'])} CPU) once for {fc['result_frames']} frames.")
        w("")
        w(f"Quality of the marked frames (all {res['frames']}), each method at its default strength:")
        w("")
        w("| method | luma PSNR dB, mean (min) | luma SSIM, mean | R'G'B' PSNR dB, mean |")
        w("|---|---|---|---|")
        for m in METHODS:
            qm = q[m]
            label = "Filigree" if m == "filigree" else f"invisible-watermark `{m}`"
            w(f"| {label} | {qm['psnr']:.2f} ({qm['psnr_min']:.2f}) | {qm['ssim']:.4f} | "
              f"{qm['psnr_rgb']:.2f} |")
        w("")

    # ---- robustness
    for res in results:
        clip = res["clip"]
        n = res["frames"]
        w(f"## {clip.title}: robustness ({n} frames)")
        w("")
        w("Filigree: *clip* = one detector over all the clip's frames; *per frame* = each frame "
          "detected alone (share with the exact ID; a wrong ID is counted separately). "
          "Peers: *bits* = mean bit accuracy per frame; *ID/frame* = share of frames with all 32 "
          "bits right; *vote* = per-bit majority over the clip's frames (its best clip-level "
          "case).")
        w("")
        w("| attack | peer sees | Filigree clip | Filigree per frame | dwtDct bits | dwtDct ID/frame "
          "| dwtDct vote | dwtDctSvd bits | dwtDctSvd ID/frame | dwtDctSvd vote |")
        w("|---|---|---|---|---|---|---|---|---|---|")
        for row in res["rows"]:
            control = row.attack.startswith("unmarked")
            first_view = row.filigree_clip is not None
            cells = [
                row.attack if first_view else "",
                row.view,
                fil_clip_cell(row.filigree_clip, control) if first_view else "(as above)",
                fil_frames_cell(row.filigree_frames, n, control, first_view),
            ]
            for m in PEER_METHODS:
                cells += peer_cells(row.peer[m], control)
            w("| " + " | ".join(cells) + " |")
        w("")

    w("![ID accuracy vs CRF](peer-accuracy-vs-crf.png)")
    w("")
    w("## How it was measured")
    w("")
    w("- **Frames.** Decoded with the `ffmpeg` binary to 8-bit R'G'B' (BT.709 matrix, limited "
      "range in the files), 1920x1080. Every method marks exactly these frames.")
    w("- **Embedding.** Filigree marks the clip with one `Embedder` (its stateful per-stream API), "
      "RGB in and out; the mark goes into luma. invisible-watermark gets the same frames as BGR "
      "(`WatermarkEncoder.set_watermark('bits', ...)`, `encode(bgr, method)`) at its default "
      "settings: with them `dwtDct` and `dwtDctSvd` both mark only the U (blue-difference) "
      "channel of OpenCV's YUV, i.e. chroma, which is why the R'G'B' PSNR is shown next to luma.")
    w("- **Attacks.** The whole marked clip is piped to `ffmpeg` as RGB and encoded with libx264 "
      "(preset medium, yuv420p, BT.709) at the given CRF, with the attack's filter first: "
      "`scale=640:360` (bicubic); `crop=1728:972` centred (90 % of each side, 19 % of the "
      "area); `eq=brightness=0.06:contrast=1.05`. Then it is decoded back to RGB. Filigree "
      "detects on the decoded frames as they are (640x360 and 1728x972 included: it needs no "
      "size). The peer cannot handle a size change: after the downscale its frames are scaled "
      "back to 1920x1080 (OpenCV bicubic) before decoding; after the crop it decodes the "
      "1728x972 frames as they are (the blind case) and, in a second row, the cropped frames "
      "pasted back at their original place on black (an oracle that knows the crop, given to "
      "the peer only).")
    w("- **Quality.** PSNR and SSIM between original and marked frames on luma Y' = 0.2126 R' + "
      "0.7152 G' + 0.0722 B' (BT.709, unrounded), peak 255, mean over the clip (min PSNR in "
      "brackets). SSIM is the standard Gaussian-window SSIM (11x11, sigma 1.5, K1 0.01, "
      "K2 0.03, mean over the valid region), implemented with numpy/OpenCV filters in "
      "`benches/peers/compare.py`, the same definition as Filigree's `metrics::ssim`. "
      "R'G'B' PSNR is over all three channels.")
    w("- **Timing.** `time.perf_counter` (wall) and `time.thread_time` (CPU of the calling "
      "thread) around each call, the same frames for every method, 2 "
      f"warm-up frames then the median of {args.timing_frames}; one thread each (`OMP_NUM_THREADS=1`, "
      "`cv2.setNumThreads(1)`; Filigree's mark and detect are single-threaded). Embed times "
      "include each API's own colour conversion (Filigree: RGB to Y' and back; peer: BGR to "
      "YUV and back). Filigree detect per frame = median `add_frame` + `result()` divided by "
      "the frames it covered. The machine is shared (see the load average above): wall "
      "times include waiting for a core, CPU times do not, so the CPU columns are the ones to "
      "compare across runs.")
    w("- **Control.** The unmarked original frames, decoded with each method: Filigree should "
      "answer \"no mark\"; the peer always returns 32 bits (it has no notion of \"no mark\" "
      "and no false-positive probability), so its agreement with the payload there is chance.")
    if IMWATERMARK_STUBBED:
        w("- **Install note.** invisible-watermark is installed with `pip install --no-deps` "
          "(its declared dependencies include torch and onnxruntime, for RivaGAN only) plus "
          "opencv-python-headless, PyWavelets and Pillow. Its `watermark.py` imports the RivaGAN "
          "module, which imports torch, at import time; the script puts an empty stand-in "
          "module `imwatermark.rivaGan` into `sys.modules` before importing it. dwtDct and "
          "dwtDctSvd do not use that module; RivaGAN is not benchmarked.")
    w("- **Plot.** `docs/peer-accuracy-vs-crf.png`: ID accuracy after H.264 at CRF 23/28/32 (and "
      "the unattacked frames) for each method and clip: per frame (solid) and per clip "
      "(dashed: Filigree's detector over the clip, the peers' majority vote).")
    w("")
    w("Rerun: `scripts/peer-benchmark` (see `benches/peers/compare.py` for options).")
    w("")
    return "\n".join(out)


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results) + 2.5, 4.6),
                             squeeze=False)
    xs_labels = ["no codec", "23", "28", "32"]
    names = ["none (marked frames, no codec)", "H.264 CRF 23", "H.264 CRF 28", "H.264 CRF 32"]
    colours = {"filigree": "tab:green", "dwtDct": "tab:blue", "dwtDctSvd": "tab:orange"}
    for ax, res in zip(axes[0], results):
        by_name = {r.attack: r for r in res["rows"] if r.filigree_clip is not None}
        rows = [by_name[nm] for nm in names]
        n = res["frames"]
        x = np.arange(len(rows), dtype=float)
        # Small sideways offsets so that coinciding lines stay visible.
        dx = {"filigree": -0.05, "dwtDct": 0.0, "dwtDctSvd": 0.05}
        ax.plot(x + dx["filigree"], [r.filigree_frames[0] / n for r in rows], "o-",
                color=colours["filigree"], label="Filigree, per frame")
        ax.plot(x + dx["filigree"],
                [1.0 if r.filigree_clip.recipient == PAYLOAD else 0.0 for r in rows], "s--",
                color=colours["filigree"], label=f"Filigree, clip ({n} frames, one detector)")
        for m in PEER_METHODS:
            ax.plot(x + dx[m], [r.peer[m]["id_acc"] for r in rows], "o-", color=colours[m],
                    label=f"{m}, per frame")
            ax.plot(x + dx[m], [1.0 if r.peer[m]["vote_ok"] else 0.0 for r in rows], "s--",
                    color=colours[m], alpha=0.7, label=f"{m}, clip (per-bit majority vote)")
        ax.set_xticks(np.arange(len(rows)), xs_labels)
        ax.set_xlabel("H.264 CRF (libx264, preset medium)")
        ax.set_ylabel("exact 32-bit ID accuracy")
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(f"{res['clip'].title}, 1920x1080")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle("Exact 32-bit ID accuracy vs H.264 CRF (Filigree vs invisible-watermark)",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=48, help="frames per clip for the attack tests")
    ap.add_argument("--timing-frames", type=int, default=10, help="timed frames (after 2 warm-up)")
    ap.add_argument("--clips", default="bbb,tos", help="comma-separated: bbb, tos")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    ap.add_argument("--plot", type=Path, default=REPO / "docs" / "peer-accuracy-vs-crf.png")
    args = ap.parse_args()
    if args.frames < args.timing_frames + 2:
        ap.error("--frames must be at least --timing-frames + 2")
    if shutil.which("ffmpeg") is None:
        raise SystemExit("ffmpeg is not on PATH")

    started = time.perf_counter()
    load_start = os.getloadavg()[0]

    def log(msg: str) -> None:
        print(f"{time.perf_counter() - started:7.1f}s {msg}", flush=True)

    catalogue = clip_catalogue()
    clips = [catalogue[c.strip()] for c in args.clips.split(",") if c.strip()]
    results = []
    with tempfile.TemporaryDirectory(prefix="filigree-peers-") as tmpdir:
        tmp = Path(tmpdir)
        key = benchmark_key(tmp)
        for clip in clips:
            results.append(run_clip(clip, args.frames, args.timing_frames, key, tmp, log))
    elapsed = time.perf_counter() - started
    facts = machine_facts()
    text = report(results, facts, args, elapsed, (load_start, os.getloadavg()[0]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    plot(results, args.plot)
    log(f"wrote {rel(args.out)} and {rel(args.plot)}")


if __name__ == "__main__":
    main()
