//! The file pipeline's overhead: `embed_file` (decode, mark, encode) against the same
//! pipeline passing frames through unmarked (decode, encode), on a real clip.
//!
//! - `pipeline/transcode_only`: `embed_file_with` and a pass-through marker.
//! - `pipeline/transcode_and_mark`: `embed_file`, the CPU marker.
//!
//! The ratio of the two is what marking adds to a transcode. Both encode with libx264 CRF 17
//! (the CLI's default), preset veryfast, from `testdata/tos_360p24_10s.mp4` (240 frames).
//! Run with `cargo bench -p filigree-benches --bench pipeline`.

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use filigree::marker::{FrameDone, FrameMarker, MarkingSetup};
use filigree::pipeline::{self, EmbedJob};
use filigree::video::VideoFrame;
use filigree::video::ffmpeg::{Codec, EncodeOptions};
use filigree::{EmbedConfig, Key, Result};

const CLIP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/tos_360p24_10s.mp4"
);
const CLIP_FRAMES: u64 = 240;

/// Hands frames on untouched: the pipeline with nothing to do between decoder and encoder.
struct PassThrough;

impl FrameMarker for PassThrough {
    fn push(&mut self, frame: VideoFrame, done: FrameDone) -> Result<()> {
        done(frame)
    }

    fn finish(&mut self, _done: FrameDone) -> Result<()> {
        Ok(())
    }
}

fn pass_through(_: MarkingSetup) -> Result<Box<dyn FrameMarker>> {
    Ok(Box::new(PassThrough))
}

fn bench_pipeline(c: &mut Criterion) {
    let key = Key::from_bytes([7; 32]);
    let job = EmbedJob {
        key: &key,
        recipient: 42,
        config: EmbedConfig::default(),
        encode: EncodeOptions {
            codec: Codec::X264,
            crf: None,
            preset: Some("veryfast".into()),
            pix_fmt: None,
        },
        overwrite: true,
        measure_quality: false,
        overlay: None,
        session: None,
        realtime: false,
        cancel: None,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let output = dir.path().join("out.mp4");
    let input = Path::new(CLIP);
    let mut group = c.benchmark_group("pipeline");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(CLIP_FRAMES));
    group.bench_function("transcode_only", |b| {
        b.iter(|| {
            pipeline::embed_file_with(input, &output, &job, &pass_through, &mut |_, _| {})
                .expect("transcode")
        })
    });
    group.bench_function("transcode_and_mark", |b| {
        b.iter(|| pipeline::embed_file(input, &output, &job, &mut |_, _| {}).expect("embed"))
    });
    group.finish();
}

criterion_group!(benches, bench_pipeline);
criterion_main!(benches);
