//! `embed --gpu` and `screen`: the GPU path through the CLI. CI has no GPU, so these run the
//! kernels on Mesa's lavapipe, allowed by FILIGREE_GPU_ALLOW_SOFTWARE=1.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use serde_json::Value;

use common::*;

fn filigree_with(env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_filigree"))
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("run filigree")
}

const SOFTWARE_GPU: (&str, &str) = ("FILIGREE_GPU_ALLOW_SOFTWARE", "1");

/// MD5 of every decoded frame of `path`, as FFmpeg's framemd5 lists them.
fn frame_hashes(path: &Path) -> Vec<String> {
    let hashes = ffmpeg(&["-i", p(path), "-map", "0:v", "-f", "framemd5", "-"]);
    String::from_utf8_lossy(&hashes)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.rsplit(',').next().unwrap().trim().to_string())
        .collect()
}

fn keygen(dir: &Path) -> String {
    p(&new_key(dir, "k.key")).to_string()
}

#[test]
fn embed_on_the_gpu_writes_the_same_frames_as_the_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let input = testdata("tos_360p24_10s.mp4");
    let (cpu, gpu) = (dir.path().join("cpu.mp4"), dir.path().join("gpu.mp4"));
    let mark = |out: &Path, extra: &[&str]| {
        let mut args = vec!["embed", "--json", "--key", &key, "--recipient", "77"];
        args.extend(extra);
        args.extend(["--overlay", "{recipient} {timecode}", "--session", "s1"]);
        args.extend([p(&input), p(out)]);
        let out = filigree_with(&[SOFTWARE_GPU], &args);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    assert_eq!(mark(&cpu, &[])["marked_on"], "CPU");
    let on_gpu = mark(&gpu, &["--gpu"]);
    assert!(
        on_gpu["marked_on"].as_str().unwrap().starts_with("GPU "),
        "{on_gpu}"
    );
    // The same decoded pictures: the GPU kernels reproduce the CPU's overlay and mark.
    let (a, b) = (frame_hashes(&cpu), frame_hashes(&gpu));
    assert_eq!(a.len(), 240);
    let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
    assert_eq!(same, a.len(), "{same} of {} frames identical", a.len());

    let out = filigree(&["detect", "--json", "--key", &key, p(&gpu)]);
    let detection: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(detection["recipient"], 77);
}

#[test]
fn without_a_hardware_gpu_the_cpu_marks_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let output = dir.path().join("out.mp4");
    // Only Mesa's software renderer (even on a machine with a GPU), which is not used
    // unless allowed; then no Vulkan driver at all.
    let lavapipe = std::fs::read_dir("/usr/share/vulkan/icd.d")
        .expect("install mesa-vulkan-drivers (scripts/setup-debian)")
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("lvp_icd")
        })
        .expect("lavapipe's ICD file");
    let lavapipe = p(&lavapipe);
    for env in [
        vec![
            ("VK_ICD_FILENAMES", lavapipe),
            ("VK_DRIVER_FILES", lavapipe),
        ],
        vec![
            ("VK_ICD_FILENAMES", "/nonexistent.json"),
            ("VK_DRIVER_FILES", "/nonexistent.json"),
        ],
    ] {
        let out = filigree_with(
            &env,
            &[
                "embed",
                "--gpu",
                "--force",
                "--json",
                "--key",
                &key,
                "--recipient",
                "3",
                p(&testdata("tos_360p24_10s.mp4")),
                p(&output),
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("marking on the CPU"),
            "{}",
            stderr(&out)
        );
        let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(summary["marked_on"], "CPU");
    }
}

#[test]
fn screen_streams_a_paced_screener_to_a_player() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let clip = dir.path().join("clip.mp4");
    ffmpeg(&[
        "-i",
        p(&testdata("tos_360p24_10s.mp4")),
        "-t",
        "3",
        "-c",
        "copy",
        p(&clip),
    ]);
    let received = dir.path().join("received.mp4");
    // filigree screen ... - | <player>: here the player is an encoder recording what it got.
    let started = Instant::now();
    let mut screen = Command::new(env!("CARGO_BIN_EXE_filigree"))
        .env(SOFTWARE_GPU.0, SOFTWARE_GPU.1)
        .args([
            "screen",
            "-q",
            "--realtime",
            "--key",
            &key,
            "--recipient",
            "31337",
            "--overlay",
            "{recipient} {timecode}",
            p(&clip),
            "-",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let player = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "yuv4mpegpipe",
            "-i",
            "-",
            "-c:v",
            "libx264",
            "-crf",
            "23",
        ])
        .arg(&received)
        .stdin(screen.stdout.take().unwrap())
        .status()
        .unwrap();
    let screened = screen.wait_with_output().unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    assert!(screened.status.success(), "{}", stderr(&screened));
    assert!(player.success());
    // n frames at 24 fps are due over (n - 1)/24 s: pacing never delivers them faster.
    let frames = frame_hashes(&clip).len();
    assert!(frames >= 72);
    let due = (frames - 1) as f64 / 24.0;
    assert!(
        elapsed >= due,
        "{due:.2} s of video arrived in {elapsed:.2} s"
    );

    let out = filigree(&["detect", "--json", "--key", &key, p(&received)]);
    let detection: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(detection["recipient"], 31337, "{detection}");
    assert_eq!(detection["frames_used"], frames);
}
