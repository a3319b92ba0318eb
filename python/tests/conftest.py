"""Shared helpers: real frames from testdata/, decoded by Debian's ffmpeg binary."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import filigree

TESTDATA = Path(__file__).resolve().parents[2] / "testdata"
CAMINANDES = TESTDATA / "caminandes_360p24_10s.mp4"  # animation, 640x360
TOS = TESTDATA / "tos_360p24_10s.mp4"  # live action, 640x360
BBB_720P = TESTDATA / "bbb_720p25_5s.mp4"  # animation, 1280x720
STILLS = TESTDATA / "stills"

if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
    pytest.exit("the tests need Debian's ffmpeg and ffprobe (scripts/setup-debian)", 2)


def frame_size(path: Path) -> tuple[int, int]:
    """(width, height) of the first video stream."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=width,height", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout
    stream = json.loads(out)["streams"][0]
    return stream["width"], stream["height"]


def decode(path: Path, frames: int = 1, pix_fmt: str = "rgb24", start: float = 0.0) -> np.ndarray:
    """The first `frames` frames of `path` (from `start` seconds) as a numpy array:
    (N, H, W, 3) uint8 for rgb24, (N, H, W) uint8 for gray, (N, H, W) uint16 for gray10le."""
    width, height = frame_size(path)
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", *(["-ss", str(start)] if start else []), "-i", str(path),
         "-frames:v", str(frames),
         "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"],
        check=True, capture_output=True,
    ).stdout
    if pix_fmt == "rgb24":
        return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3).copy()
    if pix_fmt == "gray":
        return np.frombuffer(raw, np.uint8).reshape(-1, height, width).copy()
    if pix_fmt == "gray10le":
        return np.frombuffer(raw, "<u2").astype(np.uint16).reshape(-1, height, width)
    raise ValueError(pix_fmt)


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(peak**2 / mse))


@pytest.fixture(scope="session")
def key() -> filigree.Key:
    return filigree.Key.generate()


@pytest.fixture(scope="session")
def other_key() -> filigree.Key:
    return filigree.Key.generate()
