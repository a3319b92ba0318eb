//! Informed detection: with the original master at hand, the leak is registered to it in
//! time (which master frame each leaked frame shows, through frame-rate changes, cuts and
//! excerpts, by matching small thumbnails) and in space (the master frame brought to the
//! leak's frame size, fitted in gain and offset), the original is subtracted and the residue
//! (the mark and the attack's noise, without the picture that dominates a blind reading) is
//! detected. The sync statistic and the false-positive bound are the blind ones.

use std::collections::VecDeque;
use std::path::Path;

use ndarray::Array2;

use super::detect::{
    FileDetection, KeyringEntry, ReadPlan, Registration, StreamClock, accusations,
    issued_codewords, strongest_key,
};
use crate::detect::Detector;
use crate::error::{Error, Result, VideoError};
use crate::plane::code_value_scale;
use crate::resample::area_resize;
use crate::video::readahead::{FrameQueue, Progress, ReadFor, spawn_reader};
use crate::video::{Planes, StreamInfo, VideoFrame};

/// Most seconds of a leak informed detection reads: it is for short or badly damaged leaks,
/// and holds the leak's thumbnails and a window of master frames in memory.
pub const INFORMED_MAX_SECONDS: f64 = 120.0;

/// Thumbnail (rows, cols) frames are matched by.
const THUMB: (usize, usize) = (18, 32);

/// Master frames kept behind the newest one read, for leaks that step back a little (a
/// frame-rate change repeats frames; a re-cut jumps back further and reopens the master).
const KEPT_BEHIND: usize = 48;

/// [`super::detect_file_with`] on the residue of `input` less `master`: reads at most
/// `plan.max_seconds` (and [`INFORMED_MAX_SECONDS`]) of the leak, every frame, one look.
pub fn detect_file_informed(
    input: &Path,
    master: &Path,
    keyring: &[KeyringEntry],
    plan: &ReadPlan,
    progress: Progress,
) -> Result<FileDetection> {
    assert!(!keyring.is_empty(), "detection needs at least one key");
    let limit = plan
        .max_seconds
        .unwrap_or(INFORMED_MAX_SECONDS)
        .min(INFORMED_MAX_SECONDS);
    let leak_thumbs = thumbnails(input, Some(limit))?;
    let master_thumbs = thumbnails(master, None)?;
    let matches: Vec<(usize, f64)> = leak_thumbs
        .iter()
        .map(|leaked| best_match(leaked, &master_thumbs))
        .collect();

    let (info, leak_frames, leak_reader) = spawn_reader(input.to_path_buf(), ReadFor::EVERY_FRAME)?;
    let mut masters = MasterFrames::open(master)?;
    let mut detector = Detector::for_stream(info.width, info.height);
    let mut frames_fed = 0;
    let fed = (|| -> Result<()> {
        for (frame, &(index, _)) in leak_frames.into_iter().zip(&matches) {
            let frame = frame?;
            let original = masters.get(index)?.view();
            match &frame.planes {
                Planes::Eight(p) => detector.add_informed(p[0].view(), 8, original.view())?,
                Planes::High(p) => {
                    detector.add_informed(p[0].view(), frame.format.bit_depth(), original.view())?
                }
            }
            frames_fed += 1;
            progress(frames_fed, Some(matches.len() as u64));
        }
        Ok(())
    })();
    leak_reader.join().expect("reader thread does not panic");
    fed?;
    let master_rate = masters.rate;
    drop(masters);

    let codewords = issued_codewords(keyring);
    let tries = keyring.len() as f64;
    let (key_index, detection) = strongest_key(&detector.evidence(), keyring, &codewords, tries);
    let frames = matches.len();
    let first = matches.iter().map(|m| m.0).min().unwrap_or(0);
    let last = matches.iter().map(|m| m.0).max().unwrap_or(0);
    let registration = Registration {
        frames,
        mean_similarity: matches.iter().map(|m| m.1).sum::<f64>() / frames.max(1) as f64,
        master_span: (first as f64 / master_rate, last as f64 / master_rate),
    };
    let seconds_analyzed = frames as f64 / info.frames_per_second();
    let accusations = keyring[key_index].issued.map_or_else(Vec::new, |issued| {
        accusations(issued, &detection, None, seconds_analyzed, tries)
    });
    Ok(FileDetection {
        seconds_analyzed,
        detection,
        info,
        stopped_early: false,
        looks: 1,
        frames_screened: 0,
        two_step: None,
        timeline: Vec::new(),
        accusations,
        frame_sizes: detector.frame_sizes().to_vec(),
        key_index,
        keys_tried: keyring.len(),
        explained: None,
        registration: Some(registration),
    })
}

/// A frame's luma on the 8-bit scale.
fn luma_8bit(frame: &VideoFrame) -> Array2<f32> {
    match &frame.planes {
        Planes::Eight(p) => p[0].mapv(f32::from),
        Planes::High(p) => {
            let scale = 1.0 / code_value_scale(frame.format.bit_depth());
            p[0].mapv(|v| f32::from(v) * scale)
        }
    }
}

/// A frame reduced to [`THUMB`], mean removed, unit length: two frames of one picture
/// match whatever the codec, scale, grade or gamma did to it.
fn thumbnail(frame: &VideoFrame) -> Vec<f32> {
    let small = area_resize(luma_8bit(frame).view(), THUMB.0, THUMB.1);
    let mean = small.mean().unwrap_or(0.0);
    let centred: Vec<f32> = small.iter().map(|v| v - mean).collect();
    let norm = centred.iter().map(|v| v * v).sum::<f32>().sqrt();
    centred
        .into_iter()
        .map(|v| if norm > 0.0 { v / norm } else { 0.0 })
        .collect()
}

/// Thumbnails of the frames of `path`, the first `max_seconds` of them when given.
fn thumbnails(path: &Path, max_seconds: Option<f64>) -> Result<Vec<Vec<f32>>> {
    let (info, frames, reader) = spawn_reader(path.to_path_buf(), ReadFor::EVERY_FRAME)?;
    let mut clock = StreamClock::new(&info);
    let mut thumbs = Vec::new();
    let read = (|| -> Result<()> {
        for frame in frames {
            let frame = frame?;
            if max_seconds.is_some_and(|max| clock.tick(&frame) >= max) && !thumbs.is_empty() {
                break;
            }
            thumbs.push(thumbnail(&frame));
        }
        Ok(())
    })();
    reader.join().expect("reader thread does not panic");
    read?;
    if thumbs.is_empty() {
        return Err(VideoError::NoFrames {
            path: path.to_path_buf(),
        }
        .into());
    }
    Ok(thumbs)
}

/// The master frame whose thumbnail correlates best with `leaked`, and how well.
fn best_match(leaked: &[f32], masters: &[Vec<f32>]) -> (usize, f64) {
    masters
        .iter()
        .map(|m| m.iter().zip(leaked).map(|(a, b)| a * b).sum::<f32>())
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or((0, 0.0), |(i, c)| (i, f64::from(c)))
}

/// The master's frames by index, read forward once, keeping [`KEPT_BEHIND`] frames for
/// small steps back; a larger step back reads the master again from the start.
struct MasterFrames {
    path: std::path::PathBuf,
    rate: f64,
    frames: FrameQueue,
    reader: Option<std::thread::JoinHandle<()>>,
    /// Index of `kept[0]`.
    first: usize,
    kept: VecDeque<Array2<f32>>,
}

impl MasterFrames {
    fn open(path: &Path) -> Result<MasterFrames> {
        let (info, frames, reader): (StreamInfo, _, _) =
            spawn_reader(path.to_path_buf(), ReadFor::EVERY_FRAME)?;
        Ok(MasterFrames {
            path: path.to_path_buf(),
            rate: info.frames_per_second(),
            frames,
            reader: Some(reader),
            first: 0,
            kept: VecDeque::new(),
        })
    }

    /// Master frame `index`'s luma on the 8-bit scale.
    fn get(&mut self, index: usize) -> Result<&Array2<f32>> {
        if index < self.first {
            *self = MasterFrames::open(&self.path)?;
        }
        while self.first + self.kept.len() <= index {
            let frame = self.frames.recv().map_err(|_| {
                Error::Video(VideoError::InvalidVideo {
                    path: self.path.clone(),
                    reason: "the master ended before a frame it matched".into(),
                })
            })??;
            self.kept.push_back(luma_8bit(&frame));
            if self.kept.len() > KEPT_BEHIND + 1 {
                self.kept.pop_front();
                self.first += 1;
            }
        }
        Ok(&self.kept[index - self.first])
    }
}

impl Drop for MasterFrames {
    fn drop(&mut self) {
        // Dropping the queue first lets the reader thread stop.
        let (_, empty) = std::sync::mpsc::sync_channel(1);
        drop(std::mem::replace(&mut self.frames, empty));
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}
