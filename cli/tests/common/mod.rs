//! Helpers shared by the CLI integration tests: running `filigree`, `filigree serve` as a
//! process, and the workspace's shared test helpers (`filigree-testsupport`) they use most.

#![allow(dead_code)] // each test binary uses a subset

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

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

/// `filigree serve` running as a child process; killed when dropped.
pub(crate) struct Server {
    pub child: Child,
    pub address: SocketAddr,
}

impl Server {
    /// Starts `filigree serve ARGS` and waits for the address it listens on.
    pub(crate) fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_filigree"))
            .arg("serve")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("filigree serve starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("serve prints its address")
                .expect("stderr is text");
            eprintln!("serve: {line}");
            if let Some(url) = line.split("listening on http://").nth(1) {
                break url.trim().parse().expect("an address");
            }
        };
        // Keep reading stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                eprintln!("serve: {line}");
            }
        });
        Server { child, address }
    }

    /// Sends `signal` (`-TERM`, `-KILL` ...) to the server.
    pub(crate) fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A live session opened by `filigree session new --live` (overlay `{label}  {session}
/// {timecode}`): its ID and token.
pub(crate) fn open_live(
    key: &Path,
    token_key: &Path,
    ledger: &Path,
    package: &Path,
    label: &str,
) -> (u32, String) {
    let out = filigree(&[
        "session",
        "new",
        "--key",
        p(key),
        "--token-key",
        p(token_key),
        "--ledger",
        p(ledger),
        "--label",
        label,
        "--live",
        "--overlay",
        "{label}  {session}  {timecode}",
        p(package),
    ]);
    assert!(out.status.success(), "session new: {}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["live"], true);
    let id = u32::from_str_radix(json["session"].as_str().unwrap(), 16).unwrap();
    (id, json["token"].as_str().unwrap().to_string())
}
