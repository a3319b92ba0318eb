//! Choosing the GPU for `embed --gpu` and `screen`, and falling back to the CPU with a note.

use filigree::Result;
use filigree::marker::{FrameMarker, MarkingSetup};
use filigree_gpu::{Gpu, GpuMarker};

/// Setting this to 1 lets a software renderer (lavapipe, llvmpipe) count as a GPU: slower
/// than the CPU path, but it runs the GPU kernels on machines without one (tests, CI).
const ALLOW_SOFTWARE: &str = "FILIGREE_GPU_ALLOW_SOFTWARE";

/// Opens the GPU, or says on stderr why the CPU will mark instead.
pub fn open_or_explain() -> Option<Gpu> {
    let allow_software = std::env::var(ALLOW_SOFTWARE).is_ok_and(|v| v == "1");
    match Gpu::open() {
        Ok(gpu) if gpu.is_software() && !allow_software => {
            eprintln!(
                "filigree: note: no GPU, only the software renderer {}; marking on the CPU \
                 (set {ALLOW_SOFTWARE}=1 to use it anyway)",
                gpu.description()
            );
            None
        }
        Ok(gpu) => Some(gpu),
        Err(e) => {
            eprintln!("filigree: note: {e}; marking on the CPU");
            None
        }
    }
}

/// The pipeline's marker factory for `gpu`.
pub fn marker_factory(gpu: &Gpu) -> impl Fn(MarkingSetup) -> Result<Box<dyn FrameMarker>> + '_ {
    move |setup: MarkingSetup| {
        let info = setup.info;
        let marker = GpuMarker::new(
            gpu,
            setup.key,
            setup.recipient,
            &setup.config,
            info.format,
            (info.width, info.height),
            setup.overlay,
        )?;
        Ok(Box::new(marker) as Box<dyn FrameMarker>)
    }
}
