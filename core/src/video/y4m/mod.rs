//! YUV4MPEG2 (y4m) streams, so Filigree can sit in an FFmpeg pipe:
//!
//! ```text
//! ffmpeg -i in.mp4 -f yuv4mpegpipe - | filigree embed ... - - | ffmpeg -i - out.mp4
//! ```
//!
//! A stream is one header line (`YUV4MPEG2 W.. H.. F.. I.. A.. C.. X..`) followed by frames,
//! each a `FRAME` line (optionally with parameters, which are ignored) and the raw planes Y,
//! Cb, Cr in that order. High-bit-depth samples are little-endian `u16`.
//!
//! Reading accepts:
//! - `W`, `H` (required): each 1..=[`MAX_DIMENSION`], and at most [`MAX_PIXELS`] luma samples
//!   per frame (8192 x 8192, which covers 8K UHD 7680 x 4320 and DCI 8K 8192 x 4320). The
//!   largest frame is thus 384 MiB (4:4:4 10-bit), and buffers grow only as data arrives, so a
//!   hostile header alone cannot make the reader allocate that much.
//! - `F` (`num:den`, both positive; 25:1 when absent).
//! - `I`: `p` and `?` (progressive / unknown); `t`, `b` and `m` (interlaced) are accepted,
//!   read as whole frames and reported in [`StreamInfo::interlaced`] (`embed` refuses them).
//! - `A`: ignored.
//! - `C`: `420jpeg`, `420paldv`, `420mpeg2`, `420` (4:2:0, the default when absent), `422`,
//!   `444`, `420p10`, `422p10`, `444p10`. Anything else (`mono`, `411`, `444alpha`,
//!   `420p12`, ...) is [`Error::UnsupportedPixelFormat`]. Chroma siting is not kept.
//! - `XCOLORRANGE=FULL|LIMITED` sets [`ColorInfo::range`] (2 / 1, FFmpeg's `AVColorRange`);
//!   other `X` tags and unknown tags are ignored.
//!
//! Header and `FRAME` lines are limited to [`MAX_LINE`] bytes.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use ndarray::Array2;

use super::temp::TempOutput;
use super::{
    ColorInfo, FieldOrder, FrameSink, FrameSource, PixelFormat, Planes, Rational, StreamInfo,
    VideoFrame,
};
use crate::error::{Error, Result};

/// Longest header or `FRAME` line accepted, newline included.
pub const MAX_LINE: usize = 1024;
/// Largest width or height accepted (and written).
pub const MAX_DIMENSION: usize = 16384;
/// Most luma samples per frame accepted (and written): 8192 x 8192.
pub const MAX_PIXELS: usize = 8192 * 8192;

const SIGNATURE: &[u8] = b"YUV4MPEG2";
const FRAME_TAG: &[u8] = b"FRAME";

/// FFmpeg's `AVCOL_*_UNSPECIFIED` (primaries, transfer, matrix) and `AVCOL_RANGE_UNSPECIFIED`.
const UNSPECIFIED_COLOR: ColorInfo = ColorInfo {
    primaries: 2,
    transfer: 2,
    matrix: 2,
    range: 0,
};
const RANGE_LIMITED: i32 = 1;
const RANGE_FULL: i32 = 2;

/// Reads frames from a y4m stream (a pipe or a file).
///
/// After the stream ends, or after any error, `next_frame` returns `Ok(None)`. A stream with
/// a valid header but no frames makes the first `next_frame` return [`Error::NoFrames`]
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
        let malformed = |reason: String| Error::MalformedY4m {
            path: name.clone(),
            reason,
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
        Error::MalformedY4m {
            path: self.name.clone(),
            reason,
        }
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
                return Err(Error::NoFrames {
                    path: self.name.clone(),
                });
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

fn parse_header(line: &[u8], name: &Path) -> Result<StreamInfo> {
    let malformed = |reason: String| Error::MalformedY4m {
        path: name.to_owned(),
        reason,
    };
    let text =
        std::str::from_utf8(line).map_err(|_| malformed("header is not valid UTF-8".into()))?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    let mut tokens = text.split(' ').filter(|t| !t.is_empty());
    if tokens.next() != Some("YUV4MPEG2") {
        return Err(malformed(
            "not a y4m stream (it does not start with YUV4MPEG2)".into(),
        ));
    }

    let mut width = None;
    let mut height = None;
    let mut frame_rate = Rational::new(25, 1);
    let mut format = PixelFormat::Yuv420p;
    let mut color = UNSPECIFIED_COLOR;
    let mut interlaced = None;
    for token in tokens {
        let mut chars = token.chars();
        let Some(tag) = chars.next() else { continue };
        let value = chars.as_str();
        match tag {
            'W' => width = Some(parse_dimension(value, "width").map_err(malformed)?),
            'H' => height = Some(parse_dimension(value, "height").map_err(malformed)?),
            'F' => frame_rate = parse_rate(value).map_err(malformed)?,
            'I' => match value {
                "p" | "?" => interlaced = None,
                "t" => interlaced = Some(FieldOrder::TopFieldFirst),
                "b" => interlaced = Some(FieldOrder::BottomFieldFirst),
                "m" => interlaced = Some(FieldOrder::Mixed),
                _ => return Err(malformed(format!("invalid interlacing {token:?}"))),
            },
            'C' => {
                format = match value {
                    "420jpeg" | "420paldv" | "420mpeg2" | "420" => PixelFormat::Yuv420p,
                    "422" => PixelFormat::Yuv422p,
                    "444" => PixelFormat::Yuv444p,
                    "420p10" => PixelFormat::Yuv420p10,
                    "422p10" => PixelFormat::Yuv422p10,
                    "444p10" => PixelFormat::Yuv444p10,
                    other => {
                        return Err(Error::UnsupportedPixelFormat {
                            path: name.to_owned(),
                            format: format!("y4m C{other}"),
                        });
                    }
                }
            }
            'X' => match value {
                "COLORRANGE=FULL" => color.range = RANGE_FULL,
                "COLORRANGE=LIMITED" => color.range = RANGE_LIMITED,
                _ => {}
            },
            // `A` (pixel aspect ratio) and unknown tags.
            _ => {}
        }
    }
    let width = width.ok_or_else(|| malformed("header has no width (W)".into()))?;
    let height = height.ok_or_else(|| malformed("header has no height (H)".into()))?;
    check_size(width, height).map_err(malformed)?;
    Ok(StreamInfo {
        width,
        height,
        format,
        frame_rate,
        time_base: Rational::new(frame_rate.den, frame_rate.num),
        color,
        frames_hint: None,
        timecode: None,
        interlaced,
    })
}

fn parse_dimension(value: &str, what: &str) -> std::result::Result<usize, String> {
    let n: usize = value
        .parse()
        .map_err(|_| format!("invalid {what} {value:?}"))?;
    if n == 0 || n > MAX_DIMENSION {
        return Err(format!("{what} {n} is out of range (1..={MAX_DIMENSION})"));
    }
    Ok(n)
}

fn parse_rate(value: &str) -> std::result::Result<Rational, String> {
    let invalid = || format!("invalid frame rate {value:?} (expected F<num>:<den>, both positive)");
    let (num, den) = value.split_once(':').ok_or_else(invalid)?;
    let num: i32 = num.parse().map_err(|_| invalid())?;
    let den: i32 = den.parse().map_err(|_| invalid())?;
    if num <= 0 || den <= 0 {
        return Err(invalid());
    }
    Ok(Rational::new(num, den))
}

fn check_size(width: usize, height: usize) -> std::result::Result<(), String> {
    if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(format!(
            "frame size {width}x{height} is out of range (each side 1..={MAX_DIMENSION})"
        ));
    }
    if width * height > MAX_PIXELS {
        return Err(format!(
            "frame size {width}x{height} exceeds {MAX_PIXELS} pixels (8192x8192)"
        ));
    }
    Ok(())
}

fn colorspace_tag(format: PixelFormat) -> &'static str {
    match format {
        PixelFormat::Yuv420p => "420jpeg",
        PixelFormat::Yuv422p => "422",
        PixelFormat::Yuv444p => "444",
        PixelFormat::Yuv420p10 => "420p10",
        PixelFormat::Yuv422p10 => "422p10",
        PixelFormat::Yuv444p10 => "444p10",
    }
}

/// Writes frames as a y4m stream. The header is written by `new`; each frame is assembled in a
/// reused buffer and written with one `write_all`, so an unbuffered or line-buffered writer
/// (such as `stdout().lock()`) is fine. Write errors (a broken pipe included) are
/// [`Error::Io`]. Frame timestamps are not written: y4m frames are evenly spaced.
///
/// 10-bit formats are written as FFmpeg writes them (`C420p10` etc.); FFmpeg reads them back
/// without `-strict`.
pub struct Y4mWriter<W: Write> {
    writer: W,
    name: PathBuf,
    info: StreamInfo,
    buf: Vec<u8>,
    frames_written: u64,
}

impl<W: Write> Y4mWriter<W> {
    /// Writes the stream header for `info`. Fails with [`Error::Encode`] when `info` cannot be
    /// described in y4m (a size outside the reader's bounds, a non-positive frame rate).
    pub fn new(mut writer: W, info: &StreamInfo, name: impl Into<PathBuf>) -> Result<Self> {
        let name = name.into();
        let encode = |reason: String| Error::Encode {
            path: name.clone(),
            reason,
        };
        check_size(info.width, info.height).map_err(encode)?;
        let rate = info.frame_rate;
        if rate.num <= 0 || rate.den <= 0 {
            return Err(encode(format!(
                "frame rate {}/{} cannot be written to y4m",
                rate.num, rate.den
            )));
        }
        let range = match info.color.range {
            RANGE_FULL => " XCOLORRANGE=FULL",
            RANGE_LIMITED => " XCOLORRANGE=LIMITED",
            _ => "",
        };
        let header = format!(
            "YUV4MPEG2 W{} H{} F{}:{} Ip A1:1 C{}{range}\n",
            info.width,
            info.height,
            rate.num,
            rate.den,
            colorspace_tag(info.format)
        );
        writer
            .write_all(header.as_bytes())
            .map_err(|source| Error::Io {
                path: name.clone(),
                source,
            })?;
        Ok(Y4mWriter {
            writer,
            name,
            info: info.clone(),
            buf: Vec::new(),
            frames_written: 0,
        })
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> Result<W> {
        self.flush()?;
        Ok(self.writer)
    }

    fn flush(&mut self) -> Result<()> {
        self.writer.flush().map_err(|source| Error::Io {
            path: self.name.clone(),
            source,
        })
    }

    fn check(&self, frame: &VideoFrame) -> Result<()> {
        let index = self.frames_written;
        let info = &self.info;
        let mismatch = |what: String| Error::Encode {
            path: self.name.clone(),
            reason: format!(
                "frame {index} is {what} but the y4m stream is {}x{} {}",
                info.width,
                info.height,
                info.format.name()
            ),
        };
        if frame.format != info.format {
            return Err(mismatch(frame.format.name().to_string()));
        }
        let (cw, ch) = info.format.chroma_size(info.width, info.height);
        let expected = [(info.height, info.width), (ch, cw), (ch, cw)];
        let (shapes, high) = match &frame.planes {
            Planes::Eight(p) => (p.each_ref().map(|a| a.dim()), false),
            Planes::High(p) => (p.each_ref().map(|a| a.dim()), true),
        };
        if high != (info.format.bit_depth() > 8) {
            return Err(mismatch(format!(
                "{} with {} planes",
                frame.format.name(),
                if high { "16-bit" } else { "8-bit" }
            )));
        }
        if shapes != expected {
            let [(h, w), (ch, cw), _] = shapes;
            return Err(mismatch(format!("{w}x{h} (chroma {cw}x{ch})")));
        }
        Ok(())
    }
}

impl<W: Write> FrameSink for Y4mWriter<W> {
    fn write_frame(&mut self, frame: &VideoFrame) -> Result<()> {
        self.check(frame)?;
        self.buf.clear();
        self.buf.extend_from_slice(b"FRAME\n");
        match &frame.planes {
            Planes::Eight(planes) => {
                for plane in planes {
                    match plane.as_slice() {
                        Some(samples) => self.buf.extend_from_slice(samples),
                        None => self.buf.extend(plane.iter()),
                    }
                }
            }
            Planes::High(planes) => {
                for plane in planes {
                    self.buf.reserve(plane.len() * 2);
                    for &sample in plane {
                        self.buf.extend_from_slice(&sample.to_le_bytes());
                    }
                }
            }
        }
        self.writer
            .write_all(&self.buf)
            .map_err(|source| Error::Io {
                path: self.name.clone(),
                source,
            })?;
        self.frames_written += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.flush()
    }
}

/// A y4m file that appears at its path only when finished.
struct Y4mFile {
    writer: Y4mWriter<TempOutput>,
    path: PathBuf,
}

impl FrameSink for Y4mFile {
    fn write_frame(&mut self, frame: &VideoFrame) -> Result<()> {
        self.writer.write_frame(frame)
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let Y4mFile { writer, path } = *self;
        let file = writer.into_inner()?;
        let io = |source: io::Error| Error::Io {
            path: path.clone(),
            source,
        };
        file.as_file().sync_all().map_err(io)?;
        file.persist(&path).map_err(io)
    }
}

/// Writes a y4m file at `path`: frames go to a temporary file beside it (see
/// [`super::temp`]), renamed onto `path` (replacing any file there) by `finish`. Dropping the
/// sink unfinished removes the temporary file and leaves `path` untouched.
pub fn create_file(path: &Path, info: &StreamInfo) -> Result<Box<dyn FrameSink>> {
    let file = TempOutput::beside(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let writer = Y4mWriter::new(file, info, path)?;
    Ok(Box::new(Y4mFile {
        writer,
        path: path.to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use std::process::{Command, Stdio};

    fn info(format: PixelFormat, width: usize, height: usize) -> StreamInfo {
        StreamInfo {
            width,
            height,
            format,
            frame_rate: Rational::new(30000, 1001),
            time_base: Rational::new(1001, 30000),
            color: UNSPECIFIED_COLOR,
            frames_hint: None,
            timecode: None,
            interlaced: None,
        }
    }

    /// A frame with distinct, in-range sample values everywhere.
    fn pattern(format: PixelFormat, width: usize, height: usize, seed: usize) -> VideoFrame {
        let (cw, ch) = format.chroma_size(width, height);
        let shapes = [(height, width), (ch, cw), (ch, cw)];
        let value = |p: usize, r: usize, c: usize| (seed * 7 + p * 101 + r * 31 + c * 3) % 1024;
        let planes = if format.bit_depth() == 8 {
            Planes::Eight(
                [0, 1, 2].map(|p| {
                    Array2::from_shape_fn(shapes[p], |(r, c)| (value(p, r, c) % 256) as u8)
                }),
            )
        } else {
            Planes::High(
                [0, 1, 2].map(|p| Array2::from_shape_fn(shapes[p], |(r, c)| value(p, r, c) as u16)),
            )
        };
        VideoFrame {
            format,
            planes,
            pts: None,
        }
    }

    fn reader(bytes: &[u8]) -> Result<Y4mReader<Cursor<&[u8]>>> {
        Y4mReader::new(Cursor::new(bytes), "-")
    }

    fn read_all(bytes: &[u8]) -> Result<(StreamInfo, Vec<VideoFrame>)> {
        let mut r = reader(bytes)?;
        let mut frames = Vec::new();
        while let Some(f) = r.next_frame()? {
            frames.push(f);
        }
        Ok((r.info().clone(), frames))
    }

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
    fn writes_non_contiguous_planes() {
        let mut frame = pattern(PixelFormat::Yuv444p, 8, 8, 1);
        let expected = frame.clone();
        if let Planes::Eight(p) = &mut frame.planes {
            for plane in p.iter_mut() {
                // Same logical contents, column-major memory.
                let mut t = Array2::zeros(plane.t().dim());
                t.assign(&plane.t());
                *plane = t.reversed_axes();
                assert!(plane.as_slice().is_none());
            }
        }
        let mut out = Vec::new();
        let mut w = Y4mWriter::new(&mut out, &info(PixelFormat::Yuv444p, 8, 8), "-").unwrap();
        w.write_frame(&frame).unwrap();
        drop(w);
        let (_, got) = read_all(&out).unwrap();
        assert_eq!(got[0].planes, expected.planes);
    }

    #[test]
    fn header_variants() {
        let (info, frames) = read_all(b"YUV4MPEG2 W4 H2\nFRAME\n0123456789ab").unwrap();
        assert_eq!(info.frame_rate, Rational::new(25, 1));
        assert_eq!(info.time_base, Rational::new(1, 25));
        assert_eq!(info.format, PixelFormat::Yuv420p);
        assert_eq!(info.color, UNSPECIFIED_COLOR);
        assert_eq!(frames.len(), 1);

        let r = reader(b"YUV4MPEG2 W640 H360 F24:1 Ip A1:1 C420mpeg2 XYSCSS=420MPEG2\n").unwrap();
        let info = r.info();
        assert_eq!((info.width, info.height), (640, 360));
        assert_eq!(info.frame_rate, Rational::new(24, 1));
        assert_eq!(info.time_base, Rational::new(1, 24));
        assert_eq!(info.format, PixelFormat::Yuv420p);

        let r =
            reader(b"YUV4MPEG2 W8 H8 F30000:1001 It A0:0 C444p10 XCOLORRANGE=FULL Zfoo\n").unwrap();
        assert_eq!(r.info().format, PixelFormat::Yuv444p10);
        assert_eq!(r.info().color.range, RANGE_FULL);
        assert_eq!(r.info().time_base, Rational::new(1001, 30000));
        assert_eq!(r.info().interlaced, Some(FieldOrder::TopFieldFirst));
        let r = reader(b"YUV4MPEG2 W8 H8 C422 XCOLORRANGE=LIMITED\n").unwrap();
        assert_eq!(r.info().interlaced, None);
        assert_eq!(r.info().format, PixelFormat::Yuv422p);
        assert_eq!(r.info().color.range, RANGE_LIMITED);

        // Frame parameters are ignored.
        let (_, frames) = read_all(b"YUV4MPEG2 W2 H2 C444\nFRAME Ixyz\n012345678901").unwrap();
        assert_eq!(frames.len(), 1);
    }

    #[test]
    fn writer_header() {
        let mut info = info(PixelFormat::Yuv420p10, 7, 5);
        info.color.range = RANGE_LIMITED;
        let mut out = Vec::new();
        Y4mWriter::new(&mut out, &info, "-").unwrap();
        assert_eq!(
            out,
            b"YUV4MPEG2 W7 H5 F30000:1001 Ip A1:1 C420p10 XCOLORRANGE=LIMITED\n"
        );
    }

    #[test]
    fn unsupported_formats() {
        for c in [
            "mono", "411", "444alpha", "420p12", "420p9", "mono16", "xyz",
        ] {
            let header = format!("YUV4MPEG2 W8 H8 C{c}\n");
            match reader(header.as_bytes()) {
                Err(Error::UnsupportedPixelFormat { format, .. }) => assert!(format.contains(c)),
                other => panic!("C{c}: {:?}", other.map(|r| r.info().clone())),
            }
        }
    }

    fn assert_malformed(bytes: &[u8], needle: &str) {
        let mut err = match reader(bytes) {
            Err(e) => Some(e),
            Ok(mut r) => loop {
                match r.next_frame() {
                    Err(e) => break Some(e),
                    Ok(None) => break None,
                    Ok(Some(_)) => {}
                }
            },
        };
        match err.take() {
            Some(Error::MalformedY4m { reason, .. }) => {
                assert!(reason.contains(needle), "{reason:?} lacks {needle:?}")
            }
            other => panic!("expected MalformedY4m containing {needle:?}, got {other:?}"),
        }
    }

    #[test]
    fn hostile_headers() {
        assert_malformed(b"", "empty stream");
        assert_malformed(b"YUV4MPEG2 W99999999 H10\n", "out of range");
        assert_malformed(b"YUV4MPEG2 W99999999999999999999999 H10\n", "invalid width");
        assert_malformed(b"YUV4MPEG2 W16384 H16384\n", "exceeds");
        assert_malformed(b"YUV4MPEG2 W0 H10\n", "out of range");
        assert_malformed(b"YUV4MPEG2 W10 H0\n", "out of range");
        assert_malformed(b"YUV4MPEG2 W10\n", "no height");
        assert_malformed(b"YUV4MPEG2 H10\n", "no width");
        assert_malformed(b"YUV4MPEG2 Wten H10\n", "invalid width");
        assert_malformed(b"YUV4MPEG2 W-4 H10\n", "invalid width");
        assert_malformed(b"YUV4MPEG2 W10 H10 F0:1\n", "frame rate");
        assert_malformed(b"YUV4MPEG2 W10 H10 F25:0\n", "frame rate");
        assert_malformed(b"YUV4MPEG2 W10 H10 F-25:1\n", "frame rate");
        assert_malformed(b"YUV4MPEG2 W10 H10 F25\n", "frame rate");
        assert_malformed(b"YUV4MPEG2 W10 H10 Ix\n", "interlacing");
        assert_malformed(b"YUV4MPEG2 W10 H10 X\xff\xfe\n", "UTF-8");
        assert_malformed(b"YUV4MPEG2 W10 H10", "truncated header");
        assert_malformed(b"RIFF\0\0\0\0WAVE", "not a y4m");
        assert_malformed(&vec![b'A'; 1 << 20], "not a y4m");
        let mut long = b"YUV4MPEG2 ".to_vec();
        long.resize(1 << 20, b'A');
        assert_malformed(&long, "longer than");
        // 7680x4320 (8K UHD) and 8192x8192 are accepted; header alone allocates nothing big.
        assert!(reader(b"YUV4MPEG2 W7680 H4320 C444p10\n").is_ok());
        assert!(reader(b"YUV4MPEG2 W8192 H8192\n").is_ok());
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
        assert!(matches!(r.next_frame(), Err(Error::NoFrames { .. })));
        assert!(r.next_frame().unwrap().is_none());

        // After an error the reader is done.
        let bad = with(b"FRAME\n0123456789abJUNK\n");
        let mut r = reader(&bad).unwrap();
        assert!(r.next_frame().unwrap().is_some());
        assert!(r.next_frame().is_err());
        assert!(r.next_frame().unwrap().is_none());
    }

    #[test]
    fn writer_rejects_mismatched_frames() {
        let mut out = Vec::new();
        let mut w = Y4mWriter::new(&mut out, &info(PixelFormat::Yuv420p, 33, 17), "-").unwrap();
        for frame in [
            VideoFrame::black(PixelFormat::Yuv420p, 32, 17),
            VideoFrame::black(PixelFormat::Yuv422p, 33, 17),
            VideoFrame::black(PixelFormat::Yuv420p10, 33, 17),
            VideoFrame {
                format: PixelFormat::Yuv420p,
                ..VideoFrame::black(PixelFormat::Yuv420p10, 33, 17)
            },
            VideoFrame {
                format: PixelFormat::Yuv420p,
                ..VideoFrame::black(PixelFormat::Yuv444p, 33, 17)
            },
        ] {
            assert!(matches!(w.write_frame(&frame), Err(Error::Encode { .. })));
        }
        w.write_frame(&VideoFrame::black(PixelFormat::Yuv420p, 33, 17))
            .unwrap();

        let mut bad = info(PixelFormat::Yuv420p, 0, 17);
        assert!(matches!(
            Y4mWriter::new(Vec::new(), &bad, "-"),
            Err(Error::Encode { .. })
        ));
        bad = info(PixelFormat::Yuv420p, 16, 16);
        bad.frame_rate = Rational::new(0, 0);
        assert!(matches!(
            Y4mWriter::new(Vec::new(), &bad, "-"),
            Err(Error::Encode { .. })
        ));
    }

    struct BrokenPipe;
    impl Write for BrokenPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn broken_pipe_is_an_io_error() {
        let err = Y4mWriter::new(BrokenPipe, &info(PixelFormat::Yuv420p, 4, 4), "-");
        match err {
            Err(Error::Io { path, source }) => {
                assert_eq!(path, Path::new("-"));
                assert_eq!(source.kind(), io::ErrorKind::BrokenPipe);
            }
            _ => panic!("expected Io error"),
        }
    }

    #[test]
    fn create_file_appears_on_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.y4m");
        let info = info(PixelFormat::Yuv422p10, 9, 5);
        let frame = pattern(PixelFormat::Yuv422p10, 9, 5, 3);

        let mut sink = create_file(&path, &info).unwrap();
        sink.write_frame(&frame).unwrap();
        drop(sink);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        let mut sink = create_file(&path, &info).unwrap();
        sink.write_frame(&frame).unwrap();
        assert!(!path.exists());
        sink.finish().unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let mut r = Y4mReader::open(&path).unwrap();
        assert_eq!(r.info(), &info);
        assert_eq!(r.next_frame().unwrap().unwrap().planes, frame.planes);
        assert!(r.next_frame().unwrap().is_none());

        let missing = dir.path().join("no/such/dir/out.y4m");
        match create_file(&missing, &info) {
            Err(Error::Io { path, .. }) => assert_eq!(path, missing),
            _ => panic!("expected Io error"),
        }
    }

    const CLIP: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/tos_360p24_10s.mp4"
    );

    /// Runs ffmpeg with `args`, feeding `input`; `None` when ffmpeg is not installed.
    fn ffmpeg(args: &[&str], input: Option<Vec<u8>>) -> Option<Vec<u8>> {
        let mut child = match Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin"])
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                eprintln!("ffmpeg not installed; skipping interop test");
                return None;
            }
            Err(e) => panic!("running ffmpeg: {e}"),
        };
        let feeder = input.map(|bytes| {
            let mut stdin = child.stdin.take().unwrap();
            std::thread::spawn(move || stdin.write_all(&bytes).unwrap())
        });
        let output = child.wait_with_output().unwrap();
        if let Some(f) = feeder {
            f.join().unwrap();
        }
        assert!(output.status.success(), "ffmpeg {args:?} failed");
        Some(output.stdout)
    }

    fn raw_bytes(frames: &[VideoFrame]) -> Vec<u8> {
        let mut out = Vec::new();
        for f in frames {
            match &f.planes {
                Planes::Eight(p) => p.iter().for_each(|a| out.extend(a.iter())),
                Planes::High(p) => p
                    .iter()
                    .for_each(|a| a.iter().for_each(|s| out.extend(s.to_le_bytes()))),
            }
        }
        out
    }

    fn interop(pix_fmt: &str, format: PixelFormat) {
        let decode = |muxer: &str| {
            let args = [
                "-i",
                CLIP,
                "-frames:v",
                "10",
                "-pix_fmt",
                pix_fmt,
                "-strict",
                "-1",
                "-f",
                muxer,
                "-",
            ];
            ffmpeg(&args, None)
        };
        let Some(y4m) = decode("yuv4mpegpipe") else {
            return;
        };
        let raw = decode("rawvideo").unwrap();

        let (info, frames) = read_all(&y4m).unwrap();
        assert_eq!((info.width, info.height), (640, 360));
        assert_eq!(info.format, format);
        assert_eq!(info.frame_rate, Rational::new(24, 1));
        assert_eq!(info.time_base, Rational::new(1, 24));
        assert_eq!(frames.len(), 10);
        assert_eq!(
            raw_bytes(&frames),
            raw,
            "y4m planes differ from ffmpeg's rawvideo"
        );

        // Write them back; ffmpeg must accept the stream and see the same pixels.
        let mut ours = Vec::new();
        let mut w = Box::new(Y4mWriter::new(&mut ours, &info, "-").unwrap());
        for f in &frames {
            w.write_frame(f).unwrap();
        }
        w.finish().unwrap();
        ffmpeg(
            &["-f", "yuv4mpegpipe", "-i", "-", "-f", "null", "-"],
            Some(ours.clone()),
        )
        .unwrap();
        let back = ffmpeg(
            &[
                "-f",
                "yuv4mpegpipe",
                "-i",
                "-",
                "-f",
                "rawvideo",
                "-pix_fmt",
                pix_fmt,
                "-",
            ],
            Some(ours),
        )
        .unwrap();
        assert_eq!(back, raw, "ffmpeg read back different pixels");
    }

    #[test]
    fn ffmpeg_interop_8bit() {
        interop("yuv420p", PixelFormat::Yuv420p);
    }

    #[test]
    fn ffmpeg_interop_10bit() {
        interop("yuv420p10le", PixelFormat::Yuv420p10);
    }
}
