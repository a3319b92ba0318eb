//! `filigree.verify_report`: a signed evidence report checked, and its detection re-run.

use std::path::PathBuf;

use filigree::evidence::SignatureCheck;
use filigree_report::verify::{Against, Check, verify_report as verify};
use pyo3::prelude::*;

use crate::errors::to_py;
use crate::key::PyKey;

/// What verifying an evidence report found (``filigree.verify_report``).
///
/// ``ok`` is true when the signature is valid and every check that ran passed. Each check
/// is ``None`` when it did not run (no leak, no key, no ledger given), else a bool;
/// ``lines`` says what each found, one line per check, as ``filigree verify-report`` prints.
#[pyclass(module = "filigree", name = "ReportVerification", frozen)]
pub struct PyReportVerification {
    /// True when the signature is valid and every check that ran passed.
    #[pyo3(get)]
    ok: bool,
    /// ``"valid"``, ``"invalid"`` or ``"unsigned"``.
    #[pyo3(get)]
    signature: &'static str,
    /// The evidence key fingerprint that signed the report, when the signature is valid.
    #[pyo3(get)]
    signer: Option<String>,
    /// Whether the leak given is the file the report is about (its SHA-256).
    #[pyo3(get)]
    leak_matches: Option<bool>,
    /// Whether the ledger still extends the head the report was checked against.
    #[pyo3(get)]
    ledger_extends: Option<bool>,
    /// Whether re-running the detection gave the same answer.
    #[pyo3(get)]
    same_answer: Option<bool>,
    /// Whether it gave the same probabilities.
    #[pyo3(get)]
    same_probabilities: Option<bool>,
    /// One line per check.
    #[pyo3(get)]
    lines: Vec<String>,
}

#[pymethods]
impl PyReportVerification {
    fn __repr__(&self) -> String {
        format!(
            "ReportVerification(ok={}, signature={:?}, signer={:?}, leak_matches={:?}, \
             ledger_extends={:?}, same_answer={:?}, same_probabilities={:?})",
            self.ok,
            self.signature,
            self.signer,
            self.leak_matches,
            self.ledger_extends,
            self.same_answer,
            self.same_probabilities
        )
    }
}

/// Verifies the evidence report at ``path`` (its ``.json``, or the ``.html`` beside it):
/// the signature over its facts; with ``leak``, that the file is the one the report names;
/// with ``leak`` and ``key`` (and ``keys``), re-runs the detection with the options the
/// report records and compares the answer and probabilities; with ``ledger``, that the
/// ledger still extends the head the report was checked against (needed to re-run a report
/// made with a ledger). ``reference`` is the master of an informed detection; ``signer``
/// an evidence key fingerprint the signature must be by. The GIL is released while it works.
#[pyfunction]
#[pyo3(signature = (path, leak=None, key=None, ledger=None, *, keys=None, reference=None, signer=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn verify_report(
    py: Python<'_>,
    path: PathBuf,
    leak: Option<PathBuf>,
    key: Option<&PyKey>,
    ledger: Option<PathBuf>,
    keys: Option<Vec<PyRef<'_, PyKey>>>,
    reference: Option<PathBuf>,
    signer: Option<String>,
) -> PyResult<PyReportVerification> {
    let mut ring: Vec<filigree::Key> = key.iter().map(|k| k.inner.clone()).collect();
    ring.extend(keys.iter().flatten().map(|k| k.inner.clone()));
    let found = py
        .detach(|| {
            verify(
                &path,
                &Against {
                    leak: leak.as_deref(),
                    keys: &ring,
                    ledger: ledger.as_deref(),
                    reference: reference.as_deref(),
                    signer: signer.as_deref(),
                },
            )
        })
        .map_err(to_py)?;
    let ok = |c: &Option<Check>| c.as_ref().map(|c| c.ok);
    Ok(PyReportVerification {
        ok: found.is_ok(),
        signature: match found.signature {
            SignatureCheck::Valid { .. } => "valid",
            SignatureCheck::Invalid(_) => "invalid",
            SignatureCheck::Unsigned => "unsigned",
        },
        signer: found.signature.signer().map(str::to_string),
        leak_matches: ok(&found.leak),
        ledger_extends: ok(&found.ledger),
        same_answer: ok(&found.same_answer),
        same_probabilities: ok(&found.same_probabilities),
        lines: found.lines(),
    })
}

/// Writes a new Ed25519 evidence key to ``path`` (mode 0600, never overwrites) and returns
/// its fingerprint. It signs evidence reports (``detect_file(report=..., sign=path)``);
/// it is never the marking key.
#[pyfunction]
pub(crate) fn generate_evidence_key(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    py.detach(|| -> filigree::Result<String> {
        let key = filigree::evidence::EvidenceKey::generate()?;
        key.save(&path)?;
        Ok(key.fingerprint())
    })
    .map_err(to_py)
}
