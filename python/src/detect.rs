//! `filigree.Detector` and `filigree.Detection`: reading the mark from numpy frames.

use std::sync::Mutex;

use filigree::pipeline::FileDetection;
use pyo3::prelude::*;

use crate::frames::{Frame, FrameError};
use crate::key::PyKey;

/// What detection found.
///
/// ``found`` is true when a recipient ID decoded and passed the keyed integrity check;
/// ``recipient`` is that ID (``None`` means "no watermark for this key") and
/// ``false_positive_probability`` the chance that unmarked or differently keyed content
/// would give a detection at least this strong.
#[pyclass(module = "filigree", name = "Detection", frozen)]
#[derive(Clone)]
pub struct PyDetection {
    /// The recovered recipient ID, or ``None``.
    #[pyo3(get)]
    recipient: Option<u32>,
    /// For a found recipient, the false-positive probability; ``None`` when nothing was found.
    #[pyo3(get)]
    false_positive_probability: Option<f64>,
    /// Frames accumulated.
    #[pyo3(get)]
    frames_used: usize,
    /// Height of the strongest synchronisation peak, in standard deviations.
    #[pyo3(get)]
    sync_z: f64,
    /// Probability of a synchronisation peak at least this high on unmarked content.
    #[pyo3(get)]
    sync_p_value: f64,
    /// How much larger the pattern appeared than in an uncropped picture (1 / (1 - crop)).
    #[pyo3(get)]
    magnification: f32,
    /// The columns' scale relative to the rows' (1 unless squeezed or stretched).
    #[pyo3(get)]
    aspect: f32,
    /// Rotation of the leak's picture, degrees counter-clockwise.
    #[pyo3(get)]
    rotation_degrees: f32,
    /// Whether the picture's outline was tracked frame by frame (a handheld camera) and
    /// the mark read in the picture's own coordinates.
    #[pyo3(get)]
    tracked: bool,
    /// "none", "mirror", "flip" or "half turn".
    #[pyo3(get)]
    reflection: &'static str,
    /// The picture the geometry is measured against, ``(left, top, width, height)`` as
    /// fractions of the frame (inside the bars found, or a still surround); ``None``
    /// without frames.
    #[pyo3(get)]
    picture: Option<(f32, f32, f32, f32)>,
    /// Seconds of video analysed (``detect_file`` only; ``None`` for frames).
    #[pyo3(get)]
    seconds_analyzed: Option<f64>,
    /// A two-step leak's session ID (8 hex digits), when the positions read identify it.
    #[pyo3(get)]
    session: Option<String>,
    two_step: Option<TwoStepFields>,
    /// Further recipients whose IDs decoded once the stronger ones' marks were cancelled:
    /// the leak mixes their copies (averaged or spliced).
    #[pyo3(get)]
    mixed_with: Vec<u32>,
    /// Accused recipients and sessions (``detect_file(..., ledger=...)``).
    accused: Vec<AccusedFields>,
    /// Recipients decoded from windows of the leak, with their time ranges.
    timeline: Vec<(u32, Vec<(f64, f64)>)>,
    /// Fingerprint of the key the answer is under (``detect_file``; ``None`` for frames).
    #[pyo3(get)]
    key_fingerprint: Option<String>,
    /// Keys tried (``detect_file(..., keys=[...])``); every probability is charged for all.
    #[pyo3(get)]
    keys_tried: usize,
    /// ``detect_file``: whether reading stopped at an early look with a certain verdict.
    #[pyo3(get)]
    stopped_early: bool,
    /// ``detect_file``: looks the read could make on the file (every probability is
    /// charged for all of them); 1 with ``full=True`` and for frames.
    #[pyo3(get)]
    looks: usize,
    /// ``detect_file(..., reference=...)``: (frames registered, mean thumbnail correlation,
    /// first and last master second matched); ``None`` for a blind reading.
    #[pyo3(get)]
    informed: Option<(usize, f64, (f64, f64))>,
}

/// One accusation, for ``Detection.accused``.
#[derive(Clone)]
struct AccusedFields {
    id: u32,
    title_id: Option<u16>,
    label: Option<String>,
    false_accusation_probability: f64,
    time_ranges: Vec<(f64, f64)>,
}

/// What a two-step reading found, for ``Detection.two_step``.
#[derive(Clone)]
struct TwoStepFields {
    title_id: Option<u16>,
    decode: &'static str,
    positions_read: usize,
    seconds_needed: Option<f64>,
    false_positive_probability: Option<f64>,
    mark_false_positive_probability: Option<f64>,
    windows_decoded: u64,
}

impl TwoStepFields {
    fn of(found: &filigree::TwoStepDetection) -> TwoStepFields {
        use filigree::twostep::SessionDecode;
        let title = found.titles.first();
        TwoStepFields {
            title_id: title.map(|t| t.title),
            decode: match title.map(|t| t.session) {
                Some(SessionDecode::Identified(_)) => "identified",
                Some(SessionDecode::Inconsistent) => "inconsistent",
                Some(SessionDecode::Undetermined { .. }) => "undetermined",
                None => "none",
            },
            positions_read: title.map_or(0, |t| t.positions.len()),
            seconds_needed: title.and_then(|t| t.seconds_needed),
            false_positive_probability: title.and_then(|t| t.false_positive_probability),
            mark_false_positive_probability: found.mark_false_positive_probability,
            windows_decoded: found.windows_decoded,
        }
    }
}

impl PyDetection {
    /// With the two-step reading of a file, when one was made.
    pub fn with_two_step(mut self, found: Option<&filigree::TwoStepDetection>) -> PyDetection {
        self.session = found
            .and_then(|f| f.session())
            .map(|(_, s)| format!("{s:08x}"));
        self.two_step = found.map(TwoStepFields::of);
        if self.session.is_some() {
            self.false_positive_probability = self
                .two_step
                .as_ref()
                .and_then(|t| t.false_positive_probability);
        }
        self
    }

    /// With the accusations and the timeline of a file detection; labels from the ledger
    /// entries scored.
    pub fn with_collusion(
        mut self,
        found: &filigree::pipeline::FileDetection,
        ring: &filigree::pipeline::Keyring,
    ) -> PyDetection {
        self.accused = found
            .accusations
            .iter()
            .map(|a| AccusedFields {
                id: a.id,
                title_id: a.title,
                label: ring
                    .label(found.key_index, a.id, a.title)
                    .map(str::to_string),
                false_accusation_probability: a.false_accusation_probability,
                time_ranges: a.time_ranges.clone(),
            })
            .collect();
        self.timeline = found
            .timeline
            .iter()
            .map(|r| (r.recipient, r.time_ranges.clone()))
            .collect();
        self
    }

    /// How a file was read: the key of the keyring the answer is under, and the looks.
    pub fn read_as(mut self, found: &FileDetection, fingerprint: String) -> PyDetection {
        self.key_fingerprint = Some(fingerprint);
        self.keys_tried = found.keys_tried;
        self.stopped_early = found.stopped_early;
        self.looks = found.looks;
        self.informed = found
            .registration
            .as_ref()
            .map(|r| (r.frames, r.mean_similarity, r.master_span));
        self
    }

    pub fn new(detection: &filigree::Detection, seconds_analyzed: Option<f64>) -> PyDetection {
        PyDetection {
            key_fingerprint: None,
            keys_tried: 1,
            stopped_early: false,
            looks: 1,
            informed: None,
            session: None,
            two_step: None,
            mixed_with: detection.mixed_with.clone(),
            accused: Vec::new(),
            timeline: Vec::new(),
            recipient: detection.recipient,
            false_positive_probability: detection.false_positive_probability,
            frames_used: detection.frames_used,
            sync_z: detection.sync_z,
            sync_p_value: detection.sync_p_value,
            magnification: detection.magnification,
            aspect: detection.aspect,
            rotation_degrees: detection.rotation_degrees,
            tracked: detection.tracked,
            reflection: detection.reflection.name(),
            picture: detection
                .picture
                .map(|p| (p.left, p.top, p.width, p.height)),
            seconds_analyzed,
        }
    }
}

#[pymethods]
impl PyDetection {
    /// True when a recipient ID (or a two-step leak's session) was recovered.
    #[getter]
    fn found(&self) -> bool {
        self.recipient.is_some() || self.session.is_some()
    }

    /// For a file read as a two-step leak (sync found, no single recipient): a dict with
    /// ``title_id``, ``decode`` (``"identified"``, ``"undetermined"``: not enough video,
    /// ``"inconsistent"``: segments of several sessions, ``"none"``: no position read),
    /// ``positions_read``, ``seconds_needed``, ``false_positive_probability`` (of the
    /// session), ``mark_false_positive_probability`` and ``windows_decoded``; else ``None``.
    #[getter]
    fn two_step<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, pyo3::types::PyDict>>> {
        let Some(t) = &self.two_step else {
            return Ok(None);
        };
        let d = pyo3::types::PyDict::new(py);
        d.set_item("title_id", t.title_id)?;
        d.set_item("decode", t.decode)?;
        d.set_item("positions_read", t.positions_read)?;
        d.set_item("seconds_needed", t.seconds_needed)?;
        d.set_item("false_positive_probability", t.false_positive_probability)?;
        d.set_item(
            "mark_false_positive_probability",
            t.mark_false_positive_probability,
        )?;
        d.set_item("windows_decoded", t.windows_decoded)?;
        Ok(Some(d))
    }

    /// Accused recipients and sessions, most certain first: dicts with ``recipient`` (or
    /// ``session``, 8 hex digits, and ``title_id``), ``label``,
    /// ``false_accusation_probability`` and ``time_ranges`` (leak seconds).
    #[getter]
    fn accused<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, pyo3::types::PyDict>>> {
        self.accused
            .iter()
            .map(|a| {
                let d = pyo3::types::PyDict::new(py);
                match a.title_id {
                    Some(title) => {
                        d.set_item("session", format!("{:08x}", a.id))?;
                        d.set_item("title_id", title)?;
                    }
                    None => d.set_item("recipient", a.id)?,
                }
                d.set_item("label", &a.label)?;
                d.set_item(
                    "false_accusation_probability",
                    a.false_accusation_probability,
                )?;
                d.set_item("time_ranges", &a.time_ranges)?;
                Ok(d)
            })
            .collect()
    }

    /// True when the leak carries a mark under the key: a recipient or session was found,
    /// or the sync pattern stands out (p <= 1e-6) though no ID could be read (too damaged,
    /// or mixed from several copies). False means "no watermark".
    #[getter]
    fn mark_present(&self) -> bool {
        self.found()
            || self.sync_p_value <= filigree::MARK_PRESENT_SYNC_P
            || self.two_step.as_ref().is_some_and(|t| t.title_id.is_some())
    }

    /// Recipients decoded from windows of the leak: ``(recipient, [(start, end), ...])``.
    #[getter]
    fn timeline(&self) -> Vec<(u32, Vec<(f64, f64)>)> {
        self.timeline.clone()
    }

    fn __repr__(&self) -> String {
        let seconds = self
            .seconds_analyzed
            .map(|s| format!(", seconds_analyzed={s:.2}"))
            .unwrap_or_default();
        if let (Some(session), Some(p)) = (&self.session, self.false_positive_probability) {
            return format!(
                "Detection(found=True, session={session:?}, false_positive_probability={p:.2e}, \
                 frames_used={}, sync_z={:.1}{seconds})",
                self.frames_used, self.sync_z
            );
        }
        match (self.recipient, self.false_positive_probability) {
            (Some(id), Some(p)) => format!(
                "Detection(found=True, recipient={id}, false_positive_probability={p:.2e}, \
                 frames_used={}, sync_z={:.1}{seconds})",
                self.frames_used, self.sync_z
            ),
            _ => format!(
                "Detection(found=False, recipient=None, frames_used={}, sync_z={:.1}{seconds})",
                self.frames_used, self.sync_z
            ),
        }
    }
}

/// Accumulates suspect frames and detects the recipient under one key.
///
/// Frames may be of any size (at least 32 pixels on the shorter side) but all the same size,
/// in the shapes and dtypes ``embed_frame`` accepts; RGB frames are read through their luma.
/// More frames give stronger evidence: a few seconds of video usually suffice.
#[pyclass(module = "filigree", name = "Detector", frozen)]
pub struct PyDetector {
    key: filigree::Key,
    inner: Mutex<filigree::Detector>,
}

#[pymethods]
impl PyDetector {
    /// A detector for content marked with ``key``.
    #[new]
    fn new(key: &PyKey) -> PyDetector {
        PyDetector {
            key: key.inner.clone(),
            inner: Mutex::new(filigree::Detector::new()),
        }
    }

    /// Adds one suspect frame (copied; the GIL is released while it is analysed).
    /// ``bit_depth`` as for ``embed_frame``.
    #[pyo3(signature = (frame, *, bit_depth=None))]
    fn add_frame(
        &self,
        py: Python<'_>,
        frame: &Bound<'_, PyAny>,
        bit_depth: Option<u8>,
    ) -> PyResult<()> {
        let frame = Frame::from_numpy(frame, bit_depth)?;
        py.detach(|| {
            let mut detector = self.inner.lock().map_err(|_| FrameError::Poisoned)?;
            frame.add_to(&mut detector)
        })?;
        Ok(())
    }

    /// Frames added so far.
    #[getter]
    fn frames(&self) -> usize {
        self.inner.lock().map_or(0, |d| d.frames())
    }

    /// Searches the accumulated frames for the mark (the GIL is released meanwhile). More
    /// frames may be added afterwards and ``result`` called again.
    fn result(&self, py: Python<'_>) -> PyResult<PyDetection> {
        let detection = py.detach(|| {
            let detector = self.inner.lock().map_err(|_| FrameError::Poisoned)?;
            Ok::<_, FrameError>(detector.detect(&self.key))
        })?;
        Ok(PyDetection::new(&detection, None))
    }

    fn __repr__(&self) -> String {
        format!(
            "Detector(key fingerprint='{}', frames={})",
            self.key.fingerprint(),
            self.frames()
        )
    }
}
