//! A virtual screen to record: an Xvfb X server, and FFmpeg's x11grab recording it. Both
//! are real processes (Debian's `xvfb` and `ffmpeg`, see `scripts/setup-debian`), killed
//! when their guard is dropped, so a failing test leaves neither behind.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// An Xvfb server on a display number of its own choosing (`-displayfd`, so tests running
/// at once never collide); killed when dropped.
pub struct Xvfb {
    child: Child,
    /// The display, as `DISPLAY` and x11grab name it (`:N`).
    pub display: String,
    /// The screen's size, `WxH`.
    pub size: String,
}

impl Xvfb {
    /// Starts Xvfb with one 24-bit screen of `width` x `height`; panics if it does not
    /// come up within 20 s.
    pub fn start(width: u32, height: u32) -> Xvfb {
        let size = format!("{width}x{height}");
        // -displayfd 1: Xvfb prints the display number it took on stdout once it is ready.
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", &format!("{size}x24")])
            .args(["-nolisten", "tcp", "-noreset"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run Xvfb ({e}); scripts/setup-debian installs it (xvfb)")
            });
        let stdout = child.stdout.take().expect("Xvfb stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let number = receiver
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_default();
        let number = number.trim();
        let mut screen = Xvfb {
            child,
            display: format!(":{number}"),
            size,
        };
        if number.is_empty() || number.parse::<u32>().is_err() {
            let status = screen.child.try_wait();
            panic!("Xvfb did not report a display within 20 s ({status:?})");
        }
        screen
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Frames an x11grab recording wrote, and how many of them FFmpeg duplicated to fill
/// gaps the grabber left (or dropped), from its `-progress` report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// Frames written to the recording.
    pub frames: u64,
    /// Frames FFmpeg repeated to fill times the grabber missed.
    pub duplicated: u64,
    /// Frames FFmpeg dropped.
    pub dropped: u64,
}

/// `ffmpeg -f x11grab` recording a whole screen into a file (libx264 ultrafast CRF 16, no
/// mouse pointer, constant frame rate) until [`ScreenRecorder::stop`]; killed when dropped.
pub struct ScreenRecorder {
    child: Child,
    stdin: Option<ChildStdin>,
    progress: PathBuf,
    /// When the first frame was grabbed, by the wall clock (as soon as FFmpeg's progress
    /// report said so: at most its half-second reporting period late), to line the
    /// recording up with what a browser reports.
    pub started: SystemTime,
}

impl ScreenRecorder {
    /// Starts recording `screen` at `fps` into `out`; returns once the first frame is in.
    pub fn start(screen: &Xvfb, fps: u32, out: &Path) -> ScreenRecorder {
        let progress = out.with_extension("progress");
        let log = std::fs::File::create(out.with_extension("log")).expect("x11grab log");
        let fps = fps.to_string();
        let mut child = Command::new("ffmpeg")
            .args(["-hide_banner", "-y", "-f", "x11grab", "-draw_mouse", "0"])
            .args([
                "-framerate",
                &fps,
                "-video_size",
                &screen.size,
                "-i",
                &screen.display,
            ])
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-crf", "16"])
            .args(["-pix_fmt", "yuv420p", "-r", &fps, "-progress"])
            .arg(&progress)
            .arg(out)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run ffmpeg ({e}); see scripts/setup-debian"));
        let stdin = child.stdin.take();
        let waited = Instant::now();
        loop {
            let text = std::fs::read_to_string(&progress).unwrap_or_default();
            if text.contains("frame=") {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(out.with_extension("log")).unwrap_or_default();
                panic!("ffmpeg x11grab exited ({status}): {log}");
            }
            assert!(
                waited.elapsed() < Duration::from_secs(20),
                "ffmpeg x11grab grabbed nothing in 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        ScreenRecorder {
            child,
            stdin,
            progress,
            started: SystemTime::now(),
        }
    }

    /// Stops recording ('q', as at a terminal), waits for the file to be finished and
    /// returns FFmpeg's totals.
    pub fn stop(mut self) -> Recorded {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"q");
        }
        let status = self.child.wait().expect("wait for ffmpeg x11grab");
        assert!(status.success(), "ffmpeg x11grab: {status}");
        let text = std::fs::read_to_string(&self.progress).expect("x11grab progress");
        let last = |key: &str| -> u64 {
            text.lines()
                .filter_map(|line| line.strip_prefix(key)?.strip_prefix('='))
                .next_back()
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0)
        };
        Recorded {
            frames: last("frame"),
            duplicated: last("dup_frames"),
            dropped: last("drop_frames"),
        }
    }
}

impl Drop for ScreenRecorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
