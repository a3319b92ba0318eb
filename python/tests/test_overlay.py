"""The visible overlay from Python: embed_frame, Embedder and embed_file with overlay=."""

import numpy as np
import pytest

import filigree
from conftest import CAMINANDES, TOS, decode


def region_means(before: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    """Mean |change| in the bottom-right corner of a 640x360 frame (where the default
    overlay's text goes) and the 99th percentile of |change| in the top-left (no text: only
    the invisible mark, whose largest changes on textured live action reach ~8)."""
    diff = np.abs(after.astype(np.int16) - before.astype(np.int16))
    corner = diff[300:350, 420:630]
    far = diff[:120, :210]
    return float(corner.mean()), float(np.percentile(far, 99))


def test_embed_frame_overlay_on_rgb_frame(key):
    frame = decode(TOS, start=5.0)[0]
    marked = filigree.embed_frame(
        frame, key, 77, overlay={"template": "REVIEW COPY {recipient}", "opacity": 1.0,
                                 "size": 0.08}
    )
    assert marked.shape == frame.shape and marked.dtype == np.uint8
    corner, far_max = region_means(frame, marked)
    assert corner > 10  # the text, plainly visible
    assert far_max <= 6  # only the invisible mark away from the text
    plain = filigree.embed_frame(frame, key, 77)
    np.testing.assert_array_equal(marked[:120, :210], plain[:120, :210])


def test_overlay_frame_still_detected(key):
    frames = decode(CAMINANDES, frames=4, start=2.0)
    embedder = filigree.Embedder(key, 4242, 640, 360, overlay="SCREENER {recipient} {timecode}")
    detector = filigree.Detector(key)
    marked = [embedder.mark(f) for f in frames]
    for before, after in zip(frames, marked):
        corner, far_max = region_means(before, after)
        assert corner > 3 and far_max <= 6
    single = filigree.Detector(key)
    single.add_frame(filigree.embed_frame(frames[0], key, 4242, overlay="SCREENER {recipient}"))
    assert single.result().recipient == 4242
    for f in marked:
        detector.add_frame(f)
    assert detector.result().recipient == 4242
    # The timecode advances per marked frame: frames 0 and 3 differ in the text region.
    assert not np.array_equal(
        (marked[0].astype(np.int16) - frames[0])[330:, 400:],
        (marked[3].astype(np.int16) - frames[3])[330:, 400:],
    )


def test_overlay_on_luma_planes(key):
    gray = decode(CAMINANDES, pix_fmt="gray", start=2.0)[0]
    marked = filigree.embed_frame(gray, key, 5, overlay={"template": "X {recipient}",
                                                        "position": "top-left",
                                                        "opacity": 1.0, "size": 0.1})
    diff = np.abs(marked.astype(np.int16) - gray)
    assert diff[:50, :80].mean() > 5
    plain = filigree.embed_frame(gray, key, 5)
    np.testing.assert_array_equal(marked[200:, 400:], plain[200:, 400:])
    ten = decode(CAMINANDES, pix_fmt="gray10le", start=2.0)[0]
    marked10 = filigree.embed_frame(ten, key, 5, overlay={"color": (255, 0, 0),
                                                         "style": "shadow"})
    assert marked10.dtype == np.uint16 and marked10.max() <= 1023
    assert np.abs(marked10.astype(np.int32) - ten)[300:, 400:].mean() > 2


def test_embed_file_with_overlay(key, tmp_path):
    out = tmp_path / "review.mp4"
    summary = filigree.embed_file(CAMINANDES, out, key, 321, overlay="REVIEW COPY {recipient}",
                                  label="critic")
    assert summary["frames"] > 0
    assert filigree.detect_file(out, key).recipient == 321
    plain = decode(CAMINANDES, start=1.0)[0].astype(np.int16)
    shown = decode(out, start=1.0)[0].astype(np.int16)
    assert np.abs(shown - plain)[int(360 * 0.85):, int(640 * 0.6):].mean() > 3


@pytest.mark.parametrize(
    "overlay, message",
    [
        ({"position": "middle"}, "position"),
        ({"style": "glow"}, "style"),
        ({"color": "fff"}, "color"),
        ({"color": (255, 0, 300)}, "color"),
        ({"color": (1, 2)}, "color"),
        ({"opacity": 1.5}, "opacity"),
        ({"size": 0}, "size"),
        ({"size": "big"}, "size"),
        ({"template": "{nobody}"}, "nobody"),
        ({"font": "serif"}, "font"),
        ({"session": 7}, "session"),
        (42, "template string or a dict"),
    ],
)
def test_invalid_overlay_options(key, overlay, message):
    frame = decode(CAMINANDES)[0]
    with pytest.raises(filigree.InvalidInputError, match=message):
        filigree.embed_frame(frame, key, 1, overlay=overlay)
    with pytest.raises(ValueError, match=message):
        filigree.Embedder(key, 1, 640, 360, overlay=overlay)


def test_invalid_overlay_in_embed_file(key, tmp_path):
    out = tmp_path / "out.mp4"
    with pytest.raises(ValueError, match="opacity"):
        filigree.embed_file(CAMINANDES, out, key, 1, overlay={"opacity": -1})
    assert not out.exists()
