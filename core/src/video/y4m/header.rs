//! The stream header line, `YUV4MPEG2 W.. H.. F.. I.. A.. C.. X..`: its tags read into a
//! [`StreamInfo`] and written back from one, so the reader and the writer agree on the
//! colour space names, the size bounds and the colour range.

use std::path::Path;

use super::{MAX_DIMENSION, MAX_PIXELS};
use crate::error::{Error, Result, VideoError};
use crate::video::{ColorInfo, FieldOrder, PixelFormat, Rational, StreamInfo};

/// What every y4m stream starts with.
pub(super) const SIGNATURE: &[u8] = b"YUV4MPEG2";

/// FFmpeg's `AVCOL_*_UNSPECIFIED` (primaries, transfer, matrix) and `AVCOL_RANGE_UNSPECIFIED`.
pub(super) const UNSPECIFIED_COLOR: ColorInfo = ColorInfo {
    primaries: 2,
    transfer: 2,
    matrix: 2,
    range: 0,
};
const RANGE_LIMITED: i32 = 1;
const RANGE_FULL: i32 = 2;

/// Reads a header line (newline included) of the stream called `name`.
pub(super) fn parse_header(line: &[u8], name: &Path) -> Result<StreamInfo> {
    let malformed = |reason: String| {
        Error::Video(VideoError::MalformedY4m {
            path: name.to_owned(),
            reason,
        })
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
                        return Err(VideoError::UnsupportedPixelFormat {
                            path: name.to_owned(),
                            format: format!("y4m C{other}"),
                        }
                        .into());
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

/// The header line (newline included) describing `info`, or why y4m cannot describe it: a
/// size outside the reader's bounds, a non-positive frame rate.
pub(super) fn format_header(info: &StreamInfo) -> std::result::Result<String, String> {
    check_size(info.width, info.height)?;
    let rate = info.frame_rate;
    if rate.num <= 0 || rate.den <= 0 {
        return Err(format!(
            "frame rate {}/{} cannot be written to y4m",
            rate.num, rate.den
        ));
    }
    let range = match info.color.range {
        RANGE_FULL => " XCOLORRANGE=FULL",
        RANGE_LIMITED => " XCOLORRANGE=LIMITED",
        _ => "",
    };
    Ok(format!(
        "YUV4MPEG2 W{} H{} F{}:{} Ip A1:1 C{}{range}\n",
        info.width,
        info.height,
        rate.num,
        rate.den,
        colorspace_tag(info.format)
    ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::FrameSource;
    use crate::video::y4m::Y4mWriter;
    use crate::video::y4m::fixtures::{assert_malformed, info, read_all, reader};

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
                Err(Error::Video(VideoError::UnsupportedPixelFormat { format, .. })) => {
                    assert!(format.contains(c))
                }
                other => panic!("C{c}: {:?}", other.map(|r| r.info().clone())),
            }
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
}
