//! Titles and leaks made from the bundled clips with libx264, as the end-to-end tests use
//! them.

use std::path::Path;

use crate::{ffmpeg, p, testdata};

/// The encode of a master the tests make: H.264 at CRF 12 (close to lossless), quickly.
pub const X264_MASTER: [&str; 6] = ["-c:v", "libx264", "-crf", "12", "-preset", "veryfast"];

/// The re-encode of a leak: H.264 at CRF 28, quickly.
pub const X264_LEAK: [&str; 6] = ["-c:v", "libx264", "-crf", "28", "-preset", "veryfast"];

/// A title at `path`: the `clips` of `testdata/` (all of one size and rate) played one after
/// another, video only, encoded with [`X264_MASTER`].
pub fn title(path: &Path, clips: &[&str]) {
    let inputs: Vec<_> = clips.iter().map(|clip| testdata(clip)).collect();
    let mut args = Vec::new();
    for input in &inputs {
        args.extend(["-i", p(input)]);
    }
    let streams: String = (0..clips.len()).map(|i| format!("[{i}:v]")).collect();
    let concat = format!("{streams}concat=n={}:v=1[v]", clips.len());
    args.extend(["-filter_complex", &concat, "-map", "[v]"]);
    args.extend(X264_MASTER);
    args.push(p(path));
    ffmpeg(&args);
}

/// `capture` leaked as a pirate would post it: scaled to 1280x720 and re-encoded with
/// [`X264_LEAK`] into `leak`.
pub fn leak_720p(capture: &Path, leak: &Path) {
    let mut args = vec!["-i", p(capture), "-vf", "scale=1280:720"];
    args.extend(X264_LEAK);
    args.push(p(leak));
    ffmpeg(&args);
}
