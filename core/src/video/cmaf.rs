//! Cutting a fragmented MP4 into CMAF pieces: the initialisation segment (`ftyp` + `moov`)
//! and one media segment per fragment (`moof` + `mdat`), with each fragment's decode time
//! and sequence number set to its place in the title. A package's position ranges are
//! encoded separately (`prepare`), so this is what makes their segments one continuous
//! stream; segment bytes are otherwise what the muxer wrote.

/// Called with each box's type and body.
type BoxVisitor<'a> = dyn FnMut(&[u8; 4], &mut [u8]) -> Result<(), String> + 'a;

/// Reads the top-level boxes of an ISO BMFF file: (type, start, end) each.
fn boxes(data: &[u8]) -> Result<Vec<([u8; 4], usize, usize)>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let header = data
            .get(at..at + 8)
            .ok_or_else(|| format!("truncated box header at byte {at}"))?;
        let size32 = u32::from_be_bytes(header[0..4].try_into().expect("4 bytes")) as usize;
        let kind: [u8; 4] = header[4..8].try_into().expect("4 bytes");
        let size = match size32 {
            0 => data.len() - at,
            1 => {
                let large = data
                    .get(at + 8..at + 16)
                    .ok_or_else(|| format!("truncated large box at byte {at}"))?;
                u64::from_be_bytes(large.try_into().expect("8 bytes")) as usize
            }
            n => n,
        };
        if size < 8 || at + size > data.len() {
            return Err(format!(
                "box {:?} at byte {at} claims {size} bytes",
                String::from_utf8_lossy(&kind)
            ));
        }
        out.push((kind, at, at + size));
        at += size;
    }
    Ok(out)
}

/// A fragmented MP4 cut into its initialisation segment and fragments.
#[derive(Debug)]
pub struct Fragments {
    /// The initialisation segment: `ftyp` and `moov`.
    pub init: Vec<u8>,
    /// The media fragments in order, each a `moof` and its `mdat`.
    pub segments: Vec<Vec<u8>>,
}

/// Splits `data` (as the muxer wrote it with an empty `moov` and one fragment per GOP).
pub fn split(data: &[u8]) -> Result<Fragments, String> {
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
                    .ok_or_else(|| format!("mdat at byte {start} without a moof"))?;
                segments.push(data[moof_start..end].to_vec());
            }
            // The fragment index at the end (mfra) and free space are not part of a stream.
            _ => {}
        }
    }
    if init.is_empty() || segments.is_empty() {
        return Err("not a fragmented MP4 (no moov or no fragments)".into());
    }
    Ok(Fragments { init, segments })
}

/// The first `tfdt` decode time of a `moof`+`mdat` segment.
pub fn decode_time(segment: &[u8]) -> Result<u64, String> {
    let mut copy = segment.to_vec();
    let mut time = None;
    visit_moof(&mut copy, &mut |kind, body| {
        if kind == b"tfdt" && time.is_none() {
            time = Some(match body.first() {
                Some(1) => {
                    u64::from_be_bytes(body.get(4..12).ok_or("short tfdt")?.try_into().expect("8"))
                }
                Some(0) => {
                    u32::from_be_bytes(body.get(4..8).ok_or("short tfdt")?.try_into().expect("4"))
                        as u64
                }
                _ => return Err("unknown tfdt version".into()),
            });
        }
        Ok(())
    })?;
    time.ok_or_else(|| "fragment has no tfdt".into())
}

/// Samples in a segment's first track run (`trun` sample count).
pub fn sample_count(segment: &[u8]) -> Result<u32, String> {
    let mut copy = segment.to_vec();
    let mut count = None;
    visit_moof(&mut copy, &mut |kind, body| {
        if kind == b"trun" && count.is_none() {
            let bytes = body.get(4..8).ok_or("short trun")?;
            count = Some(u32::from_be_bytes(bytes.try_into().expect("4 bytes")));
        }
        Ok(())
    })?;
    count.ok_or_else(|| "fragment has no trun".into())
}

/// Sets the `mfhd` sequence number and every `tfdt` decode time of a `moof`+`mdat` segment
/// (a segment has one track, so one `tfdt`).
pub fn retime(segment: &mut [u8], sequence: u32, decode_time: u64) -> Result<(), String> {
    let mut found_tfdt = false;
    visit_moof(segment, &mut |kind, body| {
        match kind {
            b"mfhd" => body
                .get_mut(4..8)
                .ok_or("short mfhd")?
                .copy_from_slice(&sequence.to_be_bytes()),
            b"tfdt" => {
                found_tfdt = true;
                match body.first() {
                    Some(1) => body
                        .get_mut(4..12)
                        .ok_or("short tfdt")?
                        .copy_from_slice(&decode_time.to_be_bytes()),
                    Some(0) => body.get_mut(4..8).ok_or("short tfdt")?.copy_from_slice(
                        &u32::try_from(decode_time)
                            .map_err(|_| "decode time beyond a version 0 tfdt")?
                            .to_be_bytes(),
                    ),
                    _ => return Err("unknown tfdt version".into()),
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    if !found_tfdt {
        return Err("fragment has no tfdt".into());
    }
    Ok(())
}

/// Calls `f` with each box of a segment's `moof` and of its `traf`s.
fn visit_moof(segment: &mut [u8], f: &mut BoxVisitor) -> Result<(), String> {
    let moof_size = u32::from_be_bytes(
        segment
            .get(0..4)
            .ok_or("empty segment")?
            .try_into()
            .expect("4 bytes"),
    ) as usize;
    if segment.get(4..8) != Some(b"moof") || moof_size > segment.len() || moof_size < 8 {
        return Err("segment does not start with a moof".into());
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
fn walk(data: &mut [u8], f: &mut BoxVisitor) -> Result<(), String> {
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
