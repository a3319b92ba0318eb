"""Two-step packages from Python: prepared on a Dask LocalCluster of two workers, a
session's copy assembled by stream copy, and the session detected in a re-encoded leak."""

import subprocess
from pathlib import Path

import pytest

import filigree

from conftest import CAMINANDES, TOS

import dask.distributed as distributed
import filigree.dask


def master(tmp_path: Path) -> Path:
    """A 40 s title: the two 360p clips, twice."""
    out = tmp_path / "title.mp4"
    inputs = [arg for clip in (TOS, CAMINANDES, TOS, CAMINANDES) for arg in ("-i", str(clip))]
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, "-filter_complex",
         "[0:v][1:v][2:v][3:v]concat=n=4:v=1[v]", "-map", "[v]", "-c:v", "libx264",
         "-crf", "12", "-preset", "veryfast", str(out)],
        check=True,
    )
    return out


def test_a_package_prepared_on_dask_serves_a_session_copy_that_detects_to_its_session(tmp_path):
    src = master(tmp_path)
    key = filigree.Key.generate()
    key_path = tmp_path / "studio.key"
    key.save(key_path)
    package = tmp_path / "package"
    plan = dict(title_id=9, position_seconds=0.5, ladder=[360], crf=23, preset="veryfast")
    ranges = filigree.plan_ranges(src, position_seconds=0.5, positions_per_range=25)
    assert [r[0] for r in ranges] == [0, 25, 50, 75]

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        manifest = filigree.dask.prepare(client, src, package, key_path,
                                         positions_per_task=25, **plan)
    assert manifest["title_id"] == 9
    assert manifest["frames"] == 960
    assert [r["name"] for r in manifest["renditions"]] == ["360p"]
    assert len(list((package / "ranges").glob("*.json"))) == 4
    assert len(list((package / "a" / "360p").glob("*.m4s"))) == 80

    copy = tmp_path / "session.mp4"
    summary = filigree.session_mp4(package, key, 0x5EED1234, copy)
    assert summary["rendition"] == "360p"
    leak = tmp_path / "leak.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(copy), "-vf", "scale=1280:720",
         "-c:v", "libx264", "-crf", "28", str(leak)],
        check=True,
    )
    found = filigree.detect_file(leak, key)
    assert found.recipient is None
    assert found.session == "5eed1234", found.two_step
    assert found.found
    assert found.two_step["decode"] == "identified"
    assert found.two_step["title_id"] == 9
    assert found.false_positive_probability < 1e-9

    # The same leak under another key: no watermark, and not read as two-step.
    assert not filigree.detect_file(leak, filigree.Key.generate()).found


def test_bad_ranges_and_a_missing_package_are_clear_errors(tmp_path):
    key_path = tmp_path / "k.key"
    filigree.Key.generate().save(key_path)
    with pytest.raises(filigree.InvalidInputError):
        filigree.prepare_range(TOS, tmp_path / "p", key_path, positions=(5, 5))
    with pytest.raises(filigree.FiligreeError, match="no prepared ranges"):
        filigree.finalize(TOS, tmp_path / "nothing", key_path)
