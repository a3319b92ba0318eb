//! Writing a y4m stream, to a pipe or to a file that appears only when finished. Each frame
//! is checked against the stream's header before it is written, so a stream never carries
//! a frame its header does not describe.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::header::format_header;
use crate::error::{Error, Result, VideoError};
use crate::video::temp::TempOutput;
use crate::video::{FrameSink, Planes, StreamInfo, VideoFrame};

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
    /// Writes the stream header for `info`. Fails with [`VideoError::Encode`] when `info` cannot be
    /// described in y4m (a size outside the reader's bounds, a non-positive frame rate).
    pub fn new(mut writer: W, info: &StreamInfo, name: impl Into<PathBuf>) -> Result<Self> {
        let name = name.into();
        let header = format_header(info).map_err(|reason| {
            Error::Video(VideoError::Encode {
                path: name.clone(),
                reason,
            })
        })?;
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
        let mismatch = |what: String| {
            Error::Video(VideoError::Encode {
                path: self.name.clone(),
                reason: format!(
                    "frame {index} is {what} but the y4m stream is {}x{} {}",
                    info.width,
                    info.height,
                    info.format.name()
                ),
            })
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
/// [`crate::video::temp`]), renamed onto `path` (replacing any file there) by `finish`.
/// Dropping the sink unfinished removes the temporary file and leaves `path` untouched.
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
    use ndarray::Array2;

    use super::*;
    use crate::video::y4m::Y4mReader;
    use crate::video::y4m::fixtures::{info, pattern, read_all};
    use crate::video::{FrameSource, PixelFormat, Rational};

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
            assert!(matches!(
                w.write_frame(&frame),
                Err(Error::Video(VideoError::Encode { .. }))
            ));
        }
        w.write_frame(&VideoFrame::black(PixelFormat::Yuv420p, 33, 17))
            .unwrap();

        let mut bad = info(PixelFormat::Yuv420p, 0, 17);
        assert!(matches!(
            Y4mWriter::new(Vec::new(), &bad, "-"),
            Err(Error::Video(VideoError::Encode { .. }))
        ));
        bad = info(PixelFormat::Yuv420p, 16, 16);
        bad.frame_rate = Rational::new(0, 0);
        assert!(matches!(
            Y4mWriter::new(Vec::new(), &bad, "-"),
            Err(Error::Video(VideoError::Encode { .. }))
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
}
