//! Two-step packages from Python: `prepare_range`, `finalize` and `plan_ranges` (what a
//! scale-out driver such as `filigree.dask` calls on its workers), and `session_mp4`.
//!
//! The preparing functions take the key as a *file path*: a driver ships only the path to
//! its workers (which read the key from a shared filesystem), so the key never crosses the
//! cluster's network or sits in a task graph.

use std::path::PathBuf;

use filigree::Key;
use filigree::twostep::Package;
use filigree::twostep::prepare::{self, PreparePlan};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{Kind, to_py};
use crate::key::PyKey;

fn json_to_py<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value).expect("serialisable");
    py.import("json")?.call_method1("loads", (text,))
}

/// Prepares positions ``positions`` (a ``(first, end)`` pair; all when ``None``) of the
/// master ``src`` into the package folder ``package``; returns the range record as a dict
/// (``first``, ``end``, ``title_frames``, ``renditions`` ...). A range past the end of the
/// master writes nothing and has ``first == end``. Settings as for ``filigree prepare``;
/// every range of one package must use the same ones.
#[pyfunction]
#[pyo3(signature = (
    src, package, key_path, *, positions=None, title_id=0, position_seconds=2.0,
    ladder=vec![1080, 720, 360], crf=21, preset="medium".to_string(), strength=1.0
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn prepare_range<'py>(
    py: Python<'py>,
    src: PathBuf,
    package: PathBuf,
    key_path: PathBuf,
    positions: Option<(u32, u32)>,
    title_id: u16,
    position_seconds: f64,
    ladder: Vec<usize>,
    crf: u8,
    preset: String,
    strength: f32,
) -> PyResult<Bound<'py, PyAny>> {
    let plan = PreparePlan {
        title_id,
        position_seconds,
        ladder,
        crf,
        preset,
        strength,
    };
    let range = match positions {
        Some((first, end)) if first < end => Some(first..end),
        Some((first, end)) => {
            return Err(Kind::InvalidInput.err(format!("empty position range ({first}, {end})")));
        }
        None => None,
    };
    let record = py
        .detach(|| {
            let key = Key::load(&key_path)?;
            prepare::prepare_range(&src, &package, &key, &plan, range, None, &mut |_, _| {})
        })
        .map_err(to_py)?;
    json_to_py(py, &record)
}

/// Checks that the prepared ranges cover the title and writes the manifest and playlists;
/// returns the manifest (``package.json``) as a dict.
#[pyfunction]
pub(crate) fn finalize<'py>(
    py: Python<'py>,
    src: PathBuf,
    package: PathBuf,
    key_path: PathBuf,
) -> PyResult<Bound<'py, PyAny>> {
    let manifest = py
        .detach(|| {
            let key = Key::load(&key_path)?;
            prepare::finalize(&src, &package, &key)
        })
        .map_err(to_py)?;
    json_to_py(py, &manifest)
}

/// Position ranges ``[(first, end), ...]`` of about ``positions_per_range`` positions
/// covering ``src``, from its container's frame count (the last range is open ended).
#[pyfunction]
#[pyo3(signature = (src, *, position_seconds=2.0, positions_per_range=30))]
pub(crate) fn plan_ranges(
    py: Python<'_>,
    src: PathBuf,
    position_seconds: f64,
    positions_per_range: u32,
) -> PyResult<Vec<(u32, u32)>> {
    let ranges = py
        .detach(|| prepare::plan_ranges(&src, position_seconds, positions_per_range))
        .map_err(to_py)?;
    Ok(ranges.into_iter().map(|r| (r.start, r.end)).collect())
}

/// Writes session ``session`` (its 32-bit ID)'s copy of one rendition of ``package`` to
/// ``dst`` by stream copy (default: the tallest rendition); returns a summary dict.
#[pyfunction]
#[pyo3(signature = (package, key, session, dst, *, rendition=None))]
pub(crate) fn session_mp4<'py>(
    py: Python<'py>,
    package: PathBuf,
    key: &PyKey,
    session: u32,
    dst: PathBuf,
    rendition: Option<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let key = &key.inner;
    let name = py
        .detach(|| -> filigree::Result<String> {
            let package = Package::open(&package)?;
            let code = package.session_code(key)?;
            let name = match rendition {
                Some(name) => name,
                None => package
                    .tallest_rendition()
                    .map(|r| r.name.clone())
                    .unwrap_or_default(),
            };
            prepare::session_copy(&package, &code, session, &name, &dst)?;
            Ok(name)
        })
        .map_err(to_py)?;
    let summary = PyDict::new(py);
    summary.set_item("session", format!("{session:08x}"))?;
    summary.set_item("rendition", name)?;
    summary.set_item("output", dst)?;
    Ok(summary)
}
