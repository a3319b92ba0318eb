//! Two-step (A/B) marking: a title is encoded once per variant, every position (a
//! GOP-aligned slice, a few seconds long) in an A and a B version, and each session is
//! served the sequence of A and B positions its codeword spells. Per-viewer cost is a
//! playlist; a CDN caches the two variants for everyone.
//!
//! Positions identify themselves: the frame mark of each variant carries, under the key,
//! the title, the position index and the variant ([`VariantMark`]), tagged apart from
//! single-step recipient marks. So the detector needs no alignment to the original and no
//! filenames: it finds sync once over the whole leak, reads (position, variant) from short
//! windows (`detect::windows`) and solves the session from the reads ([`code`]). A read
//! only counts after its 32-bit keyed tag checked, so reads are right or missing, hardly
//! ever wrong, and an excerpt that starts anywhere, a trim, re-timing or inserted material
//! only removes reads.

pub mod cwt;
pub mod dash;
pub mod package;
#[cfg(feature = "ffmpeg")]
pub mod prepare;
pub mod session;

// The variant mark and the session code are low-level maths (`crate::variant`), and CMAF
// segment parsing is video I/O (`crate::video::cmaf`); packaging uses them from here too.
pub use crate::variant::code::{self, PositionRead, SessionCode, SessionDecode};
pub use crate::variant::{MAX_POSITIONS, MAX_TITLE_ID, Variant, VariantMark};
pub use crate::video::cmaf;
pub use package::{Manifest, Package, Rendition};
