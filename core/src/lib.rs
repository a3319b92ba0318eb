//! Filigree: forensic video watermarking.
//!
//! Every recipient's copy carries an invisible, keyed recipient ID in the luma plane. The
//! detector recovers the exact ID from a leaked copy after re-encoding, scaling, cropping,
//! letterboxing and frame-rate changes, and reports a calibrated false-positive probability.
//!
//! ```no_run
//! use filigree::{Detector, EmbedConfig, Embedder, Key};
//! # fn frames() -> Vec<ndarray::Array2<u8>> { vec![] }
//! let key = Key::generate()?;
//! let mut embedder = Embedder::new(&key, 42, 1920, 1080, &EmbedConfig::default())?;
//! let mut detector = Detector::new();
//! for mut luma in frames() {
//!     embedder.mark(luma.view_mut(), 8)?;
//!     detector.add_luma(luma.view(), 8)?;
//! }
//! assert_eq!(detector.detect(&key).recipient, Some(42));
//! # Ok::<(), filigree::Error>(())
//! ```

pub mod collusion;
pub mod digest;
pub mod error;
pub mod evidence;
pub mod key;
pub mod ledger;
#[cfg(feature = "ffmpeg")]
pub mod live;
pub mod mark;
pub mod marker;
pub mod metrics;
pub mod overlay;
pub mod payload;
#[cfg(feature = "ffmpeg")]
pub mod pipeline;
pub mod plane;
pub mod rgb;
pub mod twostep;
pub mod variant;
pub mod video;

mod detect;
mod grid;
mod pattern;
mod picture;
mod resample;
mod scheme;

pub use detect::looks;
pub use detect::sync::{PictureFound, Reflection};
pub use detect::windows::{
    RecipientWindows, TitleDetection, TwoStepDetection, WindowDetection, WindowRead, WindowReader,
    WindowStrength,
};
pub use detect::{
    Detection, Detector, Evidence, MARK_PRESENT_SYNC_P, SyncPicture, TAG_CHECKS, detect_still,
};
pub use error::{Error, EvidenceError, KeyError, LedgerError, PackageError, Result, VideoError};
pub use grid::{MIN_SIDE, TILE, WORKING_SIDE};
pub use key::Key;
pub use mark::embed::{BASE_AMPLITUDE, EmbedConfig, Embedder, MAX_STRENGTH, MarkPlan};
pub use picture::ContentRect;
pub use plane::Sample;
pub use scheme::Payload;
// The mask's tuning, at the path the GPU crate and benches use.
pub use mark::mask;
