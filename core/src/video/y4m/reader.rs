//! Reading a y4m stream: the header line, then a `FRAME` line and three planes per frame.
//! Every line is bounded and the frame buffer grows only as data arrives, so hostile input
//! costs little.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use ndarray::Array2;

use super::MAX_LINE;
use super::header::{SIGNATURE, parse_header};
use crate::error::{Error, Result, VideoError};
use crate::video::{FrameSource, Planes, StreamInfo, VideoFrame};

const FRAME_TAG: &[u8] = b"FRAME";

/// Reads frames from a y4m stream (a pipe or a file).
///
/// After the stream ends, or after any error, `next_frame` returns `Ok(None)`. A stream with
/// a valid header but no frames makes the first `next_frame` return [`VideoError::NoFrames`]
/// (and later calls `Ok(None)`).
pub struct Y4mReader<R: BufRead> {
    reader: R,
    name: PathBuf,
    info: StreamInfo,
    /// Bytes per frame (all three planes).
    frame_len: usize,
    /// Reused buffer for one frame's raw bytes.
    buf: Vec<u8>,
    /// Reused buffer for `FRAME` lines.
    line: Vec<u8>,
    frames_read: u64,
    done: bool,
}

impl Y4mReader<BufReader<File>> {
    /// Opens a y4m file.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Y4mReader::new(BufReader::with_capacity(1 << 20, file), path)
    }
}

impl<R: BufRead> Y4mReader<R> {
    /// Reads and checks the stream header. `name` is what errors call the stream (`-` for
    /// stdin).
    pub fn new(mut reader: R, name: impl Into<PathBuf>) -> Result<Self> {
        let name = name.into();
        let mut line = Vec::new();
        let malformed = |reason: String| {
            Error::Video(VideoError::MalformedY4m {
                path: name.clone(),
                reason,
            })
        };
        let complete = read_line_bounded(&mut reader, &mut line).map_err(|source| Error::Io {
            path: name.clone(),
            source,
        })?;
        if line.is_empty() {
            return Err(malformed("empty stream".into()));
        }
        if !line.starts_with(SIGNATURE) {
            return Err(malformed(
                "not a y4m stream (it does not start with YUV4MPEG2)".into(),
            ));
        }
        if !complete {
            return Err(malformed(if line.len() > MAX_LINE {
                format!("header line is longer than {MAX_LINE} bytes")
            } else {
                "truncated header (no newline)".into()
            }));
        }
        let info = parse_header(&line, &name)?;
        let frame_len = frame_len(&info);
        Ok(Y4mReader {
            reader,
            name,
            info,
            frame_len,
            buf: Vec::new(),
            line,
            frames_read: 0,
            done: false,
        })
    }

    fn malformed(&self, reason: String) -> Error {
        VideoError::MalformedY4m {
            path: self.name.clone(),
            reason,
        }
        .into()
    }

    fn io(&self, source: io::Error) -> Error {
        Error::Io {
            path: self.name.clone(),
            source,
        }
    }

    fn read_frame(&mut self) -> Result<Option<VideoFrame>> {
        let index = self.frames_read;
        let complete = read_line_bounded(&mut self.reader, &mut self.line)
            .map_err(|source| self.io(source))?;
        if self.line.is_empty() {
            if index == 0 {
                return Err(VideoError::NoFrames {
                    path: self.name.clone(),
                }
                .into());
            }
            return Ok(None);
        }
        let tag_ok = self.line.starts_with(FRAME_TAG)
            && matches!(self.line.get(FRAME_TAG.len()), None | Some(b' ' | b'\n'));
        if !tag_ok {
            return Err(self.malformed(format!(
                "expected FRAME at frame {index}, found {:?}",
                preview(&self.line)
            )));
        }
        if !complete {
            return Err(self.malformed(if self.line.len() > MAX_LINE {
                format!("FRAME line of frame {index} is longer than {MAX_LINE} bytes")
            } else {
                format!("truncated frame {index} (FRAME line has no newline)")
            }));
        }

        // Grow the buffer only as data arrives, so a header claiming a huge frame costs
        // nothing unless the data is really there; after the first frame it is reused.
        self.buf.clear();
        let got = (&mut self.reader)
            .take(self.frame_len as u64)
            .read_to_end(&mut self.buf)
            .map_err(|source| self.io(source))?;
        if got < self.frame_len {
            return Err(self.malformed(format!(
                "truncated frame {index}: expected {} bytes, got {got}",
                self.frame_len
            )));
        }

        let planes = self.planes()?;
        self.frames_read += 1;
        Ok(Some(VideoFrame {
            format: self.info.format,
            planes,
            pts: Some(index as i64),
        }))
    }

    /// Splits the frame buffer (exactly `frame_len` bytes) into the three planes.
    fn planes(&self) -> Result<Planes> {
        let (w, h) = (self.info.width, self.info.height);
        let (cw, ch) = self.info.format.chroma_size(w, h);
        let shapes = [(h, w), (ch, cw), (ch, cw)];
        let bytes_per_sample = if self.info.format.bit_depth() == 8 {
            1
        } else {
            2
        };
        let (y, rest) = self.buf.split_at(w * h * bytes_per_sample);
        let (u, v) = rest.split_at(cw * ch * bytes_per_sample);
        let bytes = [y, u, v];
        let shape_err = |e: ndarray::ShapeError| self.malformed(format!("plane layout: {e}"));
        if bytes_per_sample == 1 {
            let plane = |i: usize| Array2::from_shape_vec(shapes[i], bytes[i].to_vec());
            Ok(Planes::Eight([
                plane(0).map_err(shape_err)?,
                plane(1).map_err(shape_err)?,
                plane(2).map_err(shape_err)?,
            ]))
        } else {
            let plane = |i: usize| {
                let samples = bytes[i]
                    .chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
                    .collect();
                Array2::from_shape_vec(shapes[i], samples)
            };
            Ok(Planes::High([
                plane(0).map_err(shape_err)?,
                plane(1).map_err(shape_err)?,
                plane(2).map_err(shape_err)?,
            ]))
        }
    }
}

impl<R: BufRead> FrameSource for Y4mReader<R> {
    fn info(&self) -> &StreamInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<VideoFrame>> {
        if self.done {
            return Ok(None);
        }
        let result = self.read_frame();
        if !matches!(result, Ok(Some(_))) {
            self.done = true;
        }
        result
    }
}

/// Reads one line into `line` (cleared first), at most `MAX_LINE + 1` bytes. Returns whether
/// the line ended with a newline within `MAX_LINE` bytes. An empty `line` means end of input.
fn read_line_bounded<R: BufRead>(reader: &mut R, line: &mut Vec<u8>) -> io::Result<bool> {
    line.clear();
    reader
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', line)?;
    Ok(line.len() <= MAX_LINE && line.last() == Some(&b'\n'))
}

/// The start of a bad line, for error messages.
fn preview(line: &[u8]) -> String {
    let end = line.len().min(16);
    String::from_utf8_lossy(&line[..end]).into_owned()
}

/// Bytes per frame. Bounded by the header checks: at most `MAX_PIXELS * 3 * 2`.
fn frame_len(info: &StreamInfo) -> usize {
    let (cw, ch) = info.format.chroma_size(info.width, info.height);
    let samples = info.width * info.height + 2 * cw * ch;
    if info.format.bit_depth() == 8 {
        samples
    } else {
        samples * 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::y4m::Y4mWriter;
    use crate::video::y4m::fixtures::{assert_malformed, info, pattern, read_all, reader};
    use crate::video::{FrameSink, PixelFormat};

    #[test]
    fn round_trip_odd_sizes() {
        for format in [
            PixelFormat::Yuv420p,
            PixelFormat::Yuv422p,
            PixelFormat::Yuv444p,
            PixelFormat::Yuv420p10,
            PixelFormat::Yuv422p10,
            PixelFormat::Yuv444p10,
        ] {
            let info = info(format, 33, 17);
            let frames: Vec<_> = (0..3).map(|i| pattern(format, 33, 17, i)).collect();
            let mut out = Vec::new();
            let mut w = Box::new(Y4mWriter::new(&mut out, &info, "-").unwrap());
            for f in &frames {
                w.write_frame(f).unwrap();
            }
            w.finish().unwrap();
            let expected_len = out.len();
            let header_end = out.iter().position(|&b| b == b'\n').unwrap() + 1;
            assert_eq!(
                expected_len - header_end,
                3 * (6 + frame_len(&info)),
                "{format:?}"
            );

            let (got_info, got) = read_all(&out).unwrap();
            assert_eq!(got_info, info, "{format:?}");
            assert_eq!(got.len(), 3);
            for (i, (a, b)) in frames.iter().zip(&got).enumerate() {
                assert_eq!(a.planes, b.planes, "{format:?} frame {i}");
                assert_eq!(b.format, format);
                assert_eq!(b.pts, Some(i as i64));
            }
        }
    }

    #[test]
    fn hostile_frames() {
        let header = b"YUV4MPEG2 W4 H2 C420\n"; // 12 bytes per frame
        let with = |rest: &[u8]| [&header[..], rest].concat();
        assert_malformed(&with(b"GARBAGE\n0123456789ab"), "expected FRAME at frame 0");
        assert_malformed(&with(b"FRAMEX\n0123456789ab"), "expected FRAME");
        assert_malformed(&with(&[0xff; 5000]), "expected FRAME");
        assert_malformed(
            &with(b"FRAME\n0123456789abFRAM"),
            "expected FRAME at frame 1",
        );
        assert_malformed(&with(b"FRAME\n0123456789abFRAME"), "truncated frame 1");
        assert_malformed(
            &with(b"FRAME\n0123456789abFRAME\n01234"),
            "truncated frame 1",
        );
        assert_malformed(&with(b"FRAME\n"), "truncated frame 0");
        let mut long = with(b"FRAME ");
        long.resize(header.len() + 100_000, b'x');
        assert_malformed(&long, "longer than");
        // A header claiming an 8K frame with little data behind it: error, no 384 MiB buffer.
        assert_malformed(
            b"YUV4MPEG2 W8192 H8192 C444p10\nFRAME\nabc",
            "truncated frame 0",
        );

        // Header only: NoFrames, then None.
        let mut r = reader(header).unwrap();
        assert!(matches!(
            r.next_frame(),
            Err(Error::Video(VideoError::NoFrames { .. }))
        ));
        assert!(r.next_frame().unwrap().is_none());

        // After an error the reader is done.
        let bad = with(b"FRAME\n0123456789abJUNK\n");
        let mut r = reader(&bad).unwrap();
        assert!(r.next_frame().unwrap().is_some());
        assert!(r.next_frame().is_err());
        assert!(r.next_frame().unwrap().is_none());
    }
}
