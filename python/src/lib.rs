//! Python bindings for Filigree: `import filigree`.
//!
//! A thin shell over the `filigree` crate: it converts numpy arrays, paths and errors, and
//! releases the GIL while the library works. The watermarking itself is all in `core`.

mod detect;
mod embed;
mod errors;
mod evidence;
mod files;
mod frames;
mod key;
mod overlay;
mod twostep;

use pyo3::prelude::*;

/// Native part of the ``filigree`` package; import ``filigree`` instead.
#[pymodule]
fn _filigree(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<key::PyKey>()?;
    m.add_class::<embed::PyEmbedder>()?;
    m.add_class::<detect::PyDetector>()?;
    m.add_class::<detect::PyDetection>()?;
    m.add_class::<evidence::PyReportVerification>()?;
    m.add_function(wrap_pyfunction!(embed::embed_frame, m)?)?;
    m.add_function(wrap_pyfunction!(files::embed_file, m)?)?;
    m.add_function(wrap_pyfunction!(files::detect_file, m)?)?;
    m.add_function(wrap_pyfunction!(twostep::prepare_range, m)?)?;
    m.add_function(wrap_pyfunction!(twostep::finalize, m)?)?;
    m.add_function(wrap_pyfunction!(twostep::plan_ranges, m)?)?;
    m.add_function(wrap_pyfunction!(twostep::session_mp4, m)?)?;
    m.add_function(wrap_pyfunction!(evidence::verify_report, m)?)?;
    m.add_function(wrap_pyfunction!(evidence::generate_evidence_key, m)?)?;
    errors::register(m)?;
    Ok(())
}
