//! [`GpuMarker`]: the overlay and the mark of one stream on the GPU, several frames in flight.
//!
//! Each frame goes through a slot: its planes are written into the slot's mapped upload
//! buffer, one submission copies them to the GPU, runs the kernels and copies the result to
//! the slot's readback buffer, and the frame is handed back once that readback is mapped. With
//! [`FRAMES_IN_FLIGHT`] slots, the host fills frame n+1 and reads back frame n-1 while the GPU
//! works on frame n. Buffers, pipelines and bind groups are made once per stream.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use bytemuck::Zeroable;
use filigree::marker::{FrameDone, FrameMarker, MarkingSetup};
use filigree::overlay::Overlay;
use filigree::plane::code_value_scale;
use filigree::video::{PixelFormat, VideoFrame};
use filigree::{EmbedConfig, Embedder, Error, Key, Result, VideoError};

use crate::device::Gpu;
use crate::layout::{FrameLayout, Params, copy_in, copy_out, pack_geometry};
use crate::shader;

/// Frames between upload and readback at once.
pub const FRAMES_IN_FLIGHT: usize = 3;

const WORKGROUP: u32 = 256;
const MAX_WORKGROUPS_X: u32 = 65535;
/// Sections of the per-cell buffer (see `mark.wgsl`).
const CELL_SECTIONS: u64 = 6;

/// A kernel of `mark.wgsl`: its entry point, what one thread covers, and whether it belongs
/// to the overlay (skipped on frames without one).
#[derive(Debug, Clone, Copy)]
struct Kernel {
    entry: &'static str,
    threads: Threads,
    overlay: bool,
}

#[derive(Debug, Clone, Copy)]
enum Threads {
    /// One per word of the luma plane.
    LumaWords,
    /// One per word of the Cb plane, then of the Cr plane.
    ChromaWords,
    /// One per working cell.
    Cells,
}

/// The kernels in the order a frame runs them.
const KERNELS: [Kernel; 6] = [
    Kernel {
        entry: "overlay_luma",
        threads: Threads::LumaWords,
        overlay: true,
    },
    Kernel {
        entry: "overlay_chroma",
        threads: Threads::ChromaWords,
        overlay: true,
    },
    Kernel {
        entry: "cell_sums",
        threads: Threads::Cells,
        overlay: false,
    },
    Kernel {
        entry: "cell_gain",
        threads: Threads::Cells,
        overlay: false,
    },
    Kernel {
        entry: "cell_mark",
        threads: Threads::Cells,
        overlay: false,
    },
    Kernel {
        entry: "apply_mark",
        threads: Threads::LumaWords,
        overlay: false,
    },
];

/// Marks the frames of one stream on the GPU: [`Overlay`] compositing, then the mark, with
/// the same results as [`filigree::marker::CpuMarker`] (within one code value).
pub struct GpuMarker {
    gpu: Gpu,
    /// The CPU reference's per-stream state: the picture tracker and the tables.
    embedder: Embedder,
    /// Frames marked since the tables were loaded (the mask's temporal state is theirs).
    plan_frames: u64,
    layout: FrameLayout,
    params: Params,
    params_buffer: wgpu::Buffer,
    geometry: wgpu::Buffer,
    cells: wgpu::Buffer,
    overlay_buffer: wgpu::Buffer,
    bind_layout: wgpu::BindGroupLayout,
    pipelines: Vec<(Kernel, wgpu::ComputePipeline)>,
    slots: Vec<Slot>,
    /// Slots in submission order, oldest first.
    in_flight: VecDeque<usize>,
    overlay: Option<Overlay>,
    /// Overlay mask and corners packed for upload, reused frame to frame.
    overlay_words: Vec<u32>,
    frame_index: u64,
}

/// One frame's worth of buffers.
struct Slot {
    /// Host-visible staging for the frame's planes; mapped for writing while the slot is idle.
    upload: wgpu::Buffer,
    frame: wgpu::Buffer,
    readback: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    upload_mapped: Arc<AtomicU8>,
    readback_mapped: Arc<AtomicU8>,
    /// The frame being marked in this slot and its submission.
    job: Option<(VideoFrame, wgpu::SubmissionIndex, bool)>,
}

/// States of a buffer mapping requested with `map_async`.
const PENDING: u8 = 0;
const MAPPED: u8 = 1;
const FAILED: u8 = 2;

impl GpuMarker {
    /// Prepares marking `width x height` frames of `format` for `recipient`, with `overlay`
    /// (if any) burned in first. Fails like [`Embedder::new`] on bad sizes or strength, and
    /// when the GPU cannot hold the frames.
    pub fn new(
        gpu: &Gpu,
        key: &Key,
        recipient: u32,
        config: &EmbedConfig,
        format: PixelFormat,
        (width, height): (usize, usize),
        overlay: Option<Overlay>,
    ) -> Result<GpuMarker> {
        let embedder = Embedder::new(key, recipient, width, height, config)?;
        let layout = FrameLayout::new(format, width, height);
        if layout.total_bytes() > gpu.max_buffer_bytes() {
            return Err(Error::Gpu(format!(
                "a {width}x{height} {} frame ({} MB) exceeds the device's largest buffer",
                format.name(),
                layout.total_bytes() >> 20
            )));
        }
        let device = &gpu.device;
        let depth = format.bit_depth();
        let (sub_x, sub_y) = format.subsampling();
        let params = Params {
            width: width as u32,
            height: height as u32,
            luma_words: layout.luma_words as u32,
            chroma_width: layout.chroma_width as u32,
            chroma_height: layout.chroma_height as u32,
            chroma_words: layout.chroma_words as u32,
            cb_at: (layout.plane_offset(1) / 4) as u32,
            cr_at: (layout.plane_offset(2) / 4) as u32,
            sub_x: sub_x as u32,
            sub_y: sub_y as u32,
            max_code: ((1u32 << depth) - 1) as f32,
            to_8bit: 1.0 / code_value_scale(depth),
            ..Params::zeroed()
        };

        let storage =
            |label: &str, size: u64, usage: wgpu::BufferUsages| buffer(device, label, size, usage);
        let params_buffer = storage(
            "params",
            size_of::<Params>() as u64,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        // Placeholders until `load_plan` sizes them for the picture.
        let geometry = storage("geometry", 4, wgpu::BufferUsages::STORAGE);
        let cells = storage("cells", 4, wgpu::BufferUsages::STORAGE);
        let overlay_buffer = storage(
            "overlay",
            4,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        );

        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("mark.wgsl"),
            source: wgpu::ShaderSource::Wgsl(
                shader::source(8 * layout.bytes_per_sample as u32).into(),
            ),
        });
        let bind_layout = bind_group_layout(device);
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("filigree"),
            bind_group_layouts: &[Some(&bind_layout)],
            immediate_size: 0,
        });
        let pipelines = KERNELS
            .iter()
            .map(|&kernel| {
                let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(kernel.entry),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(kernel.entry),
                    compilation_options: Default::default(),
                    cache: None,
                });
                (kernel, pipeline)
            })
            .collect();

        let mut marker = GpuMarker {
            gpu: gpu.clone(),
            embedder,
            plan_frames: 0,
            layout,
            params,
            params_buffer,
            geometry,
            cells,
            overlay_buffer,
            bind_layout,
            pipelines,
            slots: Vec::new(),
            in_flight: VecDeque::new(),
            overlay,
            overlay_words: Vec::new(),
            frame_index: 0,
        };
        marker.load_plan();
        marker.slots = (0..FRAMES_IN_FLIGHT).map(|_| marker.new_slot()).collect();
        Ok(marker)
    }

    /// Uploads the tables of the embedder's current picture and sizes the cell buffer for
    /// its grid; the mask's temporal state starts afresh, as on the CPU. No frame may be in
    /// flight.
    fn load_plan(&mut self) {
        let plan = self.embedder.plan();
        let (words, offsets) = pack_geometry(&plan);
        let device = &self.gpu.device;
        let storage = |label: &str, words: usize| {
            let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
            buffer(device, label, 4 * words as u64, usage)
        };
        self.geometry = storage("geometry", words.len());
        self.gpu
            .queue
            .write_buffer(&self.geometry, 0, bytemuck::cast_slice(&words));
        self.cells = storage("cells", CELL_SECTIONS as usize * plan.cols * plan.rows);
        let picture = plan.picture;
        self.params = Params {
            cols: plan.cols as u32,
            rows: plan.rows as u32,
            col_starts_at: offsets[0],
            row_starts_at: offsets[1],
            col_taps_at: offsets[2],
            row_taps_at: offsets[3],
            tile_at: offsets[4],
            pic_x0: picture.left as u32,
            pic_y0: picture.top as u32,
            pic_width: picture.width() as u32,
            pic_height: picture.height() as u32,
            // Nothing is marked until the stream shows a picture: a zero mark adds nothing.
            amplitude: if plan.marks {
                self.embedder.amplitude(self.layout.format.bit_depth())
            } else {
                0.0
            },
            ..self.params
        };
        for i in 0..self.slots.len() {
            self.slots[i].bind_group = self.bind_group(&self.slots[i].frame);
        }
        self.plan_frames = 0;
    }

    /// The file pipeline's [`MarkerFactory`](filigree::marker::MarkerFactory) for `gpu`
    /// (see `filigree::pipeline::embed_file_with`).
    pub fn factory(gpu: &Gpu) -> impl Fn(MarkingSetup) -> Result<Box<dyn FrameMarker>> + '_ {
        move |setup: MarkingSetup| {
            let info = setup.info;
            let mut marker = GpuMarker::new(
                gpu,
                setup.key,
                setup.recipient,
                &setup.config,
                info.format,
                (info.width, info.height),
                setup.overlay,
            )?;
            marker.frame_index = setup.first_frame;
            Ok(Box::new(marker) as Box<dyn FrameMarker>)
        }
    }

    fn new_slot(&self) -> Slot {
        let device = &self.gpu.device;
        let size = self.layout.total_bytes();
        let buffer = |label: &str, usage: wgpu::BufferUsages, mapped_at_creation: bool| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation,
            })
        };
        let frame = buffer(
            "frame",
            wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_DST
                | wgpu::BufferUsages::COPY_SRC,
            false,
        );
        Slot {
            upload: buffer(
                "upload",
                wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
                true,
            ),
            readback: buffer(
                "readback",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                false,
            ),
            bind_group: self.bind_group(&frame),
            frame,
            upload_mapped: Arc::new(AtomicU8::new(MAPPED)),
            readback_mapped: Arc::new(AtomicU8::new(PENDING)),
            job: None,
        }
    }

    fn bind_group(&self, frame: &wgpu::Buffer) -> wgpu::BindGroup {
        let buffers = [
            &self.params_buffer,
            frame,
            &self.geometry,
            &self.cells,
            &self.overlay_buffer,
        ];
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(binding, buffer)| wgpu::BindGroupEntry {
                binding: binding as u32,
                resource: buffer.as_entire_binding(),
            })
            .collect();
        self.gpu
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("frame"),
                layout: &self.bind_layout,
                entries: &entries,
            })
    }

    /// Uploads this frame's overlay (mask and corners) and sets its parameters; returns
    /// whether anything is drawn.
    fn prepare_overlay(&mut self) -> bool {
        let Some(layers) = self
            .overlay
            .as_mut()
            .and_then(|overlay| overlay.layers(self.frame_index))
        else {
            self.params.corners = 0;
            return false;
        };
        let mask_len = layers.mask_width * layers.mask_height;
        let words = &mut self.overlay_words;
        words.clear();
        words.extend(layers.fill_coverage.iter().map(|v| v.to_bits()));
        if layers.halo_coverage.is_empty() {
            words.resize(2 * mask_len, 0.0f32.to_bits());
        } else {
            words.extend(layers.halo_coverage.iter().map(|v| v.to_bits()));
        }
        let clamp = |v: i64| v.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
        let (mut x0, mut y0, mut x1, mut y1) = (i32::MAX, i32::MAX, i32::MIN, i32::MIN);
        for &(x, y) in &layers.corners {
            words.extend([clamp(x) as u32, clamp(y) as u32]);
            x0 = x0.min(clamp(x));
            y0 = y0.min(clamp(y));
            x1 = x1.max(clamp(x + layers.mask_width as i64));
            y1 = y1.max(clamp(y + layers.mask_height as i64));
        }
        let scale = code_value_scale(self.layout.format.bit_depth());
        let p = &mut self.params;
        p.mask_width = layers.mask_width as u32;
        p.mask_height = layers.mask_height as u32;
        p.corners = layers.corners.len() as u32;
        p.halo_at = mask_len as u32;
        p.corners_at = 2 * mask_len as u32;
        p.opacity = layers.opacity;
        (p.fill_y, p.fill_cb, p.fill_cr) = (
            layers.fill.y * scale,
            layers.fill.cb * scale,
            layers.fill.cr * scale,
        );
        (p.halo_y, p.halo_cb, p.halo_cr) = (
            layers.halo.y * scale,
            layers.halo.cb * scale,
            layers.halo.cr * scale,
        );
        (p.box_x0, p.box_y0, p.box_x1, p.box_y1) = (x0, y0, x1, y1);
        if p.corners == 0 {
            return false;
        }

        let bytes = 4 * self.overlay_words.len() as u64;
        if bytes > self.overlay_buffer.size() {
            // Longer text than before: grow (doubling, so rarely) and rebind.
            self.overlay_buffer = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("overlay"),
                size: bytes.next_power_of_two(),
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            for i in 0..self.slots.len() {
                self.slots[i].bind_group = self.bind_group(&self.slots[i].frame);
            }
        }
        self.gpu.queue.write_buffer(
            &self.overlay_buffer,
            0,
            bytemuck::cast_slice(&self.overlay_words),
        );
        true
    }

    /// Records the kernels of one frame (overlay kernels only when `overlay`).
    fn record_kernels(&self, encoder: &mut wgpu::CommandEncoder, slot: &Slot, overlay: bool) {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("mark"),
            timestamp_writes: None,
        });
        pass.set_bind_group(0, &slot.bind_group, &[]);
        let cells = (self.params.cols * self.params.rows) as u64;
        for (kernel, pipeline) in &self.pipelines {
            let threads = match kernel.threads {
                Threads::LumaWords => self.layout.luma_words,
                Threads::ChromaWords => 2 * self.layout.chroma_words,
                Threads::Cells => cells,
            };
            if kernel.overlay && !overlay || threads == 0 {
                continue;
            }
            pass.set_pipeline(pipeline);
            let groups = threads.div_ceil(WORKGROUP as u64);
            let x = groups.min(MAX_WORKGROUPS_X as u64) as u32;
            let y = groups.div_ceil(MAX_WORKGROUPS_X as u64) as u32;
            pass.dispatch_workgroups(x, y, 1);
        }
    }

    /// Waits for the oldest frame in flight and returns it marked.
    fn complete_oldest(&mut self) -> Result<Option<VideoFrame>> {
        let Some(index) = self.in_flight.pop_front() else {
            return Ok(None);
        };
        let slot = &mut self.slots[index];
        let (mut frame, submission, all_planes) = slot.job.take().expect("slot in flight");
        wait_for_map(&self.gpu, &slot.readback_mapped, Some(submission))?;
        {
            let mapped = slot
                .readback
                .get_mapped_range(..self.layout.transfer_bytes(all_planes))
                .map_err(|e| Error::Gpu(format!("reading back a frame: {e}")))?;
            let planes = if all_planes { 3 } else { 1 };
            copy_out(&self.layout, &mapped, &mut frame, planes);
        }
        slot.readback.unmap();
        Ok(Some(frame))
    }

    /// Runs the kernels `iterations` times on the frame already on the GPU (no transfers) and
    /// returns the time per run: the kernel-only figure of the benchmark.
    pub fn time_kernels(&mut self, iterations: u32) -> Result<Duration> {
        let overlay = self.prepare_overlay();
        self.params.has_previous = 1;
        self.gpu
            .queue
            .write_buffer(&self.params_buffer, 0, bytemuck::bytes_of(&self.params));
        let started = Instant::now();
        for _ in 0..iterations {
            let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
            self.record_kernels(&mut encoder, &self.slots[0], overlay);
            self.gpu.queue.submit([encoder.finish()]);
        }
        self.gpu
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
        Ok(started.elapsed() / iterations.max(1))
    }
}

impl FrameMarker for GpuMarker {
    fn push(&mut self, frame: VideoFrame, done: FrameDone) -> Result<()> {
        if (frame.format, frame.width(), frame.height())
            != (self.layout.format, self.layout.width, self.layout.height)
        {
            return Err(VideoError::FrameSizeChanged {
                width: frame.width(),
                height: frame.height(),
                expected_width: self.layout.width,
                expected_height: self.layout.height,
            }
            .into());
        }
        if self.embedder.track_frame(&frame)? {
            // New picture, new tables: let the frames marked on the old ones finish first.
            while let Some(marked) = self.complete_oldest()? {
                done(marked)?;
            }
            self.load_plan();
        }
        let index = (self.frame_index % self.slots.len() as u64) as usize;
        if self.slots[index].job.is_some() {
            // All slots busy: this one holds the oldest frame.
            let oldest = self.complete_oldest()?.expect("a frame in flight");
            done(oldest)?;
        }
        let overlay = self.prepare_overlay();
        self.params.has_previous = u32::from(self.plan_frames > 0);
        let shown = self.embedder.frame_picture();
        (
            self.params.shown_x0,
            self.params.shown_y0,
            self.params.shown_x1,
            self.params.shown_y1,
        ) = (
            shown.left as u32,
            shown.top as u32,
            shown.right as u32,
            shown.bottom as u32,
        );
        self.gpu
            .queue
            .write_buffer(&self.params_buffer, 0, bytemuck::bytes_of(&self.params));

        let slot = &self.slots[index];
        wait_for_map(&self.gpu, &slot.upload_mapped, None)?;
        let bytes = self.layout.transfer_bytes(overlay);
        {
            let mut mapped = slot
                .upload
                .get_mapped_range_mut(..bytes)
                .map_err(|e| Error::Gpu(format!("uploading a frame: {e}")))?;
            copy_in(
                &self.layout,
                &frame,
                &mut mapped,
                if overlay { 3 } else { 1 },
            );
        }
        slot.upload.unmap();

        let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&slot.upload, 0, &slot.frame, 0, bytes);
        self.record_kernels(&mut encoder, slot, overlay);
        encoder.copy_buffer_to_buffer(&slot.frame, 0, &slot.readback, 0, bytes);
        let submission = self.gpu.queue.submit([encoder.finish()]);
        request_map(&slot.upload, wgpu::MapMode::Write, &slot.upload_mapped);
        request_map(&slot.readback, wgpu::MapMode::Read, &slot.readback_mapped);

        self.slots[index].job = Some((frame, submission, overlay));
        self.in_flight.push_back(index);
        self.frame_index += 1;
        self.plan_frames += 1;
        Ok(())
    }

    fn finish(&mut self, done: FrameDone) -> Result<()> {
        while let Some(frame) = self.complete_oldest()? {
            done(frame)?;
        }
        Ok(())
    }
}

fn request_map(buffer: &wgpu::Buffer, mode: wgpu::MapMode, state: &Arc<AtomicU8>) {
    state.store(PENDING, Ordering::Release);
    let state = Arc::clone(state);
    buffer.map_async(mode, .., move |result| {
        state.store(
            if result.is_ok() { MAPPED } else { FAILED },
            Ordering::Release,
        );
    });
}

/// Polls the device until the mapping behind `state` is done.
fn wait_for_map(
    gpu: &Gpu,
    state: &AtomicU8,
    submission: Option<wgpu::SubmissionIndex>,
) -> Result<()> {
    let mut submission = submission;
    loop {
        match state.load(Ordering::Acquire) {
            MAPPED => return Ok(()),
            FAILED => return Err(Error::Gpu("mapping a frame buffer failed".into())),
            _ => {}
        }
        gpu.device
            .poll(wgpu::PollType::Wait {
                submission_index: submission.take(),
                timeout: None,
            })
            .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
    }
}

/// A GPU buffer of at least `size` bytes (whole words, never empty).
fn buffer(
    device: &wgpu::Device,
    label: &str,
    size: u64,
    usage: wgpu::BufferUsages,
) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: size.max(4).next_multiple_of(4),
        usage,
        mapped_at_creation: false,
    })
}

fn bind_group_layout(device: &wgpu::Device) -> wgpu::BindGroupLayout {
    let entry = |binding: u32, ty: wgpu::BufferBindingType| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    let storage = |read_only| wgpu::BufferBindingType::Storage { read_only };
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("filigree"),
        entries: &[
            entry(0, wgpu::BufferBindingType::Uniform),
            entry(1, storage(false)),
            entry(2, storage(true)),
            entry(3, storage(false)),
            entry(4, storage(true)),
        ],
    })
}
