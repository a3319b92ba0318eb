//! Audio the output container cannot carry as it is, re-encoded as AAC (FFmpeg's native
//! encoder) at the source's sample rate and channel layout: a master's PCM going into an MP4
//! screener, which MP4 cannot hold but every browser plays as AAC.

use ff::{Rescale, codec, decoder, encoder, format, frame};
use ffmpeg_next as ff;

/// Bit rate per channel: 192 kb/s for stereo, transparent for review copies.
const BIT_RATE_PER_CHANNEL: usize = 96_000;

/// Decodes one audio stream's packets and encodes them as AAC.
pub(super) struct AacTranscoder {
    decoder: decoder::Audio,
    encoder: encoder::Audio,
    decoded: frame::Audio,
    /// Decoded samples not yet encoded, one buffer per channel, as floats in -1..1.
    pending: Vec<Vec<f32>>,
    /// Time stamp of the first pending sample, in samples (the encoder's time base); set by
    /// the first decoded frame so the audio keeps its offset to the video.
    next_pts: Option<i64>,
    /// The time base of the packets fed in.
    packet_time_base: ff::Rational,
}

impl AacTranscoder {
    /// Sets up decoding of `stream` and AAC encoding of it; the reason when either is not
    /// possible. `global_header`: the container wants codec headers out of band (MP4, MOV).
    pub(super) fn new(stream: &ff::Stream, global_header: bool) -> Result<AacTranscoder, String> {
        let packet_time_base = stream.time_base();
        let context = codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| e.to_string())?;
        let mut decoder = context.decoder();
        decoder.set_packet_time_base(packet_time_base);
        let decoder = decoder.audio().map_err(|e| e.to_string())?;
        let aac = encoder::find(codec::Id::AAC).ok_or("no AAC encoder in this FFmpeg build")?;
        let channels = decoder.channels();
        let layout = match decoder.channel_layout() {
            layout if layout.channels() == i32::from(channels) => layout,
            _ => ff::ChannelLayout::default(i32::from(channels)),
        };
        let mut audio = codec::context::Context::new_with_codec(aac)
            .encoder()
            .audio()
            .map_err(|e| e.to_string())?;
        audio.set_rate(decoder.rate() as i32);
        audio.set_channel_layout(layout);
        audio.set_channels(i32::from(channels));
        audio.set_format(format::Sample::F32(format::sample::Type::Planar));
        audio.set_bit_rate(BIT_RATE_PER_CHANNEL * usize::from(channels));
        audio.set_time_base(ff::Rational::new(1, decoder.rate() as i32));
        if global_header {
            audio.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let encoder = audio.open_as(aac).map_err(|e| {
            format!(
                "AAC cannot encode {channels} channels at {} Hz: {e}",
                decoder.rate()
            )
        })?;
        Ok(AacTranscoder {
            pending: vec![Vec::new(); usize::from(channels)],
            decoder,
            encoder,
            decoded: frame::Audio::empty(),
            next_pts: None,
            packet_time_base,
        })
    }

    /// The encoder, for the output stream's parameters.
    pub(super) fn encoder(&self) -> &encoder::Audio {
        &self.encoder
    }

    /// The time base of the packets this returns.
    pub(super) fn time_base(&self) -> ff::Rational {
        ff::Rational::new(1, self.encoder.rate() as i32)
    }

    /// Decodes `packet` and appends the AAC packets now complete to `out`.
    pub(super) fn push(
        &mut self,
        packet: &ff::Packet,
        out: &mut Vec<ff::Packet>,
    ) -> Result<(), String> {
        // A damaged packet is skipped, as the video decoder does.
        if self.decoder.send_packet(packet).is_ok() {
            self.take_decoded()?;
        }
        self.encode(false, out)
    }

    /// Encodes what is left and drains the encoder into `out`.
    pub(super) fn finish(&mut self, out: &mut Vec<ff::Packet>) -> Result<(), String> {
        if self.decoder.send_eof().is_ok() {
            self.take_decoded()?;
        }
        self.encode(true, out)?;
        match self.encoder.send_eof() {
            Ok(()) | Err(ff::Error::Eof) => {}
            Err(e) => return Err(e.to_string()),
        }
        self.receive(out)
    }

    fn take_decoded(&mut self) -> Result<(), String> {
        while self.decoder.receive_frame(&mut self.decoded).is_ok() {
            if self.next_pts.is_none() {
                let start = self.decoded.pts().unwrap_or(0);
                self.next_pts = Some(start.rescale(self.packet_time_base, self.time_base()));
            }
            append_samples(&self.decoded, &mut self.pending)?;
        }
        Ok(())
    }

    /// Sends whole encoder frames of pending samples (and, when `all`, the shorter rest).
    fn encode(&mut self, all: bool, out: &mut Vec<ff::Packet>) -> Result<(), String> {
        let frame_size = (self.encoder.frame_size() as usize).max(1);
        loop {
            let available = self.pending.first().map_or(0, Vec::len);
            let take = match available {
                0 => return Ok(()),
                n if n >= frame_size => frame_size,
                n if all => n,
                _ => return Ok(()),
            };
            let mut frame =
                frame::Audio::new(self.encoder.format(), take, self.encoder.channel_layout());
            frame.set_rate(self.encoder.rate());
            for (channel, samples) in self.pending.iter_mut().enumerate() {
                let plane = frame.plane_mut::<f32>(channel);
                plane[..take].copy_from_slice(&samples[..take]);
                samples.drain(..take);
            }
            let pts = self.next_pts.unwrap_or(0);
            frame.set_pts(Some(pts));
            self.next_pts = Some(pts + take as i64);
            self.encoder
                .send_frame(&frame)
                .map_err(|e| format!("AAC encoding failed: {e}"))?;
            self.receive(out)?;
        }
    }

    fn receive(&mut self, out: &mut Vec<ff::Packet>) -> Result<(), String> {
        loop {
            let mut packet = ff::Packet::empty();
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => out.push(packet),
                Err(ff::Error::Eof) => return Ok(()),
                Err(ff::Error::Other { errno }) if errno == ff::ffi::EAGAIN => return Ok(()),
                Err(e) => return Err(format!("AAC encoding failed: {e}")),
            }
        }
    }
}

/// Appends the samples of a decoded frame, of any sample format, to one float buffer per
/// channel.
fn append_samples(frame: &frame::Audio, channels: &mut [Vec<f32>]) -> Result<(), String> {
    use format::Sample;
    let format = frame.format();
    let width = format.bytes();
    let samples = frame.samples();
    let count = channels.len();
    if usize::from(frame.channels()) != count {
        return Err("the number of audio channels changed mid-stream".into());
    }
    let to_float: fn(&[u8]) -> f32 = match format {
        Sample::U8(_) => |b| (f32::from(b[0]) - 128.0) / 128.0,
        Sample::I16(_) => |b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0,
        Sample::I32(_) => |b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0,
        Sample::I64(_) => |b| {
            i64::from_le_bytes(b.try_into().expect("8 bytes")) as f32 / 9_223_372_036_854_775_808.0
        },
        Sample::F32(_) => |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        Sample::F64(_) => |b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32,
        Sample::None => return Err("the audio decoder gave no sample format".into()),
    };
    if frame.is_planar() {
        for (channel, buffer) in channels.iter_mut().enumerate() {
            let data = frame
                .data(channel)
                .get(..samples * width)
                .ok_or("decoded audio is shorter than stated")?;
            buffer.extend(data.chunks_exact(width).map(to_float));
        }
    } else {
        let data = frame
            .data(0)
            .get(..samples * width * count)
            .ok_or("decoded audio is shorter than stated")?;
        for (i, sample) in data.chunks_exact(width).enumerate() {
            channels[i % count].push(to_float(sample));
        }
    }
    Ok(())
}
