//! `ffmpeg`, `ffprobe` and `scripts/handheld-leak`, each run to completion.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Runs `command` with no stdin; panics with its stderr unless it succeeds.
fn run(command: &mut Command) -> Output {
    let output = command.stdin(Stdio::null()).output().unwrap_or_else(|e| {
        panic!(
            "cannot run {:?} ({e}); is ffmpeg installed? see scripts/setup-debian",
            command.get_program()
        )
    });
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs `ffmpeg` quietly with `args`, overwriting outputs; returns what it wrote to its
/// standard output (an output named `-`).
pub fn ffmpeg(args: &[&str]) -> Vec<u8> {
    run(Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-v", "error", "-y"])
        .args(args))
    .stdout
}

/// Runs `ffmpeg` quietly with `args`, feeding it `input` on stdin (`-i -` reads it); returns
/// what it wrote to its standard output.
pub fn ffmpeg_with_input(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut command = Command::new("ffmpeg");
    command
        .args(["-hide_banner", "-v", "error", "-y"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap_or_else(|e| {
        panic!("cannot run ffmpeg ({e}); is ffmpeg installed? see scripts/setup-debian")
    });
    let mut stdin = child.stdin.take().expect("ffmpeg stdin");
    // Feed stdin on a writer thread while this one drains stdout and stderr, so neither pipe
    // fills up; dropping stdin at the end is ffmpeg's end of input.
    let (output, written) = std::thread::scope(|s| {
        let writer = s.spawn(move || stdin.write_all(input));
        let output = child.wait_with_output().expect("wait for ffmpeg");
        (output, writer.join().expect("writer thread panicked"))
    });
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    if let Err(e) = written {
        panic!("{command:?}: writing its input failed: {e}");
    }
    output.stdout
}

/// Runs `ffprobe -v error ARGS PATH`; returns its standard output.
pub fn ffprobe(args: &[&str], path: &Path) -> String {
    let output = run(Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .arg(path));
    String::from_utf8(output.stdout).expect("ffprobe prints text")
}

/// `path`'s streams and format as ffprobe reports them (`{"streams": [...], "format": {...}}`).
pub fn ffprobe_json(path: &Path) -> Value {
    let text = ffprobe(&["-show_streams", "-show_format", "-of", "json"], path);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("ffprobe json ({e}): {text}"))
}

/// Runs `scripts/handheld-leak` (the scope master, and the phone-at-a-screen leak it makes
/// of a master with FFmpeg) with `args`.
pub fn handheld_leak<S: AsRef<OsStr>>(args: &[S]) {
    run(Command::new(crate::repo().join("scripts/handheld-leak")).args(args));
}
