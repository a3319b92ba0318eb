//! `filigree.embed_file` and `filigree.detect_file`: whole video files through the library's
//! pipeline (FFmpeg decode, mark or accumulate, encode), with the GIL released throughout.

use std::ffi::CString;
use std::path::PathBuf;

use filigree::pipeline::{self, EmbedJob};
use filigree::video::PixelFormat;
use filigree::video::ffmpeg::{Codec, EncodeOptions};
use filigree_gpu::{Gpu, GpuMarker};
use pyo3::exceptions::PyRuntimeWarning;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::detect::PyDetection;
use crate::embed::{embed_config, recipient_id};
use crate::errors::{Kind, to_py};
use crate::key::PyKey;
use crate::overlay::OverlayOptions;

/// Marks the video ``src`` for ``recipient`` and writes ``dst``; returns a summary dict.
///
/// Resolution, frame rate, timestamps, colour tags and bit depth are kept; audio and
/// subtitle streams are copied untouched. ``dst`` is written to a temporary file beside it
/// and renamed only on success; an existing ``dst`` is refused unless ``overwrite=True``.
/// A ``.y4m`` ``dst`` is written raw.
///
/// ``ledger``: path of a tamper-evident JSON Lines ledger (created if missing) to which an
/// entry for this copy is appended, with ``label`` (who the recipient is) — the same entry
/// ``filigree embed --ledger`` writes. A damaged ledger is refused before any work.
/// ``codec``: ``"libx264"``, ``"libx265"``, ``"prores_ks"``, ``"dnxhd"``, ``"libsvtav1"`` or
/// ``"libvpx-vp9"``; ``crf`` (default visually lossless, 17 for libx264, 19 for libx265; none
/// for ProRes and DNxHR); ``preset``: the encoder preset (default: the encoder's usual);
/// ``pix_fmt``: the output's pixel format, e.g. ``"yuv420p"`` (default: the source's, or the
/// encoder's closest; the mark is added before the conversion); ``strength`` as for
/// ``embed_frame``.
///
/// ``overlay``: visible text burned into every frame before the mark, as for
/// ``embed_frame`` (a template string or a dict of options), with the file's own frame rate
/// for ``{timecode}``; its ``{label}`` is the dict's ``label``, else ``label``.
///
/// ``gpu=True`` overlays and marks on the GPU (same output as the CPU to within one code
/// value). Without a GPU it warns (``RuntimeWarning``) and uses the CPU; software renderers
/// such as lavapipe count only when ``FILIGREE_GPU_ALLOW_SOFTWARE=1``.
///
/// The summary has ``recipient``, ``label``, ``key_fingerprint``, ``output``, ``frames``,
/// ``width``, ``height``, ``pixel_format`` (the source's), ``output_pixel_format``,
/// ``seconds``, ``frames_per_second``, ``ledger_seq`` (``None`` without a ledger), ``skipped_streams`` (input streams the
/// output container could not carry) and ``marked_on`` (``"CPU"`` or ``"GPU <adapter>"``).
#[pyfunction]
#[pyo3(signature = (
    src, dst, key, recipient, *, overlay=None, ledger=None, label=None, crf=None,
    codec="libx264", preset=None, pix_fmt=None, strength=None, overwrite=false, gpu=false
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn embed_file<'py>(
    py: Python<'py>,
    src: PathBuf,
    dst: PathBuf,
    key: &PyKey,
    recipient: i64,
    overlay: Option<&Bound<'py, PyAny>>,
    ledger: Option<PathBuf>,
    label: Option<String>,
    crf: Option<i64>,
    codec: &str,
    preset: Option<String>,
    pix_fmt: Option<&str>,
    strength: Option<f32>,
    overwrite: bool,
    gpu: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let gpu = match gpu {
        true => match Gpu::open_for_marking() {
            Ok(gpu) => Some(gpu),
            Err(e) => {
                let message = format!("{e}; marking on the CPU");
                PyErr::warn(
                    py,
                    &py.get_type::<PyRuntimeWarning>(),
                    &CString::new(message)?,
                    1,
                )?;
                None
            }
        },
        false => None,
    };
    let recipient = recipient_id(recipient)?;
    let overlay = OverlayOptions::from_py(overlay)?;
    let codec = Codec::from_name(codec).ok_or_else(|| {
        Kind::InvalidInput.err(format!("unknown codec {codec:?} (use {})", Codec::names()))
    })?;
    let pix_fmt = pix_fmt
        .map(|name| {
            PixelFormat::from_name(name)
                .ok_or_else(|| Kind::InvalidInput.err(format!("unknown pixel format {name:?}")))
        })
        .transpose()?;
    let crf = crf
        .map(|crf| {
            let max = codec.max_crf();
            u8::try_from(crf)
                .ok()
                .filter(|&crf| max.is_some_and(|max| crf <= max))
                .ok_or_else(|| {
                    Kind::InvalidInput.err(match max {
                        Some(max) => format!("crf {crf} is not in 0..={max}"),
                        None => format!("crf: {} has none", codec.encoder_name()),
                    })
                })
        })
        .transpose()?;
    let key = &key.inner;
    let job = EmbedJob {
        key,
        recipient,
        config: embed_config(strength),
        encode: EncodeOptions {
            codec,
            crf,
            preset,
            pix_fmt,
        },
        overwrite,
        measure_quality: false,
        overlay: overlay.as_ref().map(|options| options.config().clone()),
        session: overlay
            .as_ref()
            .map(|options| options.session_info(recipient, label.as_deref()))
            .transpose()
            .map_err(to_py)?,
        realtime: false,
        cancel: None,
    };
    let (report, entry) = py
        .detach(|| -> filigree::Result<_> {
            if let Some(ledger) = &ledger {
                pipeline::check_ledger_before_embed(ledger)?;
            }
            let report = match &gpu {
                Some(gpu) => pipeline::embed_file_with(
                    &src,
                    &dst,
                    &job,
                    &GpuMarker::factory(gpu),
                    &mut |_, _| {},
                )?,
                None => pipeline::embed_file(&src, &dst, &job, &mut |_, _| {})?,
            };
            let entry = match &ledger {
                Some(ledger) => Some(pipeline::record_in_ledger(
                    ledger,
                    key,
                    recipient,
                    label.as_deref(),
                    &src,
                    &dst,
                )?),
                None => None,
            };
            Ok((report, entry))
        })
        .map_err(to_py)?;

    let summary = PyDict::new(py);
    summary.set_item("recipient", recipient)?;
    summary.set_item("label", &label)?;
    summary.set_item("key_fingerprint", key.fingerprint())?;
    summary.set_item("output", dst.to_string_lossy())?;
    summary.set_item("frames", report.frames)?;
    summary.set_item("width", report.info.width)?;
    summary.set_item("height", report.info.height)?;
    summary.set_item("pixel_format", report.info.format.name())?;
    summary.set_item("output_pixel_format", report.output_format.name())?;
    summary.set_item("seconds", report.wall_seconds)?;
    summary.set_item(
        "frames_per_second",
        report.frames as f64 / report.wall_seconds.max(1e-9),
    )?;
    summary.set_item("ledger_seq", entry.map(|e| e.seq))?;
    summary.set_item("skipped_streams", report.skipped_streams)?;
    let marked_on = match &gpu {
        Some(gpu) => format!("GPU {}", gpu.description()),
        None => "CPU".to_string(),
    };
    summary.set_item("marked_on", marked_on)?;
    Ok(summary)
}

/// Detects the recipient in the video at ``path`` under ``key``.
///
/// Reads the whole video, or its first ``max_seconds`` (a positive number). Returns a
/// ``Detection`` with ``seconds_analyzed`` set. With ``ledger`` (the ledger the copies and
/// sessions were issued in), every issued recipient and session is scored against the leak
/// and ``Detection.accused`` lists the colluders, each with its false-accusation probability
/// (at most ``false_accusation``) and time ranges, as ``filigree detect --ledger`` does.
/// ``keys`` (a list of ``Key``) are tried too, on the same reading of the file: the answer
/// names the key it is under (``Detection.key_fingerprint``) and every probability is
/// charged for all keys tried. By default the evidence is looked at after 4, 8, 16 … s and
/// reading stops once one recipient is certain (``Detection.stopped_early``; every
/// probability is charged for each look the file allows, ``Detection.looks``), and past 32 s
/// only keyframes are decoded; ``full=True`` reads every frame to the end. ``report`` (a
/// path ending ``.html``) writes the evidence report there and its facts as JSON beside it
/// (same name, ``.json``), as ``filigree detect --report`` does. ``reference`` (the original
/// master) makes the detection informed: the leak is registered to the master, the master
/// subtracted and the residue detected (at most 120 s of the leak, every frame), for leaks
/// too short or damaged for a blind reading (``Detection.informed`` says how it matched).
/// ``sign`` (an evidence key file, ``filigree.generate_evidence_key``) signs the report's
/// facts, for ``filigree.verify_report``. The GIL is released while the file is read.
#[pyfunction]
#[pyo3(signature = (path, key, *, keys=None, max_seconds=None, ledger=None, false_accusation=1e-9, full=false, report=None, reference=None, sign=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn detect_file(
    py: Python<'_>,
    path: PathBuf,
    key: &PyKey,
    keys: Option<Vec<PyRef<'_, PyKey>>>,
    max_seconds: Option<f64>,
    ledger: Option<PathBuf>,
    false_accusation: f64,
    full: bool,
    report: Option<PathBuf>,
    reference: Option<PathBuf>,
    sign: Option<PathBuf>,
) -> PyResult<PyDetection> {
    if !(false_accusation > 0.0 && false_accusation < 1.0) {
        return Err(Kind::InvalidInput.err(format!(
            "false_accusation must be a probability between 0 and 1, got {false_accusation}"
        )));
    }
    if let Some(seconds) = max_seconds
        && !(seconds.is_finite() && seconds > 0.0)
    {
        return Err(Kind::InvalidInput.err(format!(
            "max_seconds must be a positive number of seconds, got {seconds}"
        )));
    }
    let mut ring = vec![key.inner.clone()];
    ring.extend(keys.iter().flatten().map(|k| k.inner.clone()));
    let (found, ring) = py
        .detach(|| -> filigree::Result<_> {
            let signer = sign
                .as_deref()
                .map(filigree::evidence::EvidenceKey::load)
                .transpose()?;
            let ring = pipeline::Keyring::new(ring, ledger.as_deref(), false_accusation)?;
            let plan = pipeline::ReadPlan {
                max_seconds,
                fast: !full,
                explain: report.is_some(),
            };
            let entries = ring.entries();
            let found = match &reference {
                Some(master) => {
                    pipeline::detect_file_informed(&path, master, &entries, &plan, &mut |_, _| {})?
                }
                None => pipeline::detect_file_with(&path, &entries, &plan, &mut |_, _| {})?,
            };
            if let Some(html) = &report {
                let key = ring.key(found.key_index).fingerprint();
                let label = found
                    .detection
                    .recipient
                    .and_then(|id| ring.label(found.key_index, id, None));
                let command_line = vec![format!("filigree.detect_file({})", path.display())];
                let fingerprints: Vec<String> = (0..found.keys_tried)
                    .map(|i| ring.key(i).fingerprint())
                    .collect();
                let case = filigree_report::Case {
                    suspect: &path,
                    found: &found,
                    key_fingerprint: &key,
                    label,
                    ledger: ledger.as_deref(),
                    command_line: &command_line,
                    verdict: &filigree_report::verdict(&found, label),
                    options: filigree_report::Options {
                        plan,
                        keys: &fingerprints,
                        false_accusation,
                        reference: reference.as_deref(),
                    },
                };
                filigree_report::write_signed(&case, html, signer.as_ref())?;
            }
            Ok((found, ring))
        })
        .map_err(to_py)?;
    Ok(
        PyDetection::new(&found.detection, Some(found.seconds_analyzed))
            .with_two_step(found.two_step.as_ref())
            .with_collusion(&found, &ring)
            .read_as(&found, ring.key(found.key_index).fingerprint()),
    )
}
