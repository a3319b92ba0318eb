"""Type stubs for filigree (the native module ``filigree._filigree``)."""

import os
from typing import Any, Final, TypedDict

import numpy as np
import numpy.typing as npt

__version__: Final[str]

_Path = str | os.PathLike[str]
_Frame = npt.NDArray[np.uint8] | npt.NDArray[np.uint16]

class OverlayOptions(TypedDict, total=False):
    """The dict form of ``overlay=`` (for type checkers only; every key optional; a plain str
    is the template alone).

    ``template``: text with ``{recipient}``, ``{label}``, ``{session}``, ``{date}``,
    ``{time}``, ``{timecode}``, ``{frame}`` (default ``"{label} {session} {timecode}"``);
    ``size``: line height as a fraction of the frame height, (0, 0.5] (default 0.04);
    ``opacity``: 0-1 (default 0.6); ``color``: ``"RRGGBB"`` or ``(r, g, b)`` (default white);
    ``style``: ``"outline"`` (default), ``"shadow"``, ``"none"``; ``position``:
    ``"top-left"``, ``"top-right"``, ``"bottom-left"``, ``"bottom-right"`` (default),
    ``"center"``, ``"tiled"``, ``"moving"``; ``session``: the ID shown by ``{session}``
    (default random); ``label``: shown by ``{label}``. Bad values raise
    ``InvalidInputError``."""

    template: str
    size: float
    opacity: float
    color: str | tuple[int, int, int]
    style: str
    position: str
    session: str
    label: str

_Overlay = str | OverlayOptions

class FiligreeError(Exception):
    """Base class of every error Filigree raises."""

class InvalidInputError(FiligreeError, ValueError):
    """Wrong array shape or dtype, frame too small or resized, strength or bit depth out of
    range, malformed key file."""

class FileAccessError(FiligreeError, OSError):
    """A file could not be read or written, or the output already exists."""

class VideoError(FiligreeError):
    """Not a readable video (or no video stream or frames), or encoding failed."""

class LedgerError(FiligreeError):
    """The ledger is damaged, or the entry could not be appended."""

class Key:
    """A 256-bit secret watermarking key; ``repr()`` shows only the fingerprint."""

    @staticmethod
    def generate() -> Key:
        """A new key from the operating system's secure random source."""

    @staticmethod
    def load(path: _Path) -> Key:
        """Reads a key file written by ``Key.save`` or ``filigree keygen``."""

    def save(self, path: _Path) -> None:
        """Writes the key to a new file with mode 0600; never overwrites."""

    @property
    def fingerprint(self) -> str:
        """Public identifier of the key: 16 hex digits, safe to log."""

    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class Detection:
    """What detection found."""

    @property
    def found(self) -> bool:
        """True when a recipient ID was recovered."""
    @property
    def recipient(self) -> int | None:
        """The recovered recipient ID, or None ("no watermark for this key")."""
    @property
    def false_positive_probability(self) -> float | None:
        """Chance that unmarked or differently keyed content gives a detection this strong."""
    @property
    def frames_used(self) -> int:
        """Frames accumulated."""
    @property
    def sync_z(self) -> float:
        """Height of the strongest synchronisation peak, in standard deviations."""
    @property
    def sync_p_value(self) -> float:
        """Probability of a synchronisation peak this high on unmarked content."""
    @property
    def magnification(self) -> float:
        """How much larger the pattern appeared than in an uncropped ``picture``."""
    @property
    def aspect(self) -> float:
        """The columns' scale relative to the rows' (1 unless squeezed or stretched)."""
    @property
    def rotation_degrees(self) -> float:
        """Rotation of the leak's picture, degrees counter-clockwise."""
    @property
    def tracked(self) -> bool:
        """Whether the picture's outline was tracked frame by frame (a handheld camera)
        and the mark read in the picture's own coordinates."""
    @property
    def reflection(self) -> str:
        """``"none"``, ``"mirror"``, ``"flip"`` or ``"half turn"``."""
    @property
    def picture(self) -> tuple[float, float, float, float] | None:
        """The picture the geometry is measured against: ``(left, top, width, height)``
        as fractions of the frame."""
    @property
    def seconds_analyzed(self) -> float | None:
        """Seconds of video analysed (``detect_file`` only)."""
    @property
    def session(self) -> str | None:
        """A two-step leak's session ID (8 hex digits), when identified (``detect_file``)."""
    @property
    def two_step(self) -> dict[str, Any] | None:
        """A file read as a two-step leak: ``title_id``, ``decode``, ``positions_read``,
        ``seconds_needed``, ``false_positive_probability``, ``mark_false_positive_probability``,
        ``windows_decoded``; ``None`` when not read as one."""
    @property
    def mark_present(self) -> bool:
        """A mark is present under the key (a recipient decoded, or the sync stands out);
        with no recipient this means "unreadable or mixed", not "no watermark"."""
    @property
    def mixed_with(self) -> list[int]:
        """Further recipients decoded once the stronger ones' marks were cancelled."""
    @property
    def accused(self) -> list[dict[str, Any]]:
        """``detect_file(..., ledger=...)``: accused recipients and sessions, each with its
        false-accusation probability and time ranges."""
    @property
    def timeline(self) -> list[tuple[int, list[tuple[float, float]]]]:
        """Recipients decoded from windows of the leak, with their time ranges."""
    @property
    def key_fingerprint(self) -> str | None:
        """``detect_file``: fingerprint of the key the answer is under."""
    @property
    def keys_tried(self) -> int:
        """Keys tried; every probability is charged for all of them."""
    @property
    def stopped_early(self) -> bool:
        """``detect_file``: reading stopped at an early look with a certain verdict."""
    @property
    def looks(self) -> int:
        """``detect_file``: looks the read could make (every probability is charged for
        all); 1 with ``full=True``."""
    @property
    def informed(self) -> tuple[int, float, tuple[float, float]] | None:
        """``detect_file(..., reference=...)``: frames registered to the master, their mean
        thumbnail correlation, and the master seconds they matched."""

class Embedder:
    """Marks the frames of one stream for one recipient, keeping the stream's state."""

    def __init__(
        self,
        key: Key,
        recipient: int,
        width: int,
        height: int,
        strength: float | None = None,
        overlay: _Overlay | None = None,
    ) -> None:
        """With ``overlay``, marked frames are frames 0, 1, 2, ... of a 25 fps stream."""
    def mark(self, frame: _Frame, *, bit_depth: int | None = None) -> _Frame:
        """Marks the next frame (display order) and returns the marked copy."""
    @property
    def recipient(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...

class Detector:
    """Accumulates suspect frames and detects the recipient under one key."""

    def __init__(self, key: Key) -> None: ...
    def add_frame(self, frame: _Frame, *, bit_depth: int | None = None) -> None:
        """Adds one suspect frame (RGB frames are read through their luma)."""
    @property
    def frames(self) -> int:
        """Frames added so far."""
    def result(self) -> Detection:
        """Searches the accumulated frames for the mark."""

def embed_frame(
    frame: _Frame,
    key: Key,
    recipient: int,
    strength: float | None = None,
    overlay: _Overlay | None = None,
    *,
    bit_depth: int | None = None,
) -> _Frame:
    """Marks one frame for ``recipient`` and returns the marked copy (input untouched).

    ``frame``: (H, W, 3) uint8 full-range RGB, or (H, W) uint8 / uint16 luma (uint16 is
    10-bit unless ``bit_depth`` says otherwise). ``overlay``: visible text burned in before
    the mark (see ``OverlayOptions``); the frame is frame 0 of a 25 fps stream.
    """

class EmbedSummary(TypedDict):
    """What ``embed_file`` returns (a plain dict; this name exists for type checkers only)."""

    recipient: int
    label: str | None
    key_fingerprint: str
    output: str
    frames: int
    width: int
    height: int
    pixel_format: str
    output_pixel_format: str
    seconds: float
    frames_per_second: float
    ledger_seq: int | None
    skipped_streams: list[str]
    marked_on: str

def embed_file(
    src: _Path,
    dst: _Path,
    key: Key,
    recipient: int,
    *,
    overlay: _Overlay | None = None,
    ledger: _Path | None = None,
    label: str | None = None,
    crf: int | None = None,
    codec: str = "libx264",
    preset: str | None = None,
    pix_fmt: str | None = None,
    strength: float | None = None,
    overwrite: bool = False,
    gpu: bool = False,
) -> EmbedSummary:
    """Marks the video ``src`` for ``recipient`` and writes ``dst``; appends a ledger entry
    when ``ledger`` is given. ``overlay``: visible text burned into every frame before the
    mark (see ``OverlayOptions``; ``{label}`` defaults to ``label``). ``gpu=True`` marks on
    the GPU, or warns (``RuntimeWarning``) and uses the CPU where there is none."""

def detect_file(
    path: _Path,
    key: Key,
    *,
    keys: list[Key] | None = None,
    max_seconds: float | None = None,
    ledger: _Path | None = None,
    false_accusation: float = 1e-9,
    full: bool = False,
    report: _Path | None = None,
    reference: _Path | None = None,
    sign: _Path | None = None,
) -> Detection:
    """Detects the recipient in the video at ``path`` under ``key`` (and ``keys``), its
    first ``max_seconds`` if given; stops at an early look once certain unless ``full``;
    with ``ledger`` accuses colluders; ``report`` writes the evidence report (HTML, and its
    facts as JSON beside it); ``reference`` (the original master) makes it informed."""

def prepare_range(
    src: _Path,
    package: _Path,
    key_path: _Path,
    *,
    positions: tuple[int, int] | None = None,
    title_id: int = 0,
    position_seconds: float = 2.0,
    ladder: list[int] = ...,
    crf: int = 21,
    preset: str = "medium",
    strength: float = 1.0,
) -> dict[str, Any]:
    """Prepares positions ``(first, end)`` (all when None) of ``src`` into a two-step
    package folder; the key is read from ``key_path`` (so only a path crosses a cluster)."""

def finalize(src: _Path, package: _Path, key_path: _Path) -> dict[str, Any]:
    """Merges the prepared ranges into the package; returns its manifest."""

def plan_ranges(
    src: _Path, *, position_seconds: float = 2.0, positions_per_range: int = 30
) -> list[tuple[int, int]]:
    """Position ranges covering ``src`` for independent workers."""

def session_mp4(
    package: _Path, key: Key, session: int, dst: _Path, *, rendition: str | None = None
) -> dict[str, Any]:
    """Writes a session's copy of one rendition by stream copy."""

__all__: list[str]

class ReportVerification:
    """What ``verify_report`` found; each check is ``None`` when it did not run."""

    ok: bool
    signature: str  # "valid", "invalid" or "unsigned"
    signer: str | None
    leak_matches: bool | None
    ledger_extends: bool | None
    same_answer: bool | None
    same_probabilities: bool | None
    lines: list[str]

def verify_report(
    path: _Path,
    leak: _Path | None = None,
    key: Key | None = None,
    ledger: _Path | None = None,
    *,
    keys: list[Key] | None = None,
    reference: _Path | None = None,
    signer: str | None = None,
) -> ReportVerification:
    """Checks the signature of the evidence report at ``path``; with ``leak`` its SHA-256;
    with ``leak`` and ``key`` re-runs the detection and compares the answer and
    probabilities; with ``ledger`` that it still extends the head the report names."""

def generate_evidence_key(path: _Path) -> str:
    """Writes a new Ed25519 evidence key (mode 0600, never overwrites); returns its
    fingerprint."""
