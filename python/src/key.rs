//! `filigree.Key`.

use std::path::PathBuf;

use pyo3::prelude::*;

use crate::errors::to_py;

/// A 256-bit secret watermarking key.
///
/// Make one with ``Key.generate()`` and keep it with ``key.save(path)``; read it back with
/// ``Key.load(path)``. ``repr()`` and ``str()`` show only the public fingerprint, never the key.
#[pyclass(module = "filigree", name = "Key", frozen)]
pub struct PyKey {
    pub inner: filigree::Key,
}

#[pymethods]
impl PyKey {
    /// A new key from the operating system's secure random source.
    #[staticmethod]
    fn generate() -> PyResult<PyKey> {
        Ok(PyKey {
            inner: filigree::Key::generate().map_err(to_py)?,
        })
    }

    /// Reads a key file written by ``Key.save`` or ``filigree keygen``.
    ///
    /// Raises ``FileAccessError`` (an ``OSError``) when the file cannot be read and
    /// ``InvalidInputError`` (a ``ValueError``) when it is not a Filigree key file.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<PyKey> {
        let inner = py.detach(|| filigree::Key::load(&path)).map_err(to_py)?;
        Ok(PyKey { inner })
    }

    /// Writes the key to a new file readable only by its owner (mode 0600).
    ///
    /// Never overwrites: an existing ``path`` raises ``FileAccessError`` (an ``OSError``,
    /// errno ``EEXIST``) and is left untouched.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.inner.save(&path)).map_err(to_py)
    }

    /// Public identifier of the key: 16 hex digits, safe to log and store.
    #[getter]
    fn fingerprint(&self) -> String {
        self.inner.fingerprint()
    }

    /// Keys are equal when their secrets are.
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyKey>()
            .is_ok_and(|other| other.get().inner == self.inner)
    }

    fn __hash__(&self) -> u64 {
        u64::from_str_radix(&self.inner.fingerprint(), 16).unwrap_or(0)
    }

    fn __repr__(&self) -> String {
        format!("Key(fingerprint='{}')", self.inner.fingerprint())
    }
}
