//! Cutting a fragmented MP4 into CMAF pieces: the initialisation segment (`ftyp` + `moov`)
//! and one media segment per fragment (`moof` + `mdat`), with each fragment's decode time
//! and sequence number set to its place in the title. A package's position ranges are
//! encoded separately (`prepare`), so this is what makes their segments one continuous
//! stream; segment bytes are otherwise what the muxer wrote.

/// What is wrong with a fragmented MP4 or one of its segments.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CmafError {
    /// Fewer than the 8 bytes of a box header left at this byte.
    #[error("truncated box header at byte {0}")]
    TruncatedHeader(usize),
    /// A 64-bit box size cut off at this byte.
    #[error("truncated large box at byte {0}")]
    TruncatedLargeBox(usize),
    /// A box whose size is below its header's or past the end of the data.
    #[error("box {kind:?} at byte {at} claims {size} bytes")]
    BadBoxSize {
        /// The box type, as text.
        kind: String,
        /// Where the box starts.
        at: usize,
        /// The size it claims.
        size: usize,
    },
    /// Media data (`mdat`) at this byte with no fragment header (`moof`) before it.
    #[error("mdat at byte {0} without a moof")]
    MdatWithoutMoof(usize),
    /// No `moov`, or no fragments: not what a fragmenting muxer writes.
    #[error("not a fragmented MP4 (no moov or no fragments)")]
    NotFragmented,
    /// A segment with no bytes.
    #[error("empty segment")]
    EmptySegment,
    /// A segment that does not begin with its `moof`.
    #[error("segment does not start with a moof")]
    NoMoof,
    /// A box of this type too short for its fields.
    #[error("short {0}")]
    ShortBox(&'static str),
    /// A fragment without a box of this type.
    #[error("fragment has no {0}")]
    MissingBox(&'static str),
    /// A `tfdt` of a version ISO BMFF does not define.
    #[error("unknown tfdt version")]
    UnknownTfdtVersion,
    /// A decode time a 32-bit (version 0) `tfdt` cannot hold.
    #[error("decode time beyond a version 0 tfdt")]
    DecodeTimeOverflow,
}

/// Called with each box's type and body.
type BoxVisitor<'a> = dyn FnMut(&[u8; 4], &mut [u8]) -> Result<(), CmafError> + 'a;

/// Reads the top-level boxes of an ISO BMFF file: (type, start, end) each.
fn boxes(data: &[u8]) -> Result<Vec<([u8; 4], usize, usize)>, CmafError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let header = data.get(at..at + 8).ok_or(CmafError::TruncatedHeader(at))?;
        let size32 = u32::from_be_bytes(header[0..4].try_into().expect("4 bytes")) as usize;
        let kind: [u8; 4] = header[4..8].try_into().expect("4 bytes");
        let size = match size32 {
            0 => data.len() - at,
            1 => {
                let large = data
                    .get(at + 8..at + 16)
                    .ok_or(CmafError::TruncatedLargeBox(at))?;
                u64::from_be_bytes(large.try_into().expect("8 bytes")) as usize
            }
            n => n,
        };
        if size < 8 || at + size > data.len() {
            return Err(CmafError::BadBoxSize {
                kind: String::from_utf8_lossy(&kind).into_owned(),
                at,
                size,
            });
        }
        out.push((kind, at, at + size));
        at += size;
    }
    Ok(out)
}

/// A fragmented MP4 cut into its initialisation segment and fragments.
#[derive(Debug)]
pub struct Fragments {
    /// The initialisation segment: `ftyp` and `moov`, as written.
    pub init: Vec<u8>,
    /// The media segments in file order, one `moof` + `mdat` each.
    pub segments: Vec<Vec<u8>>,
}

/// Splits `data` (as the muxer wrote it with an empty `moov` and one fragment per GOP).
pub fn split(data: &[u8]) -> Result<Fragments, CmafError> {
    let boxes = boxes(data)?;
    let mut init = Vec::new();
    let mut segments = Vec::new();
    let mut pending_moof: Option<(usize, usize)> = None;
    for (kind, start, end) in boxes {
        match &kind {
            b"ftyp" | b"moov" if segments.is_empty() && pending_moof.is_none() => {
                init.extend_from_slice(&data[start..end])
            }
            b"moof" => pending_moof = Some((start, end)),
            b"mdat" => {
                let (moof_start, _) = pending_moof
                    .take()
                    .ok_or(CmafError::MdatWithoutMoof(start))?;
                segments.push(data[moof_start..end].to_vec());
            }
            // The fragment index at the end (mfra) and free space are not part of a stream.
            _ => {}
        }
    }
    if init.is_empty() || segments.is_empty() {
        return Err(CmafError::NotFragmented);
    }
    Ok(Fragments { init, segments })
}

/// The first `tfdt` decode time of a `moof`+`mdat` segment.
pub fn decode_time(segment: &[u8]) -> Result<u64, CmafError> {
    let mut copy = segment.to_vec();
    let mut time = None;
    visit_moof(&mut copy, &mut |kind, body| {
        if kind == b"tfdt" && time.is_none() {
            time = Some(match body.first() {
                Some(1) => u64::from_be_bytes(
                    body.get(4..12)
                        .ok_or(CmafError::ShortBox("tfdt"))?
                        .try_into()
                        .expect("8"),
                ),
                Some(0) => u32::from_be_bytes(
                    body.get(4..8)
                        .ok_or(CmafError::ShortBox("tfdt"))?
                        .try_into()
                        .expect("4"),
                ) as u64,
                _ => return Err(CmafError::UnknownTfdtVersion),
            });
        }
        Ok(())
    })?;
    time.ok_or(CmafError::MissingBox("tfdt"))
}

/// Samples in a segment's first track run (`trun` sample count).
pub fn sample_count(segment: &[u8]) -> Result<u32, CmafError> {
    let mut copy = segment.to_vec();
    let mut count = None;
    visit_moof(&mut copy, &mut |kind, body| {
        if kind == b"trun" && count.is_none() {
            let bytes = body.get(4..8).ok_or(CmafError::ShortBox("trun"))?;
            count = Some(u32::from_be_bytes(bytes.try_into().expect("4 bytes")));
        }
        Ok(())
    })?;
    count.ok_or(CmafError::MissingBox("trun"))
}

/// Sets the `mfhd` sequence number and every `tfdt` decode time of a `moof`+`mdat` segment
/// (a segment has one track, so one `tfdt`).
pub fn retime(segment: &mut [u8], sequence: u32, decode_time: u64) -> Result<(), CmafError> {
    let mut found_tfdt = false;
    visit_moof(segment, &mut |kind, body| {
        match kind {
            b"mfhd" => body
                .get_mut(4..8)
                .ok_or(CmafError::ShortBox("mfhd"))?
                .copy_from_slice(&sequence.to_be_bytes()),
            b"tfdt" => {
                found_tfdt = true;
                match body.first() {
                    Some(1) => body
                        .get_mut(4..12)
                        .ok_or(CmafError::ShortBox("tfdt"))?
                        .copy_from_slice(&decode_time.to_be_bytes()),
                    Some(0) => body
                        .get_mut(4..8)
                        .ok_or(CmafError::ShortBox("tfdt"))?
                        .copy_from_slice(
                            &u32::try_from(decode_time)
                                .map_err(|_| CmafError::DecodeTimeOverflow)?
                                .to_be_bytes(),
                        ),
                    _ => return Err(CmafError::UnknownTfdtVersion),
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    if !found_tfdt {
        return Err(CmafError::MissingBox("tfdt"));
    }
    Ok(())
}

/// Calls `f` with each box of a segment's `moof` and of its `traf`s.
fn visit_moof(segment: &mut [u8], f: &mut BoxVisitor) -> Result<(), CmafError> {
    let moof_size = u32::from_be_bytes(
        segment
            .get(0..4)
            .ok_or(CmafError::EmptySegment)?
            .try_into()
            .expect("4 bytes"),
    ) as usize;
    if segment.get(4..8) != Some(b"moof") || moof_size > segment.len() || moof_size < 8 {
        return Err(CmafError::NoMoof);
    }
    walk(&mut segment[8..moof_size], &mut |kind, body| {
        if kind == b"traf" {
            walk(body, &mut *f)
        } else {
            f(kind, body)
        }
    })
}

/// Calls `f` with the type and body of each box in `data`.
fn walk(data: &mut [u8], f: &mut BoxVisitor) -> Result<(), CmafError> {
    let spans = boxes(data)?;
    for (kind, start, end) in spans {
        f(&kind, &mut data[start + 8..end])?;
    }
    Ok(())
}

/// The `avc1.PPCCLL` codecs string of an H.264 initialisation segment (profile,
/// constraint flags, level from its `avcC`), for HLS `CODECS`.
pub fn avc_codecs(init: &[u8]) -> Option<String> {
    let at = init.windows(4).position(|w| w == b"avcC")?;
    let record = init.get(at + 4..at + 8)?;
    Some(format!(
        "avc1.{:02x}{:02x}{:02x}",
        record[1], record[2], record[3]
    ))
}

/// The media timescale (units per second) of the first track in an initialisation segment.
pub fn timescale(init: &[u8]) -> Option<u32> {
    let at = init.windows(4).position(|w| w == b"mdhd")?;
    let body = init.get(at + 4..)?;
    let offset = match body.first()? {
        0 => 12,
        1 => 20,
        _ => return None,
    };
    Some(u32::from_be_bytes(
        body.get(offset..offset + 4)?.try_into().ok()?,
    ))
}
