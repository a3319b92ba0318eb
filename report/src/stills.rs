//! Stills of the suspect: frames spread over the stretch detection read, each with its time
//! in the file and its timecode, as inline PNG.

use std::io::Cursor;
use std::path::Path;

use base64::Engine;
use filigree::pipeline::FileDetection;
use filigree::rgb::frame_to_rgb;
use filigree::video::ffmpeg::FfmpegReader;
use filigree::video::{FrameSource, TimecodeClock};
use filigree::{Error, Result, VideoError};
use image::{ImageFormat, RgbImage, imageops};

/// Widest still shown (larger frames are scaled down).
const STILL_WIDTH: u32 = 480;

/// One still of the suspect.
#[derive(Debug, Clone)]
pub struct Still {
    /// Seconds from the first frame.
    pub seconds: f64,
    /// The frame's timecode (from the file's start timecode, else counted from 00:00:00:00).
    pub timecode: String,
    /// PNG, base64.
    pub png_base64: String,
}

/// `count` stills spread evenly over the seconds `found` read of `suspect`.
pub(crate) fn grab(suspect: &Path, found: &FileDetection, count: usize) -> Result<Vec<Still>> {
    let mut reader = FfmpegReader::open(suspect)?;
    reader.allow_size_changes();
    let info = reader.info().clone();
    let rate = info.frame_rate.as_f64().max(1.0);
    let clock = TimecodeClock::new(rate, info.timecode);
    let wanted: Vec<u64> = (0..count)
        .map(|i| {
            let at = found.seconds_analyzed * (i as f64 + 0.5) / count as f64;
            (at * rate) as u64
        })
        .collect();
    let mut stills = Vec::new();
    let mut index = 0u64;
    while let Some(frame) = reader.next_frame()? {
        if wanted.get(stills.len()) == Some(&index) {
            let rgb = frame_to_rgb(&frame, &info.color);
            let (height, width, _) = rgb.dim();
            let picture =
                RgbImage::from_raw(width as u32, height as u32, rgb.into_raw_vec_and_offset().0)
                    .expect("one RGB triple per pixel");
            let scale = f64::from(STILL_WIDTH) / width as f64;
            let picture = if scale < 1.0 {
                let h = ((height as f64 * scale).round() as u32).max(1);
                imageops::resize(&picture, STILL_WIDTH, h, imageops::FilterType::Triangle)
            } else {
                picture
            };
            let mut png = Cursor::new(Vec::new());
            picture.write_to(&mut png, ImageFormat::Png).map_err(|e| {
                Error::Video(VideoError::InvalidVideo {
                    path: suspect.to_path_buf(),
                    reason: format!("cannot encode a still: {e}"),
                })
            })?;
            stills.push(Still {
                seconds: index as f64 / rate,
                timecode: clock.at(index).to_string(),
                png_base64: base64::engine::general_purpose::STANDARD.encode(png.into_inner()),
            });
            if stills.len() == wanted.len() {
                break;
            }
        }
        index += 1;
    }
    Ok(stills)
}
