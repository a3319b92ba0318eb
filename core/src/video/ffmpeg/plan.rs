//! Checking an encoding before a file is written: the container from the extension, the
//! encoder, and the pixel format the output will have.

use std::ffi::{CStr, c_void};
use std::path::Path;

use ff::format::Pixel;
use ff::{codec, encoder, ffi};
use ffmpeg_next as ff;

use super::super::PixelFormat;
use super::{Codec, EncodeOptions, ffmpeg_pixel, init};
use crate::error::{Error, Result, VideoError};

/// Sets an integer AVOption (colour enums) on a codec context; FFmpeg range-checks it.
pub(super) fn set_int_option(context: &mut codec::Context, name: &CStr, value: i32) -> bool {
    // SAFETY: the context pointer is valid and AVCodecContext is an AVOptions-enabled struct.
    unsafe {
        ffi::av_opt_set_int(
            context.as_mut_ptr() as *mut c_void,
            name.as_ptr(),
            i64::from(value),
            0,
        ) >= 0
    }
}

/// The muxer FFmpeg picks for `path` from its extension.
fn guess_container(path: &Path) -> Option<*const ffi::AVOutputFormat> {
    let name = std::ffi::CString::new(path.file_name()?.to_str()?).ok()?;
    // SAFETY: a valid C string; the result is a static muxer description or null.
    let format = unsafe { ffi::av_guess_format(std::ptr::null(), name.as_ptr(), std::ptr::null()) };
    (!format.is_null()).then_some(format)
}

/// Whether the muxer can hold streams of `id`; `None` when it does not say.
pub(super) fn container_holds(format: *const ffi::AVOutputFormat, id: codec::Id) -> Option<bool> {
    // SAFETY: a valid muxer description from av_guess_format or an output context.
    match unsafe { ffi::avformat_query_codec(format, id.into(), ffi::FF_COMPLIANCE_NORMAL) } {
        1 => Some(true),
        0 => Some(false),
        _ => None,
    }
}

/// Checks that a file at `path` can be written from frames of `source` with `options`, and
/// returns the pixel format its video will have: `options.pix_fmt`, else `source` where the
/// encoder takes it, else the encoder's closest format. Every failure is an [`VideoError::Encode`]
/// saying what to change (codec, container, pixel format, CRF or preset).
pub fn output_format(
    path: &Path,
    source: PixelFormat,
    options: &EncodeOptions,
) -> Result<PixelFormat> {
    plan_encoding(path, source, options).map(|(_, format)| format)
}

/// [`output_format`], with the encoder that will write it.
pub(super) fn plan_encoding(
    path: &Path,
    source: PixelFormat,
    options: &EncodeOptions,
) -> Result<(ff::Codec, PixelFormat)> {
    init();
    let fail = |reason: String| {
        Error::Video(VideoError::Encode {
            path: path.to_path_buf(),
            reason,
        })
    };
    options.validate().map_err(&fail)?;
    let name = options.codec.encoder_name();
    let container = guess_container(path)
        .ok_or_else(|| fail("FFmpeg cannot write this kind of file (from its extension)".into()))?;
    let video_codec = encoder::find_by_name(name).ok_or_else(|| {
        fail(format!(
            "encoder {name} is not available in this FFmpeg build"
        ))
    })?;
    if container_holds(container, video_codec.id()) == Some(false) {
        let fits: Vec<String> = ["mov", "mkv", "mp4", "webm", "mxf"]
            .into_iter()
            .filter(|ext| {
                guess_container(Path::new(&format!("x.{ext}")))
                    .is_some_and(|c| container_holds(c, video_codec.id()) == Some(true))
            })
            .map(|ext| format!(".{ext}"))
            .collect();
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy())
            .unwrap_or_default();
        return Err(fail(format!(
            "{name} video cannot go in a .{ext} file (use {})",
            fits.join(" or ")
        )));
    }
    let takes: Vec<PixelFormat> = video_codec
        .video()
        .ok()
        .and_then(|v| v.formats())
        .map(|formats| {
            let formats: Vec<Pixel> = formats.collect();
            PixelFormat::ALL
                .into_iter()
                .filter(|f| formats.contains(&ffmpeg_pixel(*f)))
                .collect()
        })
        .unwrap_or_else(|| PixelFormat::ALL.to_vec());
    let names = || {
        takes
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let format = match options.pix_fmt {
        Some(wanted) if takes.contains(&wanted) => Ok(wanted),
        Some(wanted) => Err(fail(format!(
            "{name} cannot encode {} (it takes {})",
            wanted.name(),
            names()
        ))),
        None if takes.contains(&source) => Ok(source),
        None => closest_format(source, &takes).ok_or_else(|| {
            fail(format!(
                "{name} takes none of the pixel formats Filigree writes"
            ))
        }),
    }?;
    Ok((video_codec, format))
}

/// Whether `codec` can encode 8-bit 4:2:0 here: FFmpeg has the encoder and it opens (a
/// hardware encoder also needs its device and driver, which only opening it tells).
pub fn encoder_opens(codec: Codec) -> bool {
    let options = EncodeOptions {
        codec,
        pix_fmt: Some(PixelFormat::Yuv420p),
        ..EncodeOptions::default()
    };
    let Ok((video_codec, format)) =
        plan_encoding(Path::new("probe.mp4"), PixelFormat::Yuv420p, &options)
    else {
        return false;
    };
    let Ok(mut video) = codec::context::Context::new_with_codec(video_codec)
        .encoder()
        .video()
    else {
        return false;
    };
    video.set_width(256);
    video.set_height(144);
    video.set_format(ffmpeg_pixel(format));
    video.set_time_base(ff::Rational::new(1, 25));
    video.set_frame_rate(Some(ff::Rational::new(25, 1)));
    let mut opts = ff::Dictionary::new();
    for (name, value) in options.encoder_options(format) {
        opts.set(name, &value);
    }
    video.open_with(opts).is_ok()
}

/// The format of `candidates` that loses least of `source` (FFmpeg's own choice).
fn closest_format(source: PixelFormat, candidates: &[PixelFormat]) -> Option<PixelFormat> {
    let list: Vec<ffi::AVPixelFormat> = candidates
        .iter()
        .map(|f| ffmpeg_pixel(*f).into())
        .chain([ffi::AVPixelFormat::AV_PIX_FMT_NONE])
        .collect();
    let mut loss = 0;
    // SAFETY: `list` is terminated by AV_PIX_FMT_NONE as FFmpeg requires.
    let best = unsafe {
        ffi::avcodec_find_best_pix_fmt_of_list(
            list.as_ptr(),
            ffmpeg_pixel(source).into(),
            0,
            &mut loss,
        )
    };
    candidates
        .iter()
        .copied()
        .find(|f| ffi::AVPixelFormat::from(ffmpeg_pixel(*f)) == best)
}
