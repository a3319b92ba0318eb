//! Bad input of every kind: a clear one-line error, exit code 2, no panic, and no output or
//! temporary file left behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

use common::*;

struct Setup {
    dir: TempDir,
    key: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key(dir.path(), "k.key");
    Setup { dir, key }
}

/// Runs `filigree` with `args` under `bash -c` (so tests can set limits), asserts the error
/// contract and that `output_dir` holds exactly `expected_files` afterwards.
fn assert_clean_failure(
    case: &str,
    out: Output,
    output_dir: &Path,
    expected_files: &[&str],
    needle: &str,
) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{case}: exit code; stderr: {stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{case}: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "{case}: no message");
    assert!(
        lines
            .iter()
            .any(|l| l.to_lowercase().contains(&needle.to_lowercase())),
        "{case}: expected {needle:?} in: {stderr}"
    );
    let mut files: Vec<String> = std::fs::read_dir(output_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut expected: Vec<String> = expected_files.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(files, expected, "{case}: leftover or missing files");
}

fn embed(setup: &Setup, input: &Path, output: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_filigree"))
        .args([
            "embed",
            "--quiet",
            "--key",
            p(&setup.key),
            "--recipient",
            "5",
        ])
        .args(extra)
        .arg(input)
        .arg(output)
        .output()
        .unwrap()
}

fn detect(setup: &Setup, input: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_filigree"))
        .args(["detect", "--quiet", "--key", p(&setup.key)])
        .arg(input)
        .output()
        .unwrap()
}

/// Input files that are not usable video; each must fail embed and detect cleanly.
#[test]
fn unusable_inputs_fail_cleanly() {
    let s = setup();
    let inputs = s.dir.path().join("inputs");
    std::fs::create_dir(&inputs).unwrap();
    let clip = std::fs::read(testdata("tos_360p24_10s.mp4")).unwrap();

    let empty = inputs.join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let text = inputs.join("notes.mp4");
    std::fs::write(&text, "this is not a video\n".repeat(100)).unwrap();
    let truncated = inputs.join("truncated.mp4");
    std::fs::write(&truncated, &clip[..clip.len() / 10]).unwrap();
    let garbage = inputs.join("garbage.mkv");
    std::fs::write(
        &garbage,
        (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let audio_only = inputs.join("audio.m4a");
    ffmpeg(&["-f", "lavfi", "-i", "sine=d=1", p(&audio_only)]);
    let tiny = inputs.join("tiny.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=s=96x54:d=1",
        "-pix_fmt",
        "yuv420p",
        p(&tiny),
    ]);
    let missing = inputs.join("missing.mp4");

    for (case, input, needle) in [
        ("empty file", &empty, "empty.mp4"),
        ("text file", &text, "notes.mp4"),
        ("truncated mp4", &truncated, "truncated.mp4"),
        ("random bytes", &garbage, "garbage.mkv"),
        ("audio only", &audio_only, "no video stream"),
        ("tiny frames", &tiny, "96x54"),
        ("missing file", &missing, "missing.mp4"),
    ] {
        let out_dir = s.dir.path().join(format!("out-{}", case.replace(' ', "-")));
        std::fs::create_dir(&out_dir).unwrap();
        let result = embed(&s, input, &out_dir.join("marked.mp4"), &[]);
        assert_clean_failure(&format!("embed {case}"), result, &out_dir, &[], needle);
        if case != "tiny frames" {
            let result = detect(&s, input);
            assert_clean_failure(&format!("detect {case}"), result, &out_dir, &[], needle);
        }
    }
}

#[test]
fn bit_flipped_video_never_panics_or_leaves_partial_output() {
    let s = setup();
    let mut clip = std::fs::read(testdata("caminandes_360p24_10s.mp4")).unwrap();
    // Corrupt the middle of the stream, keep the header: decoders conceal or fail, never crash.
    let len = clip.len();
    for i in (len / 3..len / 2).step_by(97) {
        clip[i] ^= 0x5a;
    }
    let corrupt = s.dir.path().join("corrupt.mp4");
    std::fs::write(&corrupt, &clip).unwrap();
    let out_dir = s.dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = embed(&s, &corrupt, &out_dir.join("marked.mp4"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    match out.status.code() {
        // Concealed errors: a complete output, exactly one file.
        Some(0) => assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 1),
        Some(2) => assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 0, "{stderr}"),
        other => panic!("unexpected exit {other:?}: {stderr}"),
    }
}

#[test]
fn bad_keys_fail_cleanly_without_echoing_key_material() {
    let s = setup();
    let out_dir = s.dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let clip = testdata("caminandes_360p24_10s.mp4");
    let secret_like = "ab".repeat(31);
    for (case, content, needle) in [
        ("malformed key", "not a key".to_string(), "bad.key"),
        (
            "short key",
            format!("filigree-key-v1\n{secret_like}\n"),
            "62",
        ),
        ("empty key", String::new(), "bad.key"),
    ] {
        let bad = s.dir.path().join("bad.key");
        std::fs::write(&bad, &content).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_filigree"))
            .args([
                "embed",
                "--quiet",
                "--key",
                p(&bad),
                "--recipient",
                "1",
                p(&clip),
            ])
            .arg(out_dir.join("m.mp4"))
            .output()
            .unwrap();
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains(&secret_like),
            "{case}: key echoed"
        );
        assert_clean_failure(case, out, &out_dir, &[], needle);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_filigree"))
        .args([
            "detect",
            "--key",
            p(&s.dir.path().join("nope.key")),
            p(&clip),
        ])
        .output()
        .unwrap();
    assert_clean_failure("missing key", out, &out_dir, &[], "nope.key");
}

#[test]
fn output_problems_fail_cleanly() {
    let s = setup();
    let clip = testdata("caminandes_360p24_10s.mp4");
    let out_dir = s.dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();

    // Existing output without --force: refused, file untouched.
    let existing = out_dir.join("exists.mp4");
    std::fs::write(&existing, b"precious").unwrap();
    let out = embed(&s, &clip, &existing, &[]);
    assert_clean_failure("existing output", out, &out_dir, &["exists.mp4"], "--force");
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");

    // Output in a missing directory.
    let out = embed(&s, &clip, &out_dir.join("no/such/dir/m.mp4"), &[]);
    assert_clean_failure(
        "missing directory",
        out,
        &out_dir,
        &["exists.mp4"],
        "no/such/dir",
    );

    // Disk full mid-write, simulated with a file-size limit (EFBIG on write).
    let full = s.dir.path().join("full");
    std::fs::create_dir(&full).unwrap();
    let script = format!(
        "trap '' XFSZ; ulimit -f 64; exec '{}' embed --quiet --key '{}' --recipient 5 '{}' '{}'",
        env!("CARGO_BIN_EXE_filigree"),
        p(&s.key),
        p(&clip),
        p(&full.join("m.mkv"))
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert_clean_failure("disk full", out, &full, &[], "m.mkv");

    // Odd dimensions cannot be 4:2:0 encoded by libx264: refused before any output.
    let odd = s.dir.path().join("odd.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=s=321x181:d=1",
        "-pix_fmt",
        "yuv444p",
        "-c:v",
        "libx264",
        "-crf",
        "10",
        p(&odd),
    ]);
    let odd_out = s.dir.path().join("odd-out");
    std::fs::create_dir(&odd_out).unwrap();
    let out = embed(&s, &odd, &odd_out.join("m.mp4"), &[]);
    if out.status.code() == Some(0) {
        // 4:4:4 has no chroma rounding problem: the odd-sized output must exist and carry the ID.
        assert_eq!(std::fs::read_dir(&odd_out).unwrap().count(), 1);
    } else {
        assert_clean_failure("odd dimensions", out, &odd_out, &[], "321");
    }
}

#[test]
fn invalid_arguments_and_streams_fail_cleanly() {
    let s = setup();
    let clip = testdata("caminandes_360p24_10s.mp4");
    let out_dir = s.dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    for (case, extra, needle) in [
        ("strength zero", vec!["--strength", "0"], "strength"),
        ("strength huge", vec!["--strength", "1000"], "strength"),
        ("unknown codec", vec!["--codec", "mpeg9"], "codec"),
        ("crf out of range", vec!["--crf", "99"], "crf"),
    ] {
        let out = embed(&s, &clip, &out_dir.join("m.mp4"), &extra);
        assert_clean_failure(case, out, &out_dir, &[], needle);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_filigree"))
        .args([
            "embed",
            "--key",
            p(&s.key),
            "--recipient",
            "4294967296",
            p(&clip),
        ])
        .arg(out_dir.join("m.mp4"))
        .output()
        .unwrap();
    assert_clean_failure("recipient out of range", out, &out_dir, &[], "4294967296");

    // A y4m stream on stdin with an unsupported layout (monochrome) or a garbage header.
    for (case, stream, needle) in [
        (
            "mono y4m",
            b"YUV4MPEG2 W320 H180 F25:1 Cmono\nFRAME\n".to_vec(),
            "mono",
        ),
        ("garbage y4m", b"NOTAY4M\n".to_vec(), "y4m"),
        (
            "header only y4m",
            b"YUV4MPEG2 W320 H180 F25:1 C420jpeg\n".to_vec(),
            "no decodable",
        ),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_filigree"))
            .args([
                "embed",
                "--quiet",
                "--key",
                p(&s.key),
                "--recipient",
                "1",
                "-",
            ])
            .arg(out_dir.join("m.mp4"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        let _ = child.stdin.take().unwrap().write_all(&stream);
        let out = child.wait_with_output().unwrap();
        assert_clean_failure(case, out, &out_dir, &[], needle);
    }
}
