//! FFmpeg files (in progress).
