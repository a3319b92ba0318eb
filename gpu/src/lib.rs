//! Filigree's GPU path: the visible overlay and the invisible mark in wgpu compute shaders.
//!
//! The CPU code in crate `filigree` is the definition; the kernels in `mark.wgsl` mirror it
//! function for function ([`Embedder::mark`](filigree::Embedder::mark) and the overlay's
//! compositing), with the tables and constants taken from the Rust side. Marked frames
//! match the CPU path's to within one code value, and detect identically.
//!
//! ```no_run
//! use filigree::marker::FrameMarker;
//! use filigree::video::{PixelFormat, VideoFrame};
//! use filigree::{EmbedConfig, Key};
//! use filigree_gpu::{Gpu, GpuMarker};
//! let gpu = Gpu::open()?;
//! let key = Key::generate()?;
//! let format = PixelFormat::Yuv420p;
//! let mut marker =
//!     GpuMarker::new(&gpu, &key, 42, &EmbedConfig::default(), format, (1920, 1080), None)?;
//! let mut marked = Vec::new();
//! let mut collect = |frame| {
//!     marked.push(frame);
//!     Ok(())
//! };
//! for _ in 0..10 {
//!     marker.push(VideoFrame::black(format, 1920, 1080), &mut collect)?;
//! }
//! marker.finish(&mut collect)?;
//! # Ok::<(), filigree::Error>(())
//! ```

mod device;
mod layout;
mod marker;
mod shader;

pub use device::{ALLOW_SOFTWARE_ENV, Gpu};
pub use marker::{FRAMES_IN_FLIGHT, GpuMarker};
