//! A two-step package on disk, what sessions are served from it, and a session's copy
//! assembled by stream copy.
//!
//! ```text
//! package.json                 the manifest (Manifest): title, positions, renditions
//! wmpaceinfo.json              per position: index, variants' paths (DASH-IF WMPaceInfo)
//! wmpaceinfo/<rendition>/000000.m4s ... each segment's WMPaceInfo (CBOR), for an A/B edge
//! master.m3u8, <rendition>.m3u8 edge-neutral playlists: <rendition>/<position>.m4s, which
//! manifest.mpd                 an A/B edge rewrites to a/ or b/ (DASH-IF edge rule)
//! a/<rendition>/init.mp4       CMAF initialisation segment (the same bytes in a/ and b/)
//! a/<rendition>/000000.m4s ... one CMAF media segment per position, variant A
//! a/<rendition>/index.m3u8     all-A playlist (and b/... for B)
//! audio/init.mp4, 000000.m4s   the audio rendition (once: audio carries no mark), audio.m3u8
//! ranges/<first>-<end>.json    what each independently prepared position range wrote
//! ```
//!
//! Per-session playlists are computed on request from the key and the session ID
//! ([`Package::media_playlist`] with [`SessionCode::variant`](crate::variant::SessionCode::variant)),
//! never stored.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, PackageError, Result};
use crate::key::Key;
use crate::variant::{SessionCode, Variant};
use crate::video::temp::TempOutput;

/// The manifest's `format` value.
pub const FORMAT: &str = "filigree-two-step/1";

/// File name of the manifest in the package's root folder.
pub const MANIFEST: &str = "package.json";

/// One rendition of the ABR ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendition {
    /// Folder name, e.g. `720p`.
    pub name: String,
    /// Frame width in pixels.
    pub width: usize,
    /// Frame height in pixels (a rung of the ladder, e.g. 720).
    pub height: usize,
    /// Peak and mean bit rate over the segments of both variants (bits/s), for HLS.
    pub peak_bandwidth: u64,
    /// Mean bit rate over all segments of both variants, in bits/s.
    pub average_bandwidth: u64,
    /// RFC 6381 codecs string, e.g. `avc1.64001f`.
    pub codecs: String,
}

/// The audio rendition: the master's audio as AAC, encoded once (audio carries no mark),
/// cut into segments of about a position each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioRendition {
    /// Number of audio channels.
    pub channels: u16,
    /// Sample rate in Hz.
    pub rate: u32,
    /// RFC 6381 codecs string (`mp4a.40.2`, AAC-LC).
    pub codecs: String,
    /// Mean bit rate over the whole rendition, in bits/s (added to each video stream's in HLS).
    pub bandwidth: u64,
    /// Duration of each segment `audio/<index>.m4s`, in seconds.
    pub segment_seconds: Vec<f64>,
}

/// `package.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`]; a package of another format is refused on open.
    pub format: String,
    /// The title's ID, carried in every variant mark (at most [`crate::variant::MAX_TITLE_ID`]).
    pub title_id: u16,
    /// Fingerprint of the marking key (never the key).
    pub key_fingerprint: String,
    /// Numerator of the master's frame rate (frames per second).
    pub frame_rate_num: i32,
    /// Denominator of the master's frame rate; always positive.
    pub frame_rate_den: i32,
    /// Frames of the title.
    pub frames: u64,
    /// Frames per position (the last position may be shorter).
    pub position_frames: u64,
    /// Units per second of the segments' decode times.
    pub timescale: u32,
    /// The video renditions of the ABR ladder.
    pub renditions: Vec<Rendition>,
    /// The audio rendition, when the master has audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioRendition>,
    /// SHA-256 of the master the package was prepared from.
    pub source_sha256: String,
}

impl Manifest {
    /// Number of positions: the title's frames divided by `position_frames`, rounded up.
    pub fn positions(&self) -> u32 {
        self.frames.div_ceil(self.position_frames) as u32
    }

    /// Frames per second.
    pub fn frame_rate(&self) -> f64 {
        self.frame_rate_num as f64 / self.frame_rate_den as f64
    }

    /// Duration of position `p` in seconds.
    pub fn position_seconds(&self, position: u32) -> f64 {
        let start = position as u64 * self.position_frames;
        let frames = self.position_frames.min(self.frames.saturating_sub(start));
        frames as f64 / self.frame_rate()
    }

    /// Duration of the title in seconds.
    pub fn duration_seconds(&self) -> f64 {
        self.frames as f64 / self.frame_rate()
    }
}

/// File name of position `p`'s segment.
pub fn segment_name(position: u32) -> String {
    format!("{position:06}.m4s")
}

/// `<variant>/<rendition>/`, relative to the package.
pub fn rendition_dir(variant: Variant, rendition: &str) -> PathBuf {
    Path::new(variant.folder()).join(rendition)
}

/// An opened package.
#[derive(Debug, Clone)]
pub struct Package {
    root: PathBuf,
    manifest: Manifest,
}

impl Package {
    /// Opens the package in `root`, reading and checking its manifest.
    pub fn open(root: &Path) -> Result<Package> {
        let path = root.join(MANIFEST);
        let fail = |reason: String| {
            Error::Package(PackageError::Invalid {
                path: root.to_path_buf(),
                reason,
            })
        };
        let text = fs::read_to_string(&path).map_err(|e| fail(format!("{MANIFEST}: {e}")))?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| fail(format!("{MANIFEST}: {e}")))?;
        if manifest.format != FORMAT {
            return Err(fail(format!(
                "{MANIFEST} is format {:?}, this build reads {FORMAT:?}",
                manifest.format
            )));
        }
        if manifest.position_frames == 0 || manifest.frames == 0 || manifest.frame_rate_den <= 0 {
            return Err(fail(format!("{MANIFEST} describes no positions")));
        }
        for r in &manifest.renditions {
            if !is_safe_name(&r.name) {
                return Err(fail(format!(
                    "rendition name {:?} is not a plain name",
                    r.name
                )));
            }
        }
        Ok(Package {
            root: root.to_path_buf(),
            manifest,
        })
    }

    /// The package's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The package's manifest (`package.json`).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The rendition a session's download defaults to: the tallest.
    pub fn tallest_rendition(&self) -> Option<&Rendition> {
        self.manifest.renditions.iter().max_by_key(|r| r.height)
    }

    /// The rendition named `name`, if the package has one.
    pub fn rendition(&self, name: &str) -> Option<&Rendition> {
        self.manifest.renditions.iter().find(|r| r.name == name)
    }

    /// The outer code of this package's title under `key`; fails for a key the package was
    /// not prepared with.
    pub fn session_code(&self, key: &Key) -> Result<SessionCode> {
        if key.fingerprint() != self.manifest.key_fingerprint {
            return Err(PackageError::Invalid {
                path: self.root.clone(),
                reason: format!(
                    "prepared under key {}, not the key given ({})",
                    self.manifest.key_fingerprint,
                    key.fingerprint()
                ),
            }
            .into());
        }
        Ok(SessionCode::new(key, self.manifest.title_id))
    }

    /// Path of `rendition`'s initialisation segment in `variant`'s folder (the same bytes in both).
    pub fn init_path(&self, variant: Variant, rendition: &str) -> PathBuf {
        self.root
            .join(rendition_dir(variant, rendition))
            .join("init.mp4")
    }

    /// Path of `variant`'s segment of `rendition` at `position`.
    pub fn segment_path(&self, variant: Variant, rendition: &str, position: u32) -> PathBuf {
        self.root
            .join(rendition_dir(variant, rendition))
            .join(segment_name(position))
    }

    /// A VOD media playlist of `rendition`: `init_uri` as its `EXT-X-MAP`, and
    /// `segment_uri(position)` for every position.
    pub fn media_playlist(&self, init_uri: &str, segment_uri: impl Fn(u32) -> String) -> String {
        let m = &self.manifest;
        let durations: Vec<f64> = (0..m.positions()).map(|p| m.position_seconds(p)).collect();
        vod_playlist(init_uri, &durations, segment_uri)
    }

    /// The audio rendition's playlist (`None` without audio), segments at `segment_uri(i)`.
    pub fn audio_playlist(
        &self,
        init_uri: &str,
        segment_uri: impl Fn(u32) -> String,
    ) -> Option<String> {
        let audio = self.manifest.audio.as_ref()?;
        Some(vod_playlist(init_uri, &audio.segment_seconds, segment_uri))
    }

    /// A master playlist with one variant stream per rendition at `media_uri(rendition)`,
    /// and the audio rendition at `audio_uri` when the package has one.
    pub fn master_playlist(
        &self,
        media_uri: impl Fn(&Rendition) -> String,
        audio_uri: &str,
    ) -> String {
        let streams: Vec<(String, &Rendition)> = self
            .manifest
            .renditions
            .iter()
            .map(|r| (media_uri(r), r))
            .collect();
        self.master_playlist_of(&streams, audio_uri)
    }

    /// A master playlist of `streams` (each a media playlist's URI and what it holds: a
    /// package rendition, or a live session's stream), with the package's audio rendition
    /// at `audio_uri` when it has one.
    pub fn master_playlist_of(&self, streams: &[(String, &Rendition)], audio_uri: &str) -> String {
        let audio = self.manifest.audio.as_ref();
        let variants = streams
            .iter()
            .map(|(uri, r)| m3u8_rs::VariantStream {
                uri: uri.clone(),
                bandwidth: r.peak_bandwidth + audio.map_or(0, |a| a.bandwidth),
                average_bandwidth: Some(r.average_bandwidth + audio.map_or(0, |a| a.bandwidth)),
                codecs: Some(match audio {
                    Some(a) => format!("{},{}", r.codecs, a.codecs),
                    None => r.codecs.clone(),
                }),
                resolution: Some(m3u8_rs::Resolution {
                    width: r.width as u64,
                    height: r.height as u64,
                }),
                frame_rate: Some(self.manifest.frame_rate()),
                audio: audio.map(|_| AUDIO_GROUP.to_string()),
                ..Default::default()
            })
            .collect();
        let alternatives = audio
            .map(|a| m3u8_rs::AlternativeMedia {
                media_type: m3u8_rs::AlternativeMediaType::Audio,
                uri: Some(audio_uri.to_string()),
                group_id: AUDIO_GROUP.into(),
                name: "main".into(),
                default: true,
                autoselect: true,
                channels: Some(a.channels.to_string()),
                ..Default::default()
            })
            .into_iter()
            .collect();
        let playlist = m3u8_rs::MasterPlaylist {
            version: Some(7),
            independent_segments: true,
            variants,
            alternatives,
            ..Default::default()
        };
        write_playlist(|out| playlist.write_to(out))
    }

    /// Path of `audio/`'s initialisation segment.
    pub fn audio_init_path(&self) -> PathBuf {
        self.root.join(AUDIO_DIR).join("init.mp4")
    }

    /// Path of audio segment `index`; `None` without audio or past the last segment.
    pub fn audio_segment_path(&self, index: u32) -> Option<PathBuf> {
        let audio = self.manifest.audio.as_ref()?;
        ((index as usize) < audio.segment_seconds.len())
            .then(|| self.root.join(AUDIO_DIR).join(segment_name(index)))
    }

    /// Writes `session`'s copy of `rendition` to `output`: the initialisation segment and,
    /// for every position, the variant the session is served, byte for byte as streaming
    /// delivers them (a fragmented MP4 every player reads). Temp file + rename.
    pub fn assemble(
        &self,
        code: &SessionCode,
        session: u32,
        rendition: &str,
        output: &Path,
    ) -> Result<()> {
        if self.rendition(rendition).is_none() {
            return Err(PackageError::Invalid {
                path: self.root.clone(),
                reason: format!("has no rendition {rendition:?}"),
            }
            .into());
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        let mut out = TempOutput::beside(output).map_err(io(output))?;
        let init = self.init_path(Variant::A, rendition);
        out.write_all(&fs::read(&init).map_err(io(&init))?)
            .map_err(io(output))?;
        for p in 0..self.manifest.positions() {
            let segment = self.segment_path(code.variant(session, p), rendition, p);
            out.write_all(&fs::read(&segment).map_err(io(&segment))?)
                .map_err(io(output))?;
        }
        out.persist(output).map_err(io(output))
    }
}

/// The audio rendition's folder and HLS group.
pub const AUDIO_DIR: &str = "audio";
const AUDIO_GROUP: &str = "audio";

/// A VOD media playlist: `init_uri` as its `EXT-X-MAP`, segment `i` at `segment_uri(i)`
/// lasting `durations[i]` seconds.
pub(crate) fn vod_playlist(
    init_uri: &str,
    durations: &[f64],
    segment_uri: impl Fn(u32) -> String,
) -> String {
    let segments = durations
        .iter()
        .enumerate()
        .map(|(i, &duration)| m3u8_rs::MediaSegment {
            uri: segment_uri(i as u32),
            duration: duration as f32,
            map: (i == 0).then(|| m3u8_rs::Map {
                uri: init_uri.to_string(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let longest = durations.iter().copied().fold(0.0, f64::max);
    let playlist = m3u8_rs::MediaPlaylist {
        version: Some(7),
        target_duration: longest.round().max(1.0) as u64,
        independent_segments: true,
        end_list: true,
        playlist_type: Some(m3u8_rs::MediaPlaylistType::Vod),
        segments,
        ..Default::default()
    };
    write_playlist(|out| playlist.write_to(out))
}

/// A playlist rendered to text (m3u8-rs writes to any `Write`).
pub(crate) fn write_playlist(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    write(&mut out).expect("writing to memory");
    String::from_utf8(out).expect("playlists are UTF-8")
}

/// A name that is one plain path component (renditions, package files).
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
