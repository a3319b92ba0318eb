//! Helpers shared by the workspace's integration tests, whatever crate they test: the
//! repository's bundled clips and titles made from them, the FFmpeg tools (Debian's `ffmpeg`
//! package, see `scripts/setup-debian`) and the scripts built on them, a plain HTTP
//! client for the servers under test, a virtual screen (Xvfb) recorded with x11grab, and
//! the line-level edits of a ledger that tamper tests make.
//!
//! This is test code: every failure panics, with the tool's stderr where there is one.

use std::path::{Path, PathBuf};

mod clips;
mod http;
pub mod ledger_file;
mod screen;
mod tools;

pub use clips::{X264_LEAK, X264_MASTER, leak_720p, title};
pub use http::{fetched_files, fetched_stream, http, http_with, player};
pub use screen::{Recorded, ScreenRecorder, Xvfb};
pub use tools::{ffmpeg, ffmpeg_with_input, ffprobe, ffprobe_json, handheld_leak};

/// The repository's root folder.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A file in the repository's `testdata/` (the bundled clips and golden images).
pub fn testdata(name: &str) -> PathBuf {
    repo().join("testdata").join(name)
}

/// A path as a command-line argument (test paths are UTF-8).
pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 test path")
}

/// File names in `dir`, hidden ones included, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
