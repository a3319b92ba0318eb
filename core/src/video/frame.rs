//! Decoded frames: three planar Y'CbCr planes of 8-bit (`u8`) or high-bit-depth (`u16`) samples.

use ndarray::Array2;

use super::Timecode;
use crate::error::Result;
use crate::mark::embed::Embedder;

/// Planar Y'CbCr layouts Filigree reads and writes without conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    Yuv420p,
    Yuv422p,
    Yuv444p,
    Yuv420p10,
    Yuv422p10,
    Yuv444p10,
}

impl PixelFormat {
    pub const ALL: [PixelFormat; 6] = [
        PixelFormat::Yuv420p,
        PixelFormat::Yuv422p,
        PixelFormat::Yuv444p,
        PixelFormat::Yuv420p10,
        PixelFormat::Yuv422p10,
        PixelFormat::Yuv444p10,
    ];

    /// The format FFmpeg calls `name` (`yuv420p`, `yuv422p10le`; `yuv422p10` also works).
    pub fn from_name(name: &str) -> Option<PixelFormat> {
        let name = name.to_ascii_lowercase();
        PixelFormat::ALL
            .into_iter()
            .find(|f| f.name() == name || f.name().strip_suffix("le") == Some(name.as_str()))
    }

    pub fn bit_depth(self) -> u8 {
        match self {
            PixelFormat::Yuv420p | PixelFormat::Yuv422p | PixelFormat::Yuv444p => 8,
            _ => 10,
        }
    }

    /// Luma samples per chroma sample across and down: (2, 2) for 4:2:0, (2, 1) for 4:2:2,
    /// (1, 1) for 4:4:4.
    pub fn subsampling(self) -> (usize, usize) {
        match self {
            PixelFormat::Yuv420p | PixelFormat::Yuv420p10 => (2, 2),
            PixelFormat::Yuv422p | PixelFormat::Yuv422p10 => (2, 1),
            PixelFormat::Yuv444p | PixelFormat::Yuv444p10 => (1, 1),
        }
    }

    /// Chroma plane size for a luma plane of `width` x `height` (rounded up, as FFmpeg does).
    pub fn chroma_size(self, width: usize, height: usize) -> (usize, usize) {
        let (sx, sy) = self.subsampling();
        (width.div_ceil(sx), height.div_ceil(sy))
    }

    /// FFmpeg's name for the format (`-pix_fmt`).
    pub fn name(self) -> &'static str {
        match self {
            PixelFormat::Yuv420p => "yuv420p",
            PixelFormat::Yuv422p => "yuv422p",
            PixelFormat::Yuv444p => "yuv444p",
            PixelFormat::Yuv420p10 => "yuv420p10le",
            PixelFormat::Yuv422p10 => "yuv422p10le",
            PixelFormat::Yuv444p10 => "yuv444p10le",
        }
    }
}

/// A rational number (frame rates, time bases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rational {
    pub num: i32,
    pub den: i32,
}

impl Rational {
    pub const fn new(num: i32, den: i32) -> Rational {
        Rational { num, den }
    }

    pub fn as_f64(self) -> f64 {
        if self.den == 0 {
            0.0
        } else {
            self.num as f64 / self.den as f64
        }
    }
}

/// Colour description carried through from input to output, as FFmpeg's enum values
/// (`AVColorPrimaries`, `AVColorTransferCharacteristic`, `AVColorSpace`, `AVColorRange`);
/// 2 / 0 mean "unspecified".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ColorInfo {
    pub primaries: i32,
    pub transfer: i32,
    pub matrix: i32,
    pub range: i32,
}

/// How the fields of an interlaced stream are ordered in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOrder {
    TopFieldFirst,
    BottomFieldFirst,
    /// Field order varies or is not stated (y4m `Im`).
    Mixed,
}

impl FieldOrder {
    pub fn describe(self) -> &'static str {
        match self {
            FieldOrder::TopFieldFirst => "top field first",
            FieldOrder::BottomFieldFirst => "bottom field first",
            FieldOrder::Mixed => "mixed field order",
        }
    }
}

/// What a stream is: frame size and format, timing, colour.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    pub width: usize,
    pub height: usize,
    pub format: PixelFormat,
    pub frame_rate: Rational,
    /// Time base of frame timestamps (`VideoFrame::pts`).
    pub time_base: Rational,
    pub color: ColorInfo,
    /// Frame count if the container states it (for progress bars; may be absent or wrong).
    pub frames_hint: Option<u64>,
    /// The source's timecode at its first frame (a master's `01:00:00:00`), when it has one.
    pub timecode: Option<Timecode>,
    /// Set when the stream says its frames are interlaced; `None` for progressive (or
    /// unstated) video.
    pub interlaced: Option<FieldOrder>,
}

/// The three planes of a frame, at the stream's bit depth.
#[derive(Debug, Clone, PartialEq)]
pub enum Planes {
    Eight([Array2<u8>; 3]),
    High([Array2<u16>; 3]),
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoFrame {
    pub format: PixelFormat,
    pub planes: Planes,
    /// Presentation timestamp in the stream's time base, when known.
    pub pts: Option<i64>,
}

impl VideoFrame {
    /// A black frame (video range) of the given format and size.
    pub fn black(format: PixelFormat, width: usize, height: usize) -> VideoFrame {
        let (cw, ch) = format.chroma_size(width, height);
        let planes = if format.bit_depth() == 8 {
            Planes::Eight([
                Array2::from_elem((height, width), 16),
                Array2::from_elem((ch, cw), 128),
                Array2::from_elem((ch, cw), 128),
            ])
        } else {
            Planes::High([
                Array2::from_elem((height, width), 64),
                Array2::from_elem((ch, cw), 512),
                Array2::from_elem((ch, cw), 512),
            ])
        };
        VideoFrame {
            format,
            planes,
            pts: None,
        }
    }

    pub fn width(&self) -> usize {
        match &self.planes {
            Planes::Eight(p) => p[0].ncols(),
            Planes::High(p) => p[0].ncols(),
        }
    }

    pub fn height(&self) -> usize {
        match &self.planes {
            Planes::Eight(p) => p[0].nrows(),
            Planes::High(p) => p[0].nrows(),
        }
    }

    /// Marks the luma plane in place.
    pub fn mark(&mut self, embedder: &mut Embedder) -> Result<()> {
        self.track_picture(embedder)?;
        self.mark_picture(embedder)
    }

    /// Shows the luma plane to `embedder`'s picture tracker (see [`Embedder::track_picture`]);
    /// true when the picture changed.
    pub fn track_picture(&self, embedder: &mut Embedder) -> Result<bool> {
        let depth = self.format.bit_depth();
        match &self.planes {
            Planes::Eight(p) => embedder.track_picture(p[0].view(), depth),
            Planes::High(p) => embedder.track_picture(p[0].view(), depth),
        }
    }

    /// Marks the luma plane in the picture tracked so far (see [`Embedder::mark_picture`]).
    pub fn mark_picture(&mut self, embedder: &mut Embedder) -> Result<()> {
        let depth = self.format.bit_depth();
        match &mut self.planes {
            Planes::Eight(p) => embedder.mark_picture(p[0].view_mut(), depth),
            Planes::High(p) => embedder.mark_picture(p[0].view_mut(), depth),
        }
    }

    /// Feeds the luma plane to a window reader.
    pub fn read_windows(&self, reader: &mut crate::detect::windows::WindowReader) -> Result<()> {
        let depth = self.format.bit_depth();
        match &self.planes {
            Planes::Eight(p) => reader.add_luma(p[0].view(), depth),
            Planes::High(p) => reader.add_luma(p[0].view(), depth),
        }
    }

    /// Whether this frame adds nothing to detection's evidence (flat, or a repeat of the one
    /// before; see [`crate::detect::screen`]).
    pub fn screen(&self, screen: &mut crate::detect::screen::FrameScreen) -> bool {
        let depth = self.format.bit_depth();
        match &self.planes {
            Planes::Eight(p) => screen.adds_nothing(p[0].view(), depth),
            Planes::High(p) => screen.adds_nothing(p[0].view(), depth),
        }
    }

    /// Feeds the luma plane to a detector.
    pub fn add_to(&self, detector: &mut crate::detect::Detector) -> Result<()> {
        let depth = self.format.bit_depth();
        match &self.planes {
            Planes::Eight(p) => detector.add_luma(p[0].view(), depth),
            Planes::High(p) => detector.add_luma(p[0].view(), depth),
        }
    }
}
