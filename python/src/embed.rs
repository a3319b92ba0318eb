//! `filigree.embed_frame` and `filigree.Embedder`: marking numpy frames.

use std::sync::Mutex;

use filigree::EmbedConfig;
use filigree::overlay::Overlay;
use pyo3::prelude::*;

use crate::errors::{Kind, to_py};
use crate::frames::{Frame, FrameError};
use crate::key::PyKey;
use crate::overlay::OverlayOptions;

/// A recipient ID from Python: 0..=4294967295.
pub(crate) fn recipient_id(recipient: i64) -> PyResult<u32> {
    u32::try_from(recipient).map_err(|_| {
        Kind::InvalidInput.err(format!(
            "recipient {recipient} is out of range: it must be 0..=4294967295"
        ))
    })
}

/// The embedding options for an optional strength (`None`: the default, 1.0).
pub(crate) fn embed_config(strength: Option<f32>) -> EmbedConfig {
    strength.map_or_else(EmbedConfig::default, |strength| EmbedConfig { strength })
}

fn dimension(value: i64, name: &str) -> PyResult<usize> {
    usize::try_from(value)
        .map_err(|_| Kind::InvalidInput.err(format!("{name} must not be negative, got {value}")))
}

/// Marks one frame for ``recipient`` and returns the marked copy; ``frame`` is not modified.
///
/// ``frame`` is an (H, W, 3) uint8 full-range RGB picture, or an (H, W) luma plane: uint8
/// (8-bit) or uint16 (10-bit unless ``bit_depth`` says otherwise). The result has the same
/// shape and dtype.
///
/// RGB frames are marked through their luma Y' (BT.709 weights when H >= 720, else BT.601):
/// the mark is computed on Y' and the same change is added to R, G and B, which changes Y'
/// by that amount and leaves Cb and Cr unchanged up to rounding and clamping.
///
/// Each call starts a fresh marker, so the perceptual mask is not smoothed over time. For
/// video, use ``Embedder`` (one per stream, frames in display order) or ``embed_file``.
///
/// ``strength`` scales the mark (1.0, the default, is about 44 dB luma PSNR; at most 8).
///
/// ``overlay`` burns visible text in before the invisible mark (which then covers it too):
/// a template string such as ``"REVIEW COPY {recipient}"`` with every other option at its
/// default, or a dict with any of ``template``, ``size`` (line height as a fraction of the
/// frame height, default 0.04), ``opacity`` (0-1, default 0.6), ``color`` (``"RRGGBB"`` or
/// ``(r, g, b)``, default white), ``style`` (``"outline"``, ``"shadow"``, ``"none"``),
/// ``position`` (``"top-left"``, ``"top-right"``, ``"bottom-left"``, ``"bottom-right"``
/// (default), ``"center"``, ``"tiled"``, ``"moving"``), ``session`` (the ID shown by
/// ``{session}``, default random) and ``label``. The frame is frame 0 of a 25 fps stream
/// for ``{timecode}`` and ``{frame}``. RGB frames are composited in R'G'B'; luma planes
/// (read as video-range Y') get the text's luma only. Bad options raise
/// ``InvalidInputError``.
///
/// The GIL is released while marking.
#[pyfunction]
#[pyo3(signature = (frame, key, recipient, strength=None, overlay=None, *, bit_depth=None))]
pub(crate) fn embed_frame<'py>(
    py: Python<'py>,
    frame: &Bound<'py, PyAny>,
    key: &PyKey,
    recipient: i64,
    strength: Option<f32>,
    overlay: Option<&Bound<'py, PyAny>>,
    bit_depth: Option<u8>,
) -> PyResult<Bound<'py, PyAny>> {
    let recipient = recipient_id(recipient)?;
    let overlay = OverlayOptions::from_py(overlay)?;
    let mut frame = Frame::from_numpy(frame, bit_depth)?;
    let key = &key.inner;
    py.detach(|| {
        let (width, height) = frame.size();
        let mut embedder =
            filigree::Embedder::new(key, recipient, width, height, &embed_config(strength))?;
        frame.track_picture(&mut embedder)?;
        if let Some(options) = &overlay {
            let mut overlay = options.build(key, recipient, width, height)?;
            frame.apply_overlay(&mut overlay, 0)?;
        }
        frame.mark(&mut embedder)
    })?;
    Ok(frame.into_numpy(py))
}

/// Marks the frames of one video stream for one recipient.
///
/// Keeps the stream's state (the perceptual mask, smoothed over time so the mark does not
/// flicker): use one ``Embedder`` per stream and call ``mark`` on every frame in display
/// order. Frames must all be ``width`` x ``height``; they may be RGB or luma planes as
/// ``embed_frame`` accepts.
#[pyclass(module = "filigree", name = "Embedder", frozen)]
pub struct PyEmbedder {
    inner: Mutex<Stream>,
    recipient: u32,
    width: usize,
    height: usize,
}

/// The state of one stream: the marker, the overlay and the index of the next frame.
struct Stream {
    embedder: filigree::Embedder,
    overlay: Option<Overlay>,
    next_frame: u64,
}

#[pymethods]
impl PyEmbedder {
    /// A marker for ``recipient`` under ``key`` for frames of ``width`` x ``height``.
    ///
    /// ``strength`` and ``overlay`` as for ``embed_frame``; with an overlay, the frames
    /// marked are frames 0, 1, 2, ... of a 25 fps stream, so ``{timecode}``, ``{frame}`` and
    /// a ``moving`` position advance with each ``mark``. Frames need at least 180 pixels on
    /// the shorter side (``InvalidInputError`` otherwise).
    #[new]
    #[pyo3(signature = (key, recipient, width, height, strength=None, overlay=None))]
    fn new(
        key: &PyKey,
        recipient: i64,
        width: i64,
        height: i64,
        strength: Option<f32>,
        overlay: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyEmbedder> {
        let recipient = recipient_id(recipient)?;
        let (width, height) = (dimension(width, "width")?, dimension(height, "height")?);
        let overlay = OverlayOptions::from_py(overlay)?;
        let embedder = filigree::Embedder::new(
            &key.inner,
            recipient,
            width,
            height,
            &embed_config(strength),
        )
        .map_err(to_py)?;
        let overlay = overlay
            .map(|options| options.build(&key.inner, recipient, width, height))
            .transpose()
            .map_err(to_py)?;
        Ok(PyEmbedder {
            inner: Mutex::new(Stream {
                embedder,
                overlay,
                next_frame: 0,
            }),
            recipient,
            width,
            height,
        })
    }

    /// Marks the next frame of the stream and returns the marked copy (the input is not
    /// modified). The GIL is released while marking; calls on one ``Embedder`` from several
    /// threads run one at a time.
    #[pyo3(signature = (frame, *, bit_depth=None))]
    fn mark<'py>(
        &self,
        py: Python<'py>,
        frame: &Bound<'py, PyAny>,
        bit_depth: Option<u8>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut frame = Frame::from_numpy(frame, bit_depth)?;
        py.detach(|| {
            let mut stream = self.inner.lock().map_err(|_| FrameError::Poisoned)?;
            let stream = &mut *stream;
            frame.track_picture(&mut stream.embedder)?;
            if let Some(overlay) = stream.overlay.as_mut() {
                frame.apply_overlay(overlay, stream.next_frame)?;
            }
            frame.mark(&mut stream.embedder)?;
            stream.next_frame += 1;
            Ok::<_, FrameError>(())
        })?;
        Ok(frame.into_numpy(py))
    }

    /// The recipient ID being embedded.
    #[getter]
    fn recipient(&self) -> u32 {
        self.recipient
    }

    /// Frame width in pixels.
    #[getter]
    fn width(&self) -> usize {
        self.width
    }

    /// Frame height in pixels.
    #[getter]
    fn height(&self) -> usize {
        self.height
    }

    fn __repr__(&self) -> String {
        format!(
            "Embedder(recipient={}, width={}, height={})",
            self.recipient, self.width, self.height
        )
    }
}
