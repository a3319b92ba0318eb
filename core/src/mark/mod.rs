//! Marking a plane: the recipient's tile, shaped by the perceptual mask, added to the active
//! picture of every frame ([`embed`]). The per-stream marking stage with the overlay before
//! it is `crate::marker`, a layer up.

pub mod embed;
pub mod mask;
