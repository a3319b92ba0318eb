//! Helpers shared by the CLI integration tests: running `filigree`, and the workspace's
//! shared test helpers (`filigree-testsupport`) they use most.

#![allow(dead_code)] // each test binary uses a subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

#[allow(unused_imports)] // each test binary uses a subset
pub(crate) use filigree_testsupport::{entries, ffmpeg, p, testdata};

/// Runs the built `filigree` binary.
pub(crate) fn filigree(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_filigree"))
        .args(args)
        .output()
        .expect("run filigree")
}

/// A new key at `dir/name`, made by `filigree keygen`.
pub(crate) fn new_key(dir: &Path, name: &str) -> PathBuf {
    let key = dir.join(name);
    let out = filigree(&["keygen", "--quiet", "--out", p(&key)]);
    assert!(out.status.success(), "keygen: {}", stderr(&out));
    key
}

/// What a command wrote to stderr, as text.
pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `filigree detect --json --quiet --key KEY EXTRA... INPUT`: its exit code and its JSON.
pub(crate) fn detect_json(key: &Path, input: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["detect", "--json", "--quiet", "--key", p(key)];
    args.extend_from_slice(extra);
    args.push(p(input));
    let out = filigree(&args);
    let code = out.status.code().expect("exit code");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "detect json ({e}): {} / {}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        )
    });
    (code, json)
}
