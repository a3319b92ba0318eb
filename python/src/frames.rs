//! numpy frames in and out: the accepted shapes and dtypes; RGB pictures are marked and read
//! through core's R'G'B' <-> Y' conversion (`filigree::rgb`).
//!
//! Input arrays are copied into owned `ndarray`s while the GIL is held (the copy is also the
//! new array returned by marking), so the heavy work that follows touches no Python object
//! and runs with the GIL released. Results go back to numpy without another copy.

use filigree::overlay::Overlay;
use filigree::rgb::{RGB_LUMA_BIT_DEPTH, add_luma_change, luma_of};
use filigree::{Detector, Embedder};
use ndarray::{Array2, Array3};
use numpy::{
    IntoPyArray, PyArray2, PyArray3, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use crate::errors::{FiligreeError, Kind, to_py};

/// Default bit depth of a `uint16` luma plane.
const DEFAULT_HIGH_BIT_DEPTH: u8 = 10;

/// A frame as handed in from Python, owned.
pub(crate) enum Frame {
    /// (H, W, 3) uint8, full-range R'G'B'.
    Rgb(Array3<u8>),
    /// (H, W) uint8 luma.
    Luma8(Array2<u8>),
    /// (H, W) uint16 luma of the given bit depth (9..=16).
    Luma16(Array2<u16>, u8),
}

/// Why a frame could not be used: found after the GIL was released, raised once it is back.
pub enum FrameError {
    Invalid(String),
    Library(filigree::Error),
    /// An earlier call panicked while holding the object's state.
    Poisoned,
}

impl From<filigree::Error> for FrameError {
    fn from(error: filigree::Error) -> FrameError {
        FrameError::Library(error)
    }
}

impl From<FrameError> for PyErr {
    fn from(error: FrameError) -> PyErr {
        match error {
            FrameError::Invalid(message) => Kind::InvalidInput.err(message),
            FrameError::Library(error) => to_py(error),
            FrameError::Poisoned => FiligreeError::new_err(
                "internal error in an earlier call; this object can no longer be used",
            ),
        }
    }
}

const ACCEPTED: &str =
    "expected an (H, W, 3) uint8 RGB frame or an (H, W) uint8 or uint16 luma plane";

impl Frame {
    /// Copies a numpy array into an owned frame, checking its shape, dtype and `bit_depth`
    /// (`None`: 8 for uint8, 10 for uint16).
    pub(crate) fn from_numpy(array: &Bound<'_, PyAny>, bit_depth: Option<u8>) -> PyResult<Frame> {
        let Ok(untyped) = array.cast::<PyUntypedArray>() else {
            let type_name = array.get_type().name()?;
            return Err(Kind::InvalidInput.err(format!(
                "frame must be a numpy.ndarray, got {type_name}: {ACCEPTED}"
            )));
        };
        let described = || -> PyResult<String> {
            Ok(format!(
                "{ACCEPTED}, got shape {:?} dtype {}",
                untyped.shape(),
                untyped.dtype().str()?
            ))
        };
        let eight_bit = |kind: &str| match bit_depth {
            None | Some(8) => Ok(()),
            Some(other) => Err(Kind::InvalidInput.err(format!(
                "bit_depth {other} does not fit a uint8 {kind}: it must be 8 (or None)"
            ))),
        };
        let busy = |e| Kind::InvalidInput.err(format!("frame array is not readable now: {e}"));
        if let Ok(rgb) = array.cast::<PyArray3<u8>>() {
            if rgb.shape()[2] != 3 {
                return Err(Kind::InvalidInput.err(described()?));
            }
            eight_bit("RGB frame")?;
            Ok(Frame::Rgb(
                // Standard (C) layout whatever numpy's strides: the conversions below walk
                // the samples as one slice.
                rgb.try_readonly()
                    .map_err(busy)?
                    .as_array()
                    .as_standard_layout()
                    .into_owned(),
            ))
        } else if let Ok(luma) = array.cast::<PyArray2<u8>>() {
            eight_bit("luma plane")?;
            Ok(Frame::Luma8(
                luma.try_readonly().map_err(busy)?.as_array().to_owned(),
            ))
        } else if let Ok(luma) = array.cast::<PyArray2<u16>>() {
            let plane = luma.try_readonly().map_err(busy)?.as_array().to_owned();
            Ok(Frame::Luma16(
                plane,
                bit_depth.unwrap_or(DEFAULT_HIGH_BIT_DEPTH),
            ))
        } else {
            Err(Kind::InvalidInput.err(described()?))
        }
    }

    /// (width, height).
    pub(crate) fn size(&self) -> (usize, usize) {
        let (height, width) = match self {
            Frame::Rgb(rgb) => (rgb.dim().0, rgb.dim().1),
            Frame::Luma8(luma) => luma.dim(),
            Frame::Luma16(luma, _) => luma.dim(),
        };
        (width, height)
    }

    /// A uint16 plane must not hold values its bit depth cannot: marking would clamp them.
    fn check_range(&self) -> Result<(), FrameError> {
        if let Frame::Luma16(plane, bit_depth) = self
            && (9..=16).contains(bit_depth)
        {
            let max = ((1u32 << bit_depth) - 1) as u16;
            if let Some(&high) = plane.iter().find(|&&v| v > max) {
                return Err(FrameError::Invalid(format!(
                    "uint16 plane holds the value {high}, above {max}, the largest {bit_depth}-bit \
                     code value: pass bit_depth= for the plane's real depth"
                )));
            }
        }
        Ok(())
    }

    /// Burns a visible overlay into the frame in place, as frame `frame_index` of its stream:
    /// RGB frames in R'G'B', luma planes in Y' alone (see `Overlay::apply_to_rgb` and
    /// `Overlay::apply_to_luma`).
    pub(crate) fn apply_overlay(
        &mut self,
        overlay: &mut Overlay,
        frame_index: u64,
    ) -> Result<(), FrameError> {
        self.check_range()?;
        match self {
            Frame::Rgb(rgb) => overlay.apply_to_rgb(rgb.view_mut(), frame_index)?,
            Frame::Luma8(luma) => overlay.apply_to_luma(luma.view_mut(), 8, frame_index)?,
            Frame::Luma16(luma, bit_depth) => {
                overlay.apply_to_luma(luma.view_mut(), *bit_depth, frame_index)?
            }
        }
        Ok(())
    }

    /// Shows the frame to the embedder's picture tracker (bars are found before any overlay
    /// is burned in, as in the file pipeline).
    pub(crate) fn track_picture(&self, embedder: &mut Embedder) -> Result<(), FrameError> {
        self.check_range()?;
        match self {
            Frame::Rgb(rgb) => {
                embedder.track_picture(luma_of(rgb.view()).view(), RGB_LUMA_BIT_DEPTH)?
            }
            Frame::Luma8(luma) => embedder.track_picture(luma.view(), 8)?,
            Frame::Luma16(luma, bit_depth) => embedder.track_picture(luma.view(), *bit_depth)?,
        };
        Ok(())
    }

    /// Marks the frame in place, in the picture [`Frame::track_picture`] found. RGB: the
    /// mark is computed on Y' and the same change is added to R, G and B (see
    /// `filigree::rgb::add_luma_change`).
    pub(crate) fn mark(&mut self, embedder: &mut Embedder) -> Result<(), FrameError> {
        self.check_range()?;
        match self {
            Frame::Rgb(rgb) => {
                let before = luma_of(rgb.view());
                let mut after = before.clone();
                embedder.mark_picture(after.view_mut(), RGB_LUMA_BIT_DEPTH)?;
                add_luma_change(rgb.view_mut(), &before, &after);
            }
            Frame::Luma8(luma) => embedder.mark_picture(luma.view_mut(), 8)?,
            Frame::Luma16(luma, bit_depth) => embedder.mark_picture(luma.view_mut(), *bit_depth)?,
        }
        Ok(())
    }

    /// Adds the frame's luma to a detector.
    pub(crate) fn add_to(&self, detector: &mut Detector) -> Result<(), FrameError> {
        self.check_range()?;
        match self {
            Frame::Rgb(rgb) => {
                detector.add_luma(luma_of(rgb.view()).view(), RGB_LUMA_BIT_DEPTH)?;
            }
            Frame::Luma8(luma) => detector.add_luma(luma.view(), 8)?,
            Frame::Luma16(luma, bit_depth) => detector.add_luma(luma.view(), *bit_depth)?,
        }
        Ok(())
    }

    /// Hands the frame to numpy (no copy).
    pub(crate) fn into_numpy(self, py: Python<'_>) -> Bound<'_, PyAny> {
        match self {
            Frame::Rgb(rgb) => rgb.into_pyarray(py).into_any(),
            Frame::Luma8(luma) => luma.into_pyarray(py).into_any(),
            Frame::Luma16(luma, _) => luma.into_pyarray(py).into_any(),
        }
    }
}
