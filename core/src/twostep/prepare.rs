//! `prepare`: a master into a two-step package.
//!
//! The master is decoded once; every frame is marked twice (variant A and B of its
//! position, [`VariantMark`]), and each marked frame is scaled to every rendition of the
//! ladder and encoded with libx264 at the same settings, an IDR frame exactly at every
//! position start and nowhere else. So the A and B segments of a position are
//! interchangeable byte streams (same initialisation segment, same timing, closed GOPs),
//! and any sequence of them plays.
//!
//! Preparing splits into independent position ranges ([`prepare_range`]): each writes its
//! own segments and a record under `ranges/`, and [`finalize`] checks that the ranges
//! cover the title and agree, then writes the manifest and the playlists. A range decodes
//! the master from its start (frames before the range only update the picture tracking,
//! so every range marks the grid a whole run would).

use std::fs;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::{Error, PackageError, Result};
use crate::key::Key;
use crate::mark::embed::{EmbedConfig, Embedder};
use crate::scheme::Payload;
use crate::twostep::package::{
    AUDIO_DIR, AudioRendition, FORMAT, MANIFEST, Manifest, Package, Rendition, is_safe_name,
    rendition_dir, segment_name,
};
use crate::variant::{MAX_POSITIONS, MAX_TITLE_ID, Variant, VariantMark};
use crate::video::cmaf;
use crate::video::ffmpeg::{Codec, EncodeOptions, FfmpegWriter, OutputShape, write_fragmented_aac};
use crate::video::readahead::{Progress, ReadFor, spawn_reader};
use crate::video::temp::TempOutput;
use crate::video::{FrameSink, PixelFormat, StreamInfo};

/// How to prepare a package.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparePlan {
    /// Told apart from other titles under the same key by the detector (0 ..= 1023).
    pub title_id: u16,
    /// Length of a position, rounded to whole frames.
    pub position_seconds: f64,
    /// Rendition heights, e.g. 1080, 720, 360; widths follow the master's aspect ratio.
    pub ladder: Vec<usize>,
    /// libx264 CRF and preset of every rendition.
    pub crf: u8,
    /// libx264 preset name, e.g. `medium`.
    pub preset: String,
    /// Mark strength of both variants ([`EmbedConfig::strength`]).
    pub strength: f32,
}

impl Default for PreparePlan {
    fn default() -> PreparePlan {
        PreparePlan {
            title_id: 0,
            position_seconds: 2.0,
            ladder: vec![1080, 720, 360],
            crf: 21,
            preset: "medium".into(),
            strength: 1.0,
        }
    }
}

/// What one range wrote, in `ranges/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeRecord {
    /// Positions `first .. end`.
    pub first: u32,
    /// End of the range: one past the last position written.
    pub end: u32,
    /// The master's frame count, when this range reached its end.
    pub title_frames: Option<u64>,
    /// The title's ID, as planned.
    pub title_id: u16,
    /// Fingerprint of the key the range was marked with.
    pub key_fingerprint: String,
    /// Numerator of the master's frame rate.
    pub frame_rate_num: i32,
    /// Denominator of the master's frame rate.
    pub frame_rate_den: i32,
    /// Frames per position, from the plan's position length at the master's frame rate.
    pub position_frames: u64,
    /// What the range wrote of each rendition; empty for a range past the end.
    pub renditions: Vec<RangeRendition>,
}

/// What one range wrote of one rendition (its [`Rendition`] before the bandwidths are known).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeRendition {
    /// Folder name, e.g. `720p`.
    pub name: String,
    /// Frame width in pixels.
    pub width: usize,
    /// Frame height in pixels.
    pub height: usize,
    /// Units per second of the segments' decode times (from the initialisation segment).
    pub timescale: u32,
    /// RFC 6381 codecs string of the video, e.g. `avc1.64001f`.
    pub codecs: String,
    /// Bytes of each position's segment, variant A then B.
    pub segment_bytes: [Vec<u64>; 2],
}

/// Prepares `master` into `dir`: every position, then [`finalize`].
pub fn prepare(
    master: &Path,
    dir: &Path,
    key: &Key,
    plan: &PreparePlan,
    cancel: Option<&AtomicBool>,
    progress: Progress,
) -> Result<Manifest> {
    prepare_range(master, dir, key, plan, None, cancel, progress)?;
    finalize(master, dir, key)
}

/// Prepares positions `positions` of `master` (all when `None`; a range past the end stops
/// at the end) into `dir`, writing their segments and `ranges/<first>-<end>.json`. A range
/// that starts past the end writes nothing and returns an empty record (`first == end`).
pub fn prepare_range(
    master: &Path,
    dir: &Path,
    key: &Key,
    plan: &PreparePlan,
    positions: Option<Range<u32>>,
    cancel: Option<&AtomicBool>,
    progress: Progress,
) -> Result<RangeRecord> {
    let fail = |reason: String| {
        Error::Package(PackageError::Invalid {
            path: dir.to_path_buf(),
            reason,
        })
    };
    if plan.title_id > MAX_TITLE_ID {
        return Err(fail(format!(
            "title ID {} exceeds {MAX_TITLE_ID}",
            plan.title_id
        )));
    }
    let range = positions.unwrap_or(0..MAX_POSITIONS);
    if range.is_empty() || range.end > MAX_POSITIONS {
        return Err(fail(format!(
            "position range {}..{} is empty or beyond {MAX_POSITIONS}",
            range.start, range.end
        )));
    }
    let (info, frames, reader) = spawn_reader(master.to_path_buf(), ReadFor::Marking)?;
    let fps = info.frame_rate.as_f64();
    if !(fps.is_finite() && fps > 0.0) {
        return Err(fail("the master has no frame rate".into()));
    }
    if !(plan.position_seconds.is_finite() && plan.position_seconds > 0.0) {
        return Err(fail(format!("position length {} s", plan.position_seconds)));
    }
    let position_frames = ((plan.position_seconds * fps).round() as u64).max(1);
    let renditions = ladder(&info, &plan.ladder).map_err(fail)?;

    let work = dir.join(".work");
    fs::create_dir_all(&work).map_err(|source| Error::Io {
        path: work.clone(),
        source,
    })?;
    let encode = EncodeOptions {
        codec: Codec::X264,
        crf: Some(plan.crf),
        preset: Some(plan.preset.clone()),
        pix_fmt: Some(PixelFormat::Yuv420p),
    };
    let work_path = |v: Variant, r: &(String, usize, usize)| {
        work.join(format!("{}-{}-{}.mp4", v.folder(), r.0, range.start))
    };
    let mut writers: Vec<(Variant, usize, Box<dyn FrameSink>)> = Vec::new();
    for variant in Variant::BOTH {
        for (i, r) in renditions.iter().enumerate() {
            let shape = OutputShape {
                size: Some((r.1, r.2)),
                keyframe_interval: Some(position_frames),
                fragmented: true,
            };
            let writer =
                FfmpegWriter::create_shaped(&work_path(variant, r), &info, &encode, None, &shape)?;
            writers.push((variant, i, Box::new(writer)));
        }
    }
    let config = EmbedConfig {
        strength: plan.strength,
    };
    let mark = |position: u64, variant| {
        Payload::Variant(VariantMark::new(plan.title_id, position as u32, variant))
    };
    let first_frame = range.start as u64 * position_frames;
    let end_frame = range.end as u64 * position_frames;
    let new_embedder = |variant| {
        let first_mark = mark(range.start as u64, variant);
        Embedder::with_payload(key, first_mark, info.width, info.height, &config)
    };
    let mut embedders = [new_embedder(Variant::A)?, new_embedder(Variant::B)?];

    let mut index = 0u64;
    let mut reached_end = true;
    for frame in frames {
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(Error::Interrupted);
        }
        let frame = frame?;
        if index >= end_frame {
            reached_end = false;
            break;
        }
        if index < first_frame {
            for embedder in &mut embedders {
                embedder.track_frame(&frame)?;
            }
        } else {
            if (index - first_frame).is_multiple_of(position_frames) {
                let position = index / position_frames;
                for (embedder, variant) in embedders.iter_mut().zip(Variant::BOTH) {
                    embedder.set_payload(mark(position, variant));
                }
            }
            for (embedder, variant) in embedders.iter_mut().zip(Variant::BOTH) {
                let mut marked = frame.clone();
                embedder.mark_frame(&mut marked)?;
                for (_, _, writer) in writers.iter_mut().filter(|w| w.0 == variant) {
                    writer.write_frame(&marked)?;
                }
            }
            progress(index + 1 - first_frame, None);
        }
        index += 1;
    }
    drop(reader);
    if index <= first_frame {
        // A range past the end (planned from an overestimated frame count): nothing to do.
        return Ok(RangeRecord {
            first: range.start,
            end: range.start,
            title_frames: Some(index),
            title_id: plan.title_id,
            key_fingerprint: key.fingerprint(),
            frame_rate_num: info.frame_rate.num,
            frame_rate_den: info.frame_rate.den,
            position_frames,
            renditions: Vec::new(),
        });
    }
    let end = index.min(end_frame).div_ceil(position_frames) as u32;
    for (_, _, writer) in writers {
        writer.finish()?;
    }

    let mut record = RangeRecord {
        first: range.start,
        end,
        title_frames: reached_end.then_some(index),
        title_id: plan.title_id,
        key_fingerprint: key.fingerprint(),
        frame_rate_num: info.frame_rate.num,
        frame_rate_den: info.frame_rate.den,
        position_frames,
        renditions: Vec::new(),
    };
    for r in &renditions {
        let mut inits = Vec::new();
        let mut sizes: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
        let mut timescale = 0;
        for (slot, variant) in Variant::BOTH.into_iter().enumerate() {
            let path = work_path(variant, r);
            let data = fs::read(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            let _ = fs::remove_file(&path);
            let cut = cmaf::split(&data).map_err(|e| fail(format!("{}: {e}", path.display())))?;
            if cut.segments.len() != (end - range.start) as usize {
                return Err(fail(format!(
                    "{} has {} fragments for {} positions (GOPs not at position starts)",
                    path.display(),
                    cut.segments.len(),
                    end - range.start
                )));
            }
            timescale = cmaf::timescale(&cut.init)
                .ok_or_else(|| fail("init segment has no timescale".into()))?;
            let start_time = (first_frame as i128 * timescale as i128 * info.frame_rate.den as i128
                / info.frame_rate.num as i128) as u64;
            let muxer_start =
                cmaf::decode_time(&cut.segments[0]).map_err(|e| fail(e.to_string()))?;
            let folder = dir.join(rendition_dir(variant, &r.0));
            fs::create_dir_all(&folder).map_err(|source| Error::Io {
                path: folder.clone(),
                source,
            })?;
            for (k, mut segment) in cut.segments.into_iter().enumerate() {
                let position = range.start + k as u32;
                let time = cmaf::decode_time(&segment).map_err(|e| fail(e.to_string()))?
                    - muxer_start
                    + start_time;
                cmaf::retime(&mut segment, position + 1, time).map_err(|e| fail(e.to_string()))?;
                sizes[slot].push(segment.len() as u64);
                write_atomically(&folder.join(segment_name(position)), &segment)?;
            }
            inits.push(cut.init);
        }
        if inits[0] != inits[1] {
            return Err(fail(format!(
                "the A and B encodes of {} have different initialisation segments",
                r.0
            )));
        }
        let codecs =
            cmaf::avc_codecs(&inits[0]).ok_or_else(|| fail("init segment has no avcC".into()))?;
        for variant in Variant::BOTH {
            let path = dir.join(rendition_dir(variant, &r.0)).join("init.mp4");
            match fs::read(&path) {
                Ok(existing) if existing != inits[0] => {
                    return Err(fail(format!(
                        "{} differs from this range's (ranges prepared with different settings?)",
                        path.display()
                    )));
                }
                Ok(_) => {}
                Err(_) => write_atomically(&path, &inits[0])?,
            }
        }
        record.renditions.push(RangeRendition {
            name: r.0.clone(),
            width: r.1,
            height: r.2,
            timescale,
            codecs,
            segment_bytes: sizes,
        });
    }
    let _ = fs::remove_dir(&work);
    let ranges = dir.join("ranges");
    fs::create_dir_all(&ranges).map_err(|source| Error::Io {
        path: ranges.clone(),
        source,
    })?;
    let json = serde_json::to_vec_pretty(&record).expect("serialisable");
    write_atomically(
        &ranges.join(format!("{:06}-{:06}.json", record.first, record.end)),
        &json,
    )?;
    Ok(record)
}

/// Position ranges of about `positions_per_range` positions each covering `master`, for
/// independent workers: from the frame count the container states (the last range is open
/// ended, so an underestimate still covers the title; ranges past the end of an
/// overestimate come back empty).
pub fn plan_ranges(
    master: &Path,
    position_seconds: f64,
    positions_per_range: u32,
) -> Result<Vec<Range<u32>>> {
    let fail = |reason: String| {
        Error::Package(PackageError::Invalid {
            path: master.to_path_buf(),
            reason,
        })
    };
    let reader = crate::video::ffmpeg::FfmpegReader::open(master)?;
    let info = crate::video::FrameSource::info(&reader);
    let fps = info.frame_rate.as_f64();
    let frames = info.frames_hint.ok_or_else(|| {
        fail("the container states no frame count; prepare it as one range".into())
    })?;
    if !(fps > 0.0 && position_seconds > 0.0) || positions_per_range == 0 {
        return Err(fail("no frame rate, position length or range size".into()));
    }
    let position_frames = ((position_seconds * fps).round() as u64).max(1);
    let positions = frames.div_ceil(position_frames).max(1) as u32;
    let mut ranges: Vec<Range<u32>> = (0..positions)
        .step_by(positions_per_range as usize)
        .map(|first| first..(first + positions_per_range).min(positions))
        .collect();
    if let Some(last) = ranges.last_mut() {
        last.end = MAX_POSITIONS;
    }
    Ok(ranges)
}

/// Checks that the ranges in `dir` cover the title and agree, then writes `package.json`,
/// `wmpaceinfo.json` and the playlists. Returns the manifest.
pub fn finalize(master: &Path, dir: &Path, key: &Key) -> Result<Manifest> {
    let fail = |reason: String| {
        Error::Package(PackageError::Invalid {
            path: dir.to_path_buf(),
            reason,
        })
    };
    let ranges_dir = dir.join("ranges");
    let mut records: Vec<RangeRecord> = Vec::new();
    let listing = fs::read_dir(&ranges_dir).map_err(|e| {
        fail(format!(
            "no prepared ranges ({} cannot be read: {e})",
            ranges_dir.display()
        ))
    })?;
    for entry in listing.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = fs::read_to_string(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            records.push(
                serde_json::from_str(&text)
                    .map_err(|e| fail(format!("{}: {e}", path.display())))?,
            );
        }
    }
    records.retain(|r| r.end > r.first);
    records.sort_by_key(|r| r.first);
    let Some(first) = records.first().cloned() else {
        return Err(fail("no prepared ranges".into()));
    };
    let mut next = 0;
    for r in &records {
        if r.first != next {
            return Err(fail(format!(
                "positions {next}..{} are not prepared",
                r.first
            )));
        }
        let same = r.title_id == first.title_id
            && r.key_fingerprint == first.key_fingerprint
            && (r.frame_rate_num, r.frame_rate_den) == (first.frame_rate_num, first.frame_rate_den)
            && r.position_frames == first.position_frames
            && r.renditions
                .iter()
                .map(|x| (&x.name, x.width, x.height, &x.codecs, x.timescale))
                .eq(first
                    .renditions
                    .iter()
                    .map(|x| (&x.name, x.width, x.height, &x.codecs, x.timescale)));
        if !same {
            return Err(fail(format!(
                "range {}..{} was prepared with other settings than range 0",
                r.first, r.end
            )));
        }
        next = r.end;
    }
    let last = records.last().expect("non-empty");
    let Some(frames) = last.title_frames else {
        return Err(fail(format!("positions from {next} on are not prepared")));
    };
    if first.key_fingerprint != key.fingerprint() {
        return Err(fail("prepared under another key".into()));
    }
    let mut manifest = Manifest {
        format: FORMAT.into(),
        title_id: first.title_id,
        key_fingerprint: first.key_fingerprint.clone(),
        frame_rate_num: first.frame_rate_num,
        frame_rate_den: first.frame_rate_den,
        frames,
        position_frames: first.position_frames,
        timescale: first.renditions.first().map_or(0, |r| r.timescale),
        renditions: Vec::new(),
        audio: None,
        source_sha256: crate::digest::sha256_file(master)?,
    };
    for (i, r) in first.renditions.iter().enumerate() {
        let sizes: Vec<(u32, u64)> = records
            .iter()
            .flat_map(|rec| {
                let rr = &rec.renditions[i];
                (0..2).flat_map(move |v| {
                    rr.segment_bytes[v]
                        .iter()
                        .enumerate()
                        .map(move |(k, &b)| (rec.first + k as u32, b))
                })
            })
            .collect();
        let rate = |(p, bytes): (u32, u64)| bytes as f64 * 8.0 / manifest.position_seconds(p);
        let peak = sizes.iter().map(|&s| rate(s)).fold(0.0, f64::max);
        let total_bytes: u64 = sizes.iter().map(|s| s.1).sum();
        manifest.renditions.push(Rendition {
            name: r.name.clone(),
            width: r.width,
            height: r.height,
            peak_bandwidth: peak.ceil() as u64,
            average_bandwidth: (total_bytes as f64 * 8.0 / 2.0 / manifest.duration_seconds()).ceil()
                as u64,
            codecs: r.codecs.clone(),
        });
    }
    let position_seconds = manifest.position_frames as f64 / manifest.frame_rate();
    manifest.audio = prepare_audio(master, dir, position_seconds)?;
    write_atomically(
        &dir.join(MANIFEST),
        &serde_json::to_vec_pretty(&manifest).expect("serialisable"),
    )?;
    let package = Package::open(dir)?;
    write_playlists(&package)?;
    write_pace_info(&package)?;
    Ok(manifest)
}

/// The master's audio as the package's audio rendition (`audio/`), once for both variants;
/// `None` when the master has none.
fn prepare_audio(
    master: &Path,
    dir: &Path,
    position_seconds: f64,
) -> Result<Option<AudioRendition>> {
    let fail = |reason: String| {
        Error::Package(PackageError::Invalid {
            path: dir.to_path_buf(),
            reason,
        })
    };
    let work = dir.join(".work");
    fs::create_dir_all(&work).map_err(|source| Error::Io {
        path: work.clone(),
        source,
    })?;
    let path = work.join("audio.mp4");
    let Some(track) = write_fragmented_aac(master, &path, position_seconds)? else {
        let _ = fs::remove_dir(&work);
        return Ok(None);
    };
    let data = fs::read(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    let _ = fs::remove_file(&path);
    let _ = fs::remove_dir(&work);
    let cut = cmaf::split(&data).map_err(|e| fail(format!("audio: {e}")))?;
    let timescale =
        cmaf::timescale(&cut.init).ok_or_else(|| fail("audio has no timescale".into()))? as f64;
    let times = cut
        .segments
        .iter()
        .map(|s| cmaf::decode_time(s))
        .collect::<std::result::Result<Vec<u64>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    let last = cut.segments.last().expect("split finds fragments");
    // AAC frames are 1024 samples at the track's rate (its timescale).
    let last_seconds =
        cmaf::sample_count(last).map_err(|e| fail(e.to_string()))? as f64 * 1024.0 / timescale;
    let segment_seconds: Vec<f64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / timescale)
        .chain(std::iter::once(last_seconds))
        .collect();
    let folder = dir.join(AUDIO_DIR);
    fs::create_dir_all(&folder).map_err(|source| Error::Io {
        path: folder.clone(),
        source,
    })?;
    write_atomically(&folder.join("init.mp4"), &cut.init)?;
    let mut bytes = 0u64;
    for (i, segment) in cut.segments.iter().enumerate() {
        bytes += segment.len() as u64;
        write_atomically(&folder.join(segment_name(i as u32)), segment)?;
    }
    let seconds: f64 = segment_seconds.iter().sum();
    Ok(Some(AudioRendition {
        channels: track.channels,
        rate: track.rate,
        codecs: "mp4a.40.2".into(),
        bandwidth: (bytes as f64 * 8.0 / seconds.max(1e-3)).ceil() as u64,
        segment_seconds,
    }))
}

/// The edge-neutral playlists and DASH manifest (segments at `<rendition>/<position>.m4s`,
/// for an edge that rewrites them to `a/` or `b/`) and the all-A and all-B playlists.
fn write_playlists(package: &Package) -> Result<()> {
    let dir = package.root();
    write_atomically(
        &dir.join("master.m3u8"),
        package
            .master_playlist(|r| format!("{}.m3u8", r.name), "audio.m3u8")
            .as_bytes(),
    )?;
    let audio_segment = |i| format!("{AUDIO_DIR}/{}", segment_name(i));
    if let Some(audio) = package.audio_playlist(&format!("{AUDIO_DIR}/init.mp4"), audio_segment) {
        write_atomically(&dir.join("audio.m3u8"), audio.as_bytes())?;
    }
    for r in &package.manifest().renditions {
        let neutral = package.media_playlist(&format!("{}/init.mp4", r.name), |p| {
            format!("{}/{}", r.name, segment_name(p))
        });
        write_atomically(&dir.join(format!("{}.m3u8", r.name)), neutral.as_bytes())?;
        let local = package.media_playlist("init.mp4", segment_name);
        for variant in Variant::BOTH {
            write_atomically(
                &dir.join(rendition_dir(variant, &r.name)).join("index.m3u8"),
                local.as_bytes(),
            )?;
        }
    }
    write_atomically(
        &dir.join(super::dash::MPD),
        super::dash::manifest(package.manifest()).as_bytes(),
    )?;
    for variant in Variant::BOTH {
        write_atomically(
            &dir.join(variant.folder()).join("master.m3u8"),
            package
                .master_playlist(|r| format!("{}/index.m3u8", r.name), "../audio.m3u8")
                .as_bytes(),
        )?;
    }
    Ok(())
}

/// Folder of the per-segment WMPaceInfo sidecars.
pub const PACE_INFO_DIR: &str = "wmpaceinfo";

/// `wmpaceinfo.json`: the DASH-IF WMPaceInfo of every position (position index, the
/// variants' paths, each segment a whole position), for third-party edges; and the
/// per-segment sidecars an edge reads before it picks a variant,
/// `wmpaceinfo/<rendition>/<position>.m4s`: a CBOR map {"position": p, "firstpart": true,
/// "lastpart": true} (each segment is one whole position).
fn write_pace_info(package: &Package) -> Result<()> {
    let m = package.manifest();
    for r in &m.renditions {
        let folder = package.root().join(PACE_INFO_DIR).join(&r.name);
        fs::create_dir_all(&folder).map_err(|source| Error::Io {
            path: folder.clone(),
            source,
        })?;
        for p in 0..m.positions() {
            use coset::cbor::Value;
            let info = Value::Map(vec![
                (Value::Text("position".into()), Value::Integer(p.into())),
                (Value::Text("firstpart".into()), Value::Bool(true)),
                (Value::Text("lastpart".into()), Value::Bool(true)),
            ]);
            let mut bytes = Vec::new();
            coset::cbor::into_writer(&info, &mut bytes).expect("CBOR encodes");
            write_atomically(&folder.join(segment_name(p)), &bytes)?;
        }
    }
    let positions: Vec<serde_json::Value> = (0..m.positions())
        .map(|p| {
            serde_json::json!({
                "position": p,
                "start_seconds": (p as u64 * m.position_frames) as f64 / m.frame_rate(),
                "duration_seconds": m.position_seconds(p),
                "firstpart": true,
                "lastpart": true,
                "segment": segment_name(p),
                "variants": { "a": 0, "b": 1 },
            })
        })
        .collect();
    let info = serde_json::json!({
        "wmver": 1,
        "wmvnd": "filigree",
        "variant_paths": { "a": "a/<rendition>/", "b": "b/<rendition>/" },
        "pattern_length": m.positions(),
        "renditions": m.renditions.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
        "positions": positions,
    });
    write_atomically(
        &package.root().join("wmpaceinfo.json"),
        &serde_json::to_vec_pretty(&info).expect("serialisable"),
    )
}

/// The ladder's (name, width, height) for `info`'s frame: widths follow the aspect ratio,
/// rounded to even numbers.
fn ladder(
    info: &StreamInfo,
    heights: &[usize],
) -> std::result::Result<Vec<(String, usize, usize)>, String> {
    if heights.is_empty() {
        return Err("the ladder has no renditions".into());
    }
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    for &height in heights {
        if height < 64 || height > info.height || height % 2 == 1 {
            return Err(format!(
                "rendition height {height} must be even, at least 64 and at most the master's {}",
                info.height
            ));
        }
        let width =
            ((info.width as f64 * height as f64 / info.height as f64 / 2.0).round() as usize * 2)
                .max(2);
        let name = format!("{height}p");
        debug_assert!(is_safe_name(&name));
        if out.iter().any(|r| r.0 == name) {
            return Err(format!("rendition {name} is listed twice"));
        }
        out.push((name, width, height));
    }
    Ok(out)
}

/// Writes `session`'s copy of `rendition` to `output`: its video segments by stream copy
/// ([`Package::assemble`]), joined with the package's audio (stream copy too) when it has
/// audio. Temp files + rename.
pub fn session_copy(
    package: &Package,
    code: &crate::variant::SessionCode,
    session: u32,
    rendition: &str,
    output: &Path,
) -> Result<()> {
    if package.manifest().audio.is_none() {
        return package.assemble(code, session, rendition, output);
    }
    let io = |source| Error::Io {
        path: output.to_path_buf(),
        source,
    };
    let video = TempOutput::beside(&output.with_extension("mp4")).map_err(io)?;
    package.assemble(code, session, rendition, video.path())?;
    let mut audio = TempOutput::beside(&output.with_extension("mp4")).map_err(io)?;
    let count = package
        .manifest()
        .audio
        .as_ref()
        .map_or(0, |a| a.segment_seconds.len());
    let read = |path: PathBuf| fs::read(&path).map_err(|source| Error::Io { path, source });
    audio
        .write_all(&read(package.audio_init_path())?)
        .map_err(io)?;
    for i in 0..count as u32 {
        let path = package.audio_segment_path(i).expect("index in range");
        audio.write_all(&read(path)?).map_err(io)?;
    }
    audio.flush().map_err(io)?;
    crate::video::ffmpeg::remux(&[video.path(), audio.path()], output)
}

/// Writes `data` to a temporary beside `path` and renames it into place.
pub(crate) fn write_atomically(path: &Path, data: &[u8]) -> Result<()> {
    let io = |source| Error::Io {
        path: PathBuf::from(path),
        source,
    };
    let mut temp = TempOutput::beside(path).map_err(io)?;
    temp.write_all(data).map_err(io)?;
    temp.persist(path).map_err(io)
}
