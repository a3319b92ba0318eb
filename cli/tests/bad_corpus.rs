//! The hostile-input corpus in `testdata/bad/`: every file must fail cleanly.
//!
//! The command depends on the extension:
//! - video (`.mp4 .mkv .mov .m4a .wav .png .jpg .bmp .y4m`): `embed` into a fresh directory
//!   and `detect`; `.y4m` files also on stdin (`-`), which takes Filigree's own y4m reader
//!   instead of FFmpeg's.
//! - `.key`: used as `--key` for `embed` and `detect` on a good clip.
//! - `.jsonl`: `ledger verify`, `ledger show`, and `embed --ledger` with a copy of it.
//!
//! The contract for each: exit code 2 (`ledger verify`: 1, it reports damage as a finding),
//! one line on stderr that starts `filigree: error:` and names the file, no panic, no output
//! or temporary file left behind, the ledger untouched. Every command runs under an
//! address-space limit and a timeout, so unbounded allocation or a hang fails the test.
//!
//! Two groups have a different contract, recorded in the names:
//! - `*too-small*`: decodable pictures below the embedder's minimum size. `embed` refuses them
//!   (exit 2); `detect` analyses them like any downscaled leak and finds no mark (exit 1).
//! - `tolerated-*`: damage FFmpeg repairs or conceals. Either outcome is fine, exit 0 with
//!   exactly the output file, which must decode without errors, or a clean exit 2 with
//!   nothing, but never a crash, a hang or a partial file.
//!
//! All violations are collected and reported together.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use common::*;

/// Seconds before a command counts as hung (tiny inputs take well under one second).
const TIMEOUT_SECONDS: u32 = 30;
/// Address-space limit per command, in KiB (4 GB). A small embed needs about 0.6 GB.
const MEMORY_KIB: u64 = 4_000_000;
/// The corpus must hold at least this many files that must be rejected.
const MIN_BAD_FILES: usize = 50;
/// Each corpus file, and the whole corpus, must stay small.
const MAX_FILE_BYTES: u64 = 100_000;
const MAX_CORPUS_BYTES: u64 = 1_500_000;

const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "mkv", "mov", "m4a", "wav", "png", "jpg", "bmp", "y4m",
];

/// OS error texts that FFmpeg's error codes turn into; they blame the system or the command
/// line for what is a broken file.
const MISLEADING: &[&str] = &[
    "Device or resource busy",
    "Input/output error",
    "Invalid argument",
    "Resource temporarily unavailable",
];

/// What one command did.
struct Run {
    what: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn fail(&self, problem: impl std::fmt::Display) -> String {
        format!(
            "{}: {problem}\n    exit {:?}; stderr: {:?}; stdout: {:?}",
            self.what,
            self.code,
            self.stderr.trim_end(),
            truncate(&self.stdout, 300)
        )
    }

    fn hung(&self) -> bool {
        matches!(self.code, Some(124 | 137) | None)
    }

    /// Exit code 2 with one clear line naming `needle`.
    fn clean_error(&self, needle: &str) -> Result<(), String> {
        if self.hung() {
            return Err(self.fail(format!(
                "hung or killed (timeout {TIMEOUT_SECONDS} s, memory limit {MEMORY_KIB} KiB)"
            )));
        }
        self.no_crash()?;
        if self.code != Some(2) {
            return Err(self.fail("expected exit code 2"));
        }
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        if lines.len() != 1 {
            return Err(self.fail(format!("expected one line on stderr, got {}", lines.len())));
        }
        if !lines[0].starts_with("filigree: error: ") {
            return Err(self.fail("the line does not start with \"filigree: error: \""));
        }
        if !lines[0].contains(needle) {
            return Err(self.fail(format!("the message does not name {needle:?}")));
        }
        if let Some(text) = MISLEADING.iter().find(|t| lines[0].contains(*t)) {
            return Err(self.fail(format!(
                "unclear message: {text:?} describes the system, not the broken file"
            )));
        }
        if !self.stdout.is_empty() {
            return Err(self.fail("expected nothing on stdout"));
        }
        Ok(())
    }

    fn no_crash(&self) -> Result<(), String> {
        if self.hung() {
            return Err(self.fail("hung or killed"));
        }
        for sign in [
            "panicked",
            "internal error",
            "RUST_BACKTRACE",
            "stack backtrace",
        ] {
            if self.stderr.contains(sign) {
                return Err(self.fail(format!("crashed ({sign:?})")));
            }
        }
        Ok(())
    }
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// Runs `filigree args` under the memory limit and timeout, with `TMPDIR` set to `tmp` and
/// stdin from `stdin` (or nothing).
fn run(what: String, args: &[OsString], stdin: Option<&Path>, tmp: &Path) -> Run {
    let script =
        format!("ulimit -v {MEMORY_KIB} || exit 99; exec timeout -k 5 {TIMEOUT_SECONDS} \"$@\"");
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg("bash")
        .arg(env!("CARGO_BIN_EXE_filigree"))
        .args(args)
        .env("TMPDIR", tmp)
        // glibc reserves 64 MB of address space per malloc arena; keep that from counting
        // against the limit on machines with many cores.
        .env("MALLOC_ARENA_MAX", "2")
        .env_remove("RUST_BACKTRACE")
        .stdin(match stdin {
            Some(path) => Stdio::from(std::fs::File::open(path).unwrap()),
            None => Stdio::null(),
        })
        .output()
        .expect("run bash");
    Run {
        what,
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn args(list: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    list.iter().map(|a| a.as_ref().to_os_string()).collect()
}

fn expect_files(what: &str, dir: &Path, expected: &[&str]) -> Result<(), String> {
    let found = entries(dir);
    if found != expected {
        return Err(format!(
            "{what}: {} holds {found:?}, expected {expected:?} (leftover output or temp file)",
            dir.file_name().unwrap().to_string_lossy()
        ));
    }
    Ok(())
}

/// Whether FFmpeg decodes every frame of `video` without an error.
fn decodes(video: &Path) -> bool {
    Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-nostdin", "-i"])
        .arg(video)
        .args(["-f", "null", "-"])
        .output()
        .is_ok_and(|out| out.status.success() && out.stderr.is_empty())
}

/// Shared by all cases: a key and a small clip that embeds fine.
struct Fixture {
    key: PathBuf,
    clip: PathBuf,
}

/// Checks one corpus file; returns the violations.
fn check_file(fixture: &Fixture, path: &Path, work: &Path) -> Vec<String> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut problems = Vec::new();
    let mut check = |result: Result<(), String>| {
        if let Err(problem) = result {
            problems.push(problem);
        }
    };
    let out = work.join("out");
    let tmp = work.join("tmp");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    let marked = out.join("marked.mp4");
    let key = &fixture.key;
    let clip = &fixture.clip;
    // What a command left behind. A killed command may leave its temporary file; the hang is
    // reported already.
    let clean = |r: &Run, out: &Path, tmp: &Path, expected: &[&str]| {
        if r.hung() {
            return Ok(());
        }
        expect_files(&r.what, out, expected).and_then(|()| expect_files(&r.what, tmp, &[]))
    };
    // Empties both directories, so the next command starts fresh.
    let reset = || {
        for dir in [&out, &tmp] {
            std::fs::remove_dir_all(dir).unwrap();
            std::fs::create_dir(dir).unwrap();
        }
    };

    if VIDEO_EXTENSIONS.contains(&ext.as_str()) {
        let tolerated = name.starts_with("tolerated-");
        let too_small = name.contains("too-small");
        let mut inputs = vec![(path.to_path_buf(), None, name.clone())];
        if ext == "y4m" {
            // On stdin the stream goes through Filigree's own y4m reader.
            inputs.push((PathBuf::from("-"), Some(path), "-".to_string()));
        }
        for (input, stdin, shown) in inputs {
            let via = if stdin.is_some() { " (stdin)" } else { "" };
            let r = run(
                format!("embed {name}{via}"),
                &args(&[
                    &"embed",
                    &"--quiet",
                    &"--key",
                    key,
                    &"--recipient",
                    &"7",
                    &input,
                    &marked,
                ]),
                stdin,
                &tmp,
            );
            if tolerated && r.code == Some(0) {
                check(r.no_crash());
                check(clean(&r, &out, &tmp, &["marked.mp4"]));
                if !decodes(&marked) {
                    check(Err(r.fail("exit 0 but FFmpeg cannot decode the output")));
                }
            } else {
                let needle = if too_small { "needs at least" } else { &shown };
                check(r.clean_error(needle));
                check(clean(&r, &out, &tmp, &[]));
            }
            reset();

            let r = run(
                format!("detect {name}{via}"),
                &args(&[&"detect", &"--quiet", &"--key", key, &input]),
                stdin,
                &tmp,
            );
            if too_small || (tolerated && matches!(r.code, Some(0 | 1))) {
                check(r.no_crash());
                if r.code != Some(1) && !tolerated {
                    check(Err(r.fail("expected exit 1 (no watermark)")));
                } else if !r.stderr.trim().is_empty() {
                    check(Err(r.fail("expected nothing on stderr with --quiet")));
                }
            } else {
                check(r.clean_error(&shown));
            }
            check(clean(&r, &out, &tmp, &[]));
            reset();
        }
    } else if ext == "key" {
        let content = std::fs::read(path).unwrap();
        for command in ["embed", "detect"] {
            let list: Vec<OsString> = if command == "embed" {
                args(&[
                    &"embed",
                    &"--quiet",
                    &"--key",
                    &path,
                    &"--recipient",
                    &"7",
                    clip,
                    &marked,
                ])
            } else {
                args(&[&"detect", &"--quiet", &"--key", &path, clip])
            };
            let r = run(format!("{command} --key {name}"), &list, None, &tmp);
            check(r.clean_error(&name));
            check(clean(&r, &out, &tmp, &[]));
            // The message must not quote the file: a near-miss key is most of a key.
            let text = String::from_utf8_lossy(&content);
            let quoted = text
                .lines()
                .skip(1)
                .map(str::trim)
                .filter(|l| l.len() >= 12)
                .any(|l| r.stderr.contains(&l[..12]));
            if quoted {
                check(Err(r.fail("the message quotes key material")));
            }
        }
    } else if ext == "jsonl" {
        let chain_only = name.starts_with("ledger-chain-");
        let r = run(
            format!("ledger verify {name}"),
            &args(&[&"ledger", &"verify", &path]),
            None,
            &tmp,
        );
        // A readable ledger with a problem is a finding, not an error: exit 1, one line.
        check(r.no_crash());
        if r.code != Some(1) {
            check(Err(r.fail("expected exit 1 (problem found)")));
        } else if r.stdout.lines().count() != 1 || !r.stdout.contains(" FAILED at line ") {
            check(Err(r.fail("expected one \"FAILED at line\" line on stdout")));
        } else if !r.stderr.trim().is_empty() {
            check(Err(r.fail("expected nothing on stderr")));
        }

        let r = run(
            format!("ledger show {name}"),
            &args(&[&"ledger", &"show", &path]),
            None,
            &tmp,
        );
        if chain_only {
            // `show` lists what parses, then warns that the chain does not hold: exit 1.
            check(r.no_crash());
            if r.code != Some(1) || r.stdout.is_empty() {
                check(Err(r.fail("expected exit 1 and the entries listed")));
            } else if r.stderr.lines().count() != 1 || !r.stderr.contains("is damaged at line") {
                check(Err(r.fail(
                    "expected one \"is damaged at line\" warning on stderr",
                )));
            }
        } else {
            check(r.clean_error(&name));
        }

        let copy = out.join(&name);
        std::fs::copy(path, &copy).unwrap();
        let what = format!("embed --ledger {name}");
        let r = run(
            what.clone(),
            &args(&[
                &"embed",
                &"--quiet",
                &"--key",
                key,
                &"--recipient",
                &"7",
                &"--ledger",
                &copy,
                clip,
                &marked,
            ]),
            None,
            &tmp,
        );
        check(r.clean_error(&name));
        check(clean(&r, &out, &tmp, &[name.as_str()]));
        if std::fs::read(&copy).ok() != std::fs::read(path).ok() {
            check(Err(format!("{what}: the ledger was modified")));
        }
    } else {
        check(Err(format!(
            "{name}: unknown extension; add it to the test or rename the file"
        )));
    }
    problems
}

#[test]
fn every_corpus_file_fails_cleanly() {
    let started = Instant::now();
    let corpus_dir = testdata("bad");
    let readme = std::fs::read_to_string(corpus_dir.join("README.md")).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.starts_with('.') && name != "README.md" && name != "make_corpus.py"
        })
        .collect();
    files.sort();

    // The corpus itself: big enough, small files, each one documented.
    let bad = files
        .iter()
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("tolerated-")
        })
        .count();
    assert!(
        bad >= MIN_BAD_FILES,
        "only {bad} must-fail files in testdata/bad"
    );
    let mut total = 0;
    let mut originals = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        let bytes = std::fs::read(path).unwrap();
        assert!(
            (bytes.len() as u64) < MAX_FILE_BYTES,
            "{name}: {} bytes",
            bytes.len()
        );
        assert!(
            readme.contains(&format!("`{name}`")),
            "{name} is not listed in testdata/bad/README.md"
        );
        total += bytes.len() as u64;
        originals.push(bytes);
    }
    assert!(total < MAX_CORPUS_BYTES, "corpus is {total} bytes");

    let work = tempfile::tempdir().unwrap();
    let key = new_key(work.path(), "good.key");
    let clip = work.path().join("good.mp4");
    ffmpeg(&[
        "-i",
        p(&testdata("tos_360p24_10s.mp4")),
        "-frames:v",
        "8",
        "-vf",
        "scale=320:180",
        "-an",
        "-c:v",
        "libx264",
        "-crf",
        "30",
        p(&clip),
    ]);
    let fixture = Fixture { key, clip };

    // Cases in parallel: most commands take a fraction of a second, and a hung one sleeps.
    let next = AtomicUsize::new(0);
    let problems = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    let dir = work.path().join(format!("case{i}"));
                    let found = check_file(&fixture, path, &dir);
                    problems.lock().unwrap().extend(found);
                }
            });
        }
    });

    for (path, original) in files.iter().zip(&originals) {
        assert_eq!(
            &std::fs::read(path).unwrap(),
            original,
            "{} was modified",
            path.display()
        );
    }
    let problems = problems.into_inner().unwrap();
    eprintln!(
        "{} corpus files ({bad} must fail) checked in {:.1} s",
        files.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        problems.is_empty(),
        "{} violations of the bad-input contract:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
