"""Filigree: forensic video watermarking.

Every recipient's copy of a video carries an invisible, keyed recipient ID in its luma. The
detector recovers the exact ID from a leaked copy after re-encoding, scaling, cropping and
frame-rate changes, and states a calibrated false-positive probability.

Frames are numpy arrays: (H, W, 3) uint8 RGB, or (H, W) uint8 / uint16 luma planes. Whole
files go through ``embed_file`` and ``detect_file``. All the work is done by the Rust
library; this package only converts types.
"""

from filigree._filigree import (
    Detection,
    Detector,
    Embedder,
    FileAccessError,
    FiligreeError,
    InvalidInputError,
    Key,
    LedgerError,
    ReportVerification,
    VideoError,
    __version__,
    detect_file,
    embed_file,
    embed_frame,
    finalize,
    generate_evidence_key,
    plan_ranges,
    prepare_range,
    session_mp4,
    verify_report,
)

__all__ = [
    "Detection",
    "Detector",
    "Embedder",
    "FileAccessError",
    "FiligreeError",
    "InvalidInputError",
    "Key",
    "LedgerError",
    "ReportVerification",
    "VideoError",
    "__version__",
    "detect_file",
    "embed_file",
    "embed_frame",
    "finalize",
    "generate_evidence_key",
    "plan_ranges",
    "prepare_range",
    "session_mp4",
    "verify_report",
]
