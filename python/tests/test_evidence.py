"""Signed evidence from Python: a report signed with an evidence key, checked and re-run by
``verify_report`` from the leak file; an edited report or another file as the leak fail."""

import json
import os
import stat
import subprocess

import pytest
from conftest import CAMINANDES

import filigree


@pytest.fixture(scope="module")
def signed_case(tmp_path_factory):
    """A 4 s marked copy of the clip, its CRF 28 leak, and a signed report of its detection."""
    tmp = tmp_path_factory.mktemp("evidence")
    key = filigree.Key.generate()
    master = tmp / "master.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(CAMINANDES), "-t", "4", "-c", "copy", str(master)],
        check=True,
    )
    marked = tmp / "marked.mp4"
    filigree.embed_file(master, marked, key, 42, preset="veryfast")
    leak = tmp / "leak.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(marked), "-c:v", "libx264", "-crf", "28",
         "-preset", "veryfast", "-an", str(leak)],
        check=True,
    )
    evidence_key = tmp / "evidence.key"
    fingerprint = filigree.generate_evidence_key(evidence_key)
    report = tmp / "case-42.html"
    found = filigree.detect_file(leak, key, report=report, sign=evidence_key)
    assert found.recipient == 42
    return key, leak, evidence_key, fingerprint, report.with_suffix(".json")


def test_a_signed_report_verifies_and_reproduces(signed_case):
    key, leak, evidence_key, fingerprint, report = signed_case
    assert stat.S_IMODE(os.stat(evidence_key).st_mode) == 0o600
    facts = json.loads(report.read_text())
    assert facts["signature"]["key_fingerprint"] == fingerprint
    assert facts["signature"]["algorithm"] == "Ed25519"

    alone = filigree.verify_report(report)
    assert alone.ok and alone.signature == "valid" and alone.signer == fingerprint
    assert alone.leak_matches is None and alone.same_answer is None

    full = filigree.verify_report(report, leak=leak, key=key, signer=fingerprint)
    assert full.ok, full.lines
    assert full.leak_matches and full.same_answer and full.same_probabilities
    assert any("same answer: recipient 42" in line for line in full.lines)


def test_tampering_and_the_wrong_leak_fail(signed_case, tmp_path):
    key, leak, _, fingerprint, report = signed_case
    facts = json.loads(report.read_text())
    facts["verdict"]["recipient"] = 43
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(facts, indent=2))
    result = filigree.verify_report(edited)
    assert not result.ok and result.signature == "invalid"

    wrong = filigree.verify_report(report, leak=CAMINANDES, key=key)
    assert not wrong.ok and wrong.leak_matches is False and wrong.same_answer is None

    pinned = filigree.verify_report(report, signer="0123456789abcdef")
    assert not pinned.ok and pinned.signer is None

    with pytest.raises(filigree.FiligreeError):
        filigree.verify_report(CAMINANDES)
    with pytest.raises(OSError):
        filigree.verify_report(tmp_path / "missing.json")
    with pytest.raises(ValueError):
        # A marking key is not an evidence key.
        marking = tmp_path / "marking.key"
        key.save(marking)
        filigree.detect_file(leak, key, report=tmp_path / "x.html", sign=marking)
