//! Filigree's errors as Python exceptions.
//!
//! One base class, `FiligreeError`, with subclasses that are also the built-in exception a
//! Python caller would expect: bad arguments are `ValueError`s, unreadable or existing files
//! are `OSError`s (with `errno` and `filename`). Classes with two bases cannot be declared
//! with `create_exception!`, so they are made once with `type(name, bases, namespace)`.

use filigree::{Error, KeyError, VideoError};
use pyo3::exceptions::{PyException, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

pyo3::create_exception!(
    filigree,
    FiligreeError,
    PyException,
    "Base class of every error Filigree raises."
);

/// The exception classes derived from `FiligreeError`.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// Also a `ValueError`: wrong shape, dtype, size, strength, bit depth, key file content.
    InvalidInput,
    /// Also an `OSError`: a file that cannot be read or written, or already exists.
    FileAccess,
    /// Not a readable video, no video stream or frames, or the encoder failed.
    Video,
    /// The ledger is damaged or an entry could not be appended.
    Ledger,
}

impl Kind {
    const ALL: [Kind; 4] = [
        Kind::InvalidInput,
        Kind::FileAccess,
        Kind::Video,
        Kind::Ledger,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::InvalidInput => "InvalidInputError",
            Kind::FileAccess => "FileAccessError",
            Kind::Video => "VideoError",
            Kind::Ledger => "LedgerError",
        }
    }

    fn doc(self) -> &'static str {
        match self {
            Kind::InvalidInput => {
                "An argument Filigree cannot use: wrong array shape or dtype, a frame too small \
                 or of a different size than the stream's first, a strength or bit depth out \
                 of range, a malformed key file. Also a ValueError."
            }
            Kind::FileAccess => {
                "A file could not be read or written, or the output already exists. Also an \
                 OSError, with errno and filename set when known."
            }
            Kind::Video => {
                "The input is not a readable video (or has no video stream or no frames), or \
                 encoding the output failed."
            }
            Kind::Ledger => "The ledger is damaged, or the entry could not be appended.",
        }
    }

    fn extra_base(self, py: Python<'_>) -> Option<Bound<'_, PyType>> {
        match self {
            Kind::InvalidInput => Some(py.get_type::<PyValueError>()),
            Kind::FileAccess => Some(py.get_type::<PyOSError>()),
            Kind::Video | Kind::Ledger => None,
        }
    }

    fn cell(self) -> &'static PyOnceLock<Py<PyType>> {
        static CLASSES: [PyOnceLock<Py<PyType>>; 4] = [
            PyOnceLock::new(),
            PyOnceLock::new(),
            PyOnceLock::new(),
            PyOnceLock::new(),
        ];
        &CLASSES[self as usize]
    }

    /// The Python class for this kind, created on first use.
    pub(crate) fn class(self, py: Python<'_>) -> PyResult<Bound<'_, PyType>> {
        let class = self.cell().get_or_try_init(py, || {
            let mut bases = vec![py.get_type::<FiligreeError>()];
            bases.extend(self.extra_base(py));
            let namespace = PyDict::new(py);
            namespace.set_item("__doc__", self.doc())?;
            namespace.set_item("__module__", "filigree")?;
            let class = py.get_type::<PyType>().call1((
                self.name(),
                PyTuple::new(py, bases)?,
                namespace,
            ))?;
            Ok::<_, PyErr>(class.cast_into::<PyType>()?.unbind())
        })?;
        Ok(class.bind(py).clone())
    }

    /// An exception of this kind carrying `message`.
    pub(crate) fn err(self, message: impl Into<String>) -> PyErr {
        let message = message.into();
        Python::attach(|py| match self.class(py) {
            Ok(class) => PyErr::from_type(class, message),
            Err(e) => e,
        })
    }
}

/// Adds `FiligreeError` and its subclasses to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("FiligreeError", py.get_type::<FiligreeError>())?;
    for kind in Kind::ALL {
        m.add(kind.name(), kind.class(py)?)?;
    }
    Ok(())
}

/// Converts a library error into the matching Python exception.
pub(crate) fn to_py(error: Error) -> PyErr {
    let message = error.to_string();
    match &error {
        Error::Io { path, source } | Error::Key(KeyError::Io { path, source }) => {
            os_error(source.raw_os_error(), &message, &path.to_string_lossy())
        }
        Error::OutputExists { path } => os_error(Some(EEXIST), &message, &path.to_string_lossy()),
        Error::Video(VideoError::FrameTooSmall { .. })
        | Error::Video(VideoError::FrameSizeChanged { .. })
        | Error::Video(VideoError::UnsupportedBitDepth(_))
        | Error::InvalidStrength(_)
        | Error::Key(KeyError::Malformed { .. })
        | Error::InvalidOverlay { .. } => Kind::InvalidInput.err(message),
        Error::Video(VideoError::InvalidVideo { .. })
        | Error::Video(VideoError::NoVideoStream { .. })
        | Error::Video(VideoError::NoFrames { .. })
        | Error::Video(VideoError::UnsupportedPixelFormat { .. })
        | Error::Video(VideoError::Encode { .. })
        | Error::Video(VideoError::MalformedY4m { .. }) => Kind::Video.err(message),
        Error::Ledger(_) => Kind::Ledger.err(message),
        // Variants added to the library later (and `Random`) are plain `FiligreeError`s.
        #[allow(unreachable_patterns)]
        _ => FiligreeError::new_err(message),
    }
}

/// `EEXIST` on Linux and macOS.
const EEXIST: i32 = 17;

/// A `FileAccessError` built like `OSError(errno, strerror, filename)` when the OS error
/// number is known (so `errno`, `strerror` and `filename` are set and `str()` reads the way
/// Python's own file errors do), else carrying the library's message.
fn os_error(errno: Option<i32>, message: &str, filename: &str) -> PyErr {
    Python::attach(|py| {
        let class = match Kind::FileAccess.class(py) {
            Ok(class) => class,
            Err(e) => return e,
        };
        let made = match errno {
            Some(errno) => py
                .import("os")
                .and_then(|os| os.call_method1("strerror", (errno,)))
                .and_then(|strerror| class.call1((errno, strerror, filename))),
            None => class.call1((message,)),
        };
        match made {
            Ok(exception) => PyErr::from_value(exception),
            Err(e) => e,
        }
    })
}
