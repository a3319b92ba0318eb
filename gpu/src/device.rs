//! Finding a GPU and opening it for compute.

use filigree::{Error, Result};

/// Setting this environment variable to `1` lets [`Gpu::open_for_marking`] accept a software
/// renderer: slower than the CPU path, but it runs the GPU kernels on machines without a GPU
/// (tests, CI).
pub const ALLOW_SOFTWARE_ENV: &str = "FILIGREE_GPU_ALLOW_SOFTWARE";

/// An opened GPU: the wgpu device and its queue.
#[derive(Debug, Clone)]
pub struct Gpu {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
}

impl Gpu {
    /// Opens the best adapter wgpu finds (a discrete GPU before an integrated one; a software
    /// renderer such as Mesa's lavapipe only when nothing else exists: check
    /// [`Gpu::is_software`]). `WGPU_BACKEND` and `WGPU_ADAPTER_NAME` steer the choice.
    pub fn open() -> Result<Gpu> {
        pollster::block_on(Gpu::open_async())
    }

    /// Opens a GPU worth marking on: like [`Gpu::open`], but a software renderer is refused
    /// (with a message naming it) unless [`ALLOW_SOFTWARE_ENV`] is `1`. Callers fall back to
    /// the CPU path on error.
    pub fn open_for_marking() -> Result<Gpu> {
        let gpu = Gpu::open()?;
        let allowed = std::env::var(ALLOW_SOFTWARE_ENV).is_ok_and(|v| v == "1");
        if gpu.is_software() && !allowed {
            return Err(Error::Gpu(format!(
                "no GPU, only the software renderer {} (set {ALLOW_SOFTWARE_ENV}=1 to use it)",
                gpu.description()
            )));
        }
        Ok(gpu)
    }

    async fn open_async() -> Result<Gpu> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Gpu(format!("no GPU adapter found ({e})")))?;
        let info = adapter.get_info();
        // Frames are single buffers: a 4K 10-bit 4:4:4 frame is 50 MB, beyond WebGPU's
        // default 128 MiB binding limit only at 8K, so ask for what the adapter offers.
        let offered = adapter.limits();
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: offered.max_storage_buffer_binding_size,
            max_buffer_size: offered.max_buffer_size,
            ..wgpu::Limits::downlevel_defaults()
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("filigree"),
                required_limits: limits,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Gpu(format!("{}: cannot open the device ({e})", info.name)))?;
        Ok(Gpu {
            device,
            queue,
            info,
        })
    }

    /// The adapter's name and driver, e.g. "NVIDIA H100 PCIe (Vulkan, NVIDIA 550.54)".
    pub fn description(&self) -> String {
        let driver = [&self.info.driver, &self.info.driver_info]
            .into_iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        format!("{} ({:?}, {driver})", self.info.name, self.info.backend)
    }

    /// True for a renderer that runs on the CPU (lavapipe, llvmpipe, WARP): correct, but
    /// slower than Filigree's own CPU path.
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// Largest buffer the device accepts, in bytes.
    pub(crate) fn max_buffer_bytes(&self) -> u64 {
        let limits = self.device.limits();
        limits
            .max_buffer_size
            .min(limits.max_storage_buffer_binding_size)
    }
}
