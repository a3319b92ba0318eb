//! Marking: the recipient's tile, shaped by the perceptual mask, added to the active
//! picture of every frame ([`embed`]), and the per-stream marking stage with the overlay
//! before it ([`marker`]).

pub mod embed;
pub mod marker;
pub mod mask;
