//! Filigree: forensic video watermarking.
//!
//! Every recipient's copy carries an invisible, keyed recipient ID in the luma plane. The
//! detector recovers the exact ID from a leaked copy after re-encoding, scaling, cropping,
//! letterboxing and frame-rate changes, and reports a calibrated false-positive probability.

pub mod error;
pub mod key;
pub mod metrics;
pub mod payload;
pub mod plane;

pub use error::{Error, Result};
pub use key::Key;
pub use plane::Sample;
