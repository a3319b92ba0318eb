//! Helpers shared by the CLI integration tests: paths, running `filigree` and `ffmpeg`.

#![allow(dead_code)] // each test binary uses a subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A file in the repository's `testdata/`.
pub fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(name)
}

/// A path as a command-line argument (test paths are UTF-8).
pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Runs the built `filigree` binary.
pub fn filigree(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_filigree"))
        .args(args)
        .output()
        .expect("run filigree")
}

/// A new key at `dir/name`, made by `filigree keygen`.
pub fn new_key(dir: &Path, name: &str) -> PathBuf {
    let key = dir.join(name);
    let out = filigree(&["keygen", "--quiet", "--out", p(&key)]);
    assert!(out.status.success(), "keygen: {}", stderr(&out));
    key
}

/// Runs Debian's `ffmpeg` quietly, overwriting outputs; panics with its stderr on failure.
pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-y", "-v", "error"])
        .args(args)
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// File names in `dir`, hidden ones included, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
