//! Choosing the GPU for `embed --gpu` and `screen`: without one, a note and the CPU path.

use filigree_gpu::Gpu;

/// Opens the GPU, or says on stderr why the CPU will mark instead.
pub(crate) fn open_or_explain() -> Option<Gpu> {
    match Gpu::open_for_marking() {
        Ok(gpu) => Some(gpu),
        Err(e) => {
            eprintln!("filigree: note: {e}; marking on the CPU");
            None
        }
    }
}
