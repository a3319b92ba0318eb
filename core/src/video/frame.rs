//! Decoded frames: three planar Y'CbCr planes of 8-bit (`u8`) or high-bit-depth (`u16`) samples.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use super::Timecode;

/// Planar Y'CbCr layouts Filigree reads and writes without conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// 8-bit 4:2:0: chroma halved across and down.
    Yuv420p,
    /// 8-bit 4:2:2: chroma halved across, full height.
    Yuv422p,
    /// 8-bit 4:4:4: chroma at full resolution.
    Yuv444p,
    /// 10-bit 4:2:0 (`yuv420p10le`), samples held in `u16`.
    Yuv420p10,
    /// 10-bit 4:2:2 (`yuv422p10le`), samples held in `u16`.
    Yuv422p10,
    /// 10-bit 4:4:4 (`yuv444p10le`), samples held in `u16`.
    Yuv444p10,
}

impl PixelFormat {
    /// Every supported format, 8-bit ones first.
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

    /// Bits per sample: 8 for the `u8` formats, 10 for the `u16` ones.
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
    /// Numerator.
    pub num: i32,
    /// Denominator (a zero denominator reads as 0.0 in [`Rational::as_f64`]).
    pub den: i32,
}

impl Rational {
    /// `num / den`, unreduced.
    pub const fn new(num: i32, den: i32) -> Rational {
        Rational { num, den }
    }

    /// The value as a float; 0.0 when the denominator is 0.
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
    /// Colour primaries (`AVColorPrimaries`; 1 is BT.709, 2 unspecified).
    pub primaries: i32,
    /// Transfer characteristic (`AVColorTransferCharacteristic`; 2 unspecified).
    pub transfer: i32,
    /// Y'CbCr matrix coefficients (`AVColorSpace`; 2 unspecified).
    pub matrix: i32,
    /// Sample range (`AVColorRange`: 1 video/limited, 2 full, 0 unspecified).
    pub range: i32,
}

/// How the fields of an interlaced stream are ordered in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOrder {
    /// The top field is the earlier in time.
    TopFieldFirst,
    /// The bottom field is the earlier in time.
    BottomFieldFirst,
    /// Field order varies or is not stated (y4m `Im`).
    Mixed,
}

impl FieldOrder {
    /// The order in words ("top field first"), for messages.
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
    /// Luma width in pixels.
    pub width: usize,
    /// Luma height in pixels (lines).
    pub height: usize,
    /// Pixel format of every frame in the stream.
    pub format: PixelFormat,
    /// Nominal frame rate in frames per second, as a fraction (`30000/1001` for 29.97).
    pub frame_rate: Rational,
    /// Time base of frame timestamps (`VideoFrame::pts`).
    pub time_base: Rational,
    /// Colour description to carry through to the output.
    pub color: ColorInfo,
    /// Frame count if the container states it (for progress bars; may be absent or wrong).
    pub frames_hint: Option<u64>,
    /// The source's timecode at its first frame (a master's `01:00:00:00`), when it has one.
    pub timecode: Option<Timecode>,
    /// Set when the stream says its frames are interlaced; `None` for progressive (or
    /// unstated) video.
    pub interlaced: Option<FieldOrder>,
}

impl StreamInfo {
    /// Frames per second, 25 when the stream states no rate (a y4m pipe may not).
    pub fn frames_per_second(&self) -> f64 {
        let rate = self.frame_rate.as_f64();
        if rate > 0.0 { rate } else { 25.0 }
    }
}

/// The three planes of a frame, at the stream's bit depth.
#[derive(Debug, Clone, PartialEq)]
pub enum Planes {
    /// 8-bit samples: luma, Cb, Cr.
    Eight([Array2<u8>; 3]),
    /// High-bit-depth samples (10 bits in a `u16`): luma, Cb, Cr.
    High([Array2<u16>; 3]),
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoFrame {
    /// Pixel format; its bit depth matches the `planes` variant.
    pub format: PixelFormat,
    /// Luma, Cb and Cr planes, each indexed `[row, column]`.
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

    /// Luma width in pixels.
    pub fn width(&self) -> usize {
        match &self.planes {
            Planes::Eight(p) => p[0].ncols(),
            Planes::High(p) => p[0].ncols(),
        }
    }

    /// Luma height in pixels.
    pub fn height(&self) -> usize {
        match &self.planes {
            Planes::Eight(p) => p[0].nrows(),
            Planes::High(p) => p[0].nrows(),
        }
    }

    /// The luma plane, at the stream's bit depth.
    pub fn luma(&self) -> Luma<'_> {
        match &self.planes {
            Planes::Eight(p) => Luma::Eight(p[0].view()),
            Planes::High(p) => Luma::High(p[0].view()),
        }
    }

    /// The luma plane, writable (marking changes luma only).
    pub fn luma_mut(&mut self) -> LumaMut<'_> {
        match &mut self.planes {
            Planes::Eight(p) => LumaMut::Eight(p[0].view_mut()),
            Planes::High(p) => LumaMut::High(p[0].view_mut()),
        }
    }
}

/// A frame's luma plane: the plane every mark and detector works on.
#[derive(Debug, Clone, Copy)]
pub enum Luma<'a> {
    /// 8-bit luma.
    Eight(ArrayView2<'a, u8>),
    /// High-bit-depth luma (10 bits in a `u16`).
    High(ArrayView2<'a, u16>),
}

/// A frame's luma plane, writable.
#[derive(Debug)]
pub enum LumaMut<'a> {
    /// 8-bit luma.
    Eight(ArrayViewMut2<'a, u8>),
    /// High-bit-depth luma (10 bits in a `u16`).
    High(ArrayViewMut2<'a, u16>),
}

/// Calls a plane function that is generic over [`crate::plane::Sample`] with a frame's luma
/// plane and bit depth, whichever the depth: `with_luma!(frame, |luma, depth| f(luma, depth))`,
/// or `with_luma!(mut frame, ...)` for the writable plane. The consumers of frames (embedder,
/// detector, screen, window reader) use it, so frames need not know them.
macro_rules! with_luma {
    (mut $frame:expr, |$luma:ident, $depth:ident| $body:expr) => {{
        let frame: &mut $crate::video::VideoFrame = $frame;
        let $depth = frame.format.bit_depth();
        match frame.luma_mut() {
            $crate::video::LumaMut::Eight($luma) => $body,
            $crate::video::LumaMut::High($luma) => $body,
        }
    }};
    ($frame:expr, |$luma:ident, $depth:ident| $body:expr) => {{
        let frame: &$crate::video::VideoFrame = $frame;
        let $depth = frame.format.bit_depth();
        match frame.luma() {
            $crate::video::Luma::Eight($luma) => $body,
            $crate::video::Luma::High($luma) => $body,
        }
    }};
}
pub(crate) use with_luma;
