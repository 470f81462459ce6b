//! Choosing an adapter and opening a device.

use super::{launch, pool, Gpu, Inner, Kernels, State};
use crate::error::{Context, Result};
use crate::fail;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
use std::sync::{Arc, Mutex};

/// Which adapter to open: `None` picks the fastest-looking one (a discrete GPU over an
/// integrated one over a software one; Vulkan, Metal or DX12 over GL). `Some(text)` picks the
/// adapter at that position in `list_adapters` if `text` is a number ("0", "1"), else the
/// first whose name or backend contains `text`, case-insensitively ("vulkan", "H100",
/// "llvmpipe").
#[derive(Clone, Debug, Default)]
pub struct AdapterChoice(pub Option<String>);

impl AdapterChoice {
    /// The `--adapter` flag when given, else the `SRGAN_WGPU_ADAPTER` environment variable
    /// (set but empty counts as unset).
    pub fn from_flag_or_env(flag: Option<String>) -> Self {
        let env = std::env::var("SRGAN_WGPU_ADAPTER").ok();
        AdapterChoice(flag.or(env.filter(|v| !v.trim().is_empty())))
    }
}

const NO_ADAPTER: &str = "no GPU adapter found: install a Vulkan, Metal or DX12 driver \
     (on Linux without a GPU: apt-get install mesa-vulkan-drivers)";

/// The groups of backends to look in, in order, until one has an adapter: WGPU_BACKEND's when
/// set; else the native ones (Vulkan, Metal, DX12), and GL only where none of those has an
/// adapter, because GL is much slower and probing it prints errors on machines without a
/// display.
fn backend_groups() -> Result<Vec<wgpu::Backends>> {
    const NAMES: [&str; 9] = [
        "vulkan", "vk", "metal", "mtl", "dx12", "d3d12", "gl", "gles", "opengl",
    ];
    match std::env::var("WGPU_BACKEND") {
        Ok(list) => {
            if let Some(bad) = list
                .split(',')
                .find(|b| !NAMES.contains(&b.trim().to_lowercase().as_str()))
            {
                return fail!(
                    "WGPU_BACKEND={list}: '{}' is not a backend (vulkan, metal, dx12 or gl)",
                    bad.trim()
                );
            }
            Ok(vec![wgpu::Backends::from_comma_list(&list)])
        }
        Err(_) => Ok(vec![wgpu::Backends::PRIMARY, wgpu::Backends::GL]),
    }
}

/// Every adapter of `backends`, as (one-line description, adapter).
async fn adapters(backends: wgpu::Backends) -> Vec<(String, wgpu::Adapter)> {
    instance(backends)
        .enumerate_adapters(backends)
        .await
        .into_iter()
        .map(|a| (describe(&a.get_info()), a))
        .collect()
}

/// One instance per set of backends for the whole process, made on first use: every `Gpu`
/// opens its device from it.
fn instance(backends: wgpu::Backends) -> wgpu::Instance {
    static INSTANCES: Mutex<Vec<(wgpu::Backends, wgpu::Instance)>> = Mutex::new(Vec::new());
    let mut made = INSTANCES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, i)) = made.iter().find(|(b, _)| *b == backends) {
        return i.clone();
    }
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    desc.backends = backends;
    let i = wgpu::Instance::new(desc);
    made.push((backends, i.clone()));
    i
}

/// Held while a device is opened or closed. NVIDIA's Vulkan driver (580) crashed or hung
/// when several threads of one process did that at once (the test suite with parallel test
/// threads; see issue 8); devices in use on many threads at once are fine.
pub(super) fn lifecycle() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The adapters `Gpu::new` chooses from: those of the first backend group that has any.
#[cfg(not(target_arch = "wasm32"))]
pub fn list_adapters() -> Result<Vec<(String, wgpu::Adapter)>> {
    for group in backend_groups()? {
        let found = pollster::block_on(adapters(group));
        if !found.is_empty() {
            return Ok(found);
        }
    }
    Ok(Vec::new())
}

fn describe(info: &wgpu::AdapterInfo) -> String {
    format!(
        "{} ({:?}, {:?}, driver {} {})",
        info.name, info.backend, info.device_type, info.driver, info.driver_info
    )
}

/// Higher is preferred when no adapter is named.
fn rank(info: &wgpu::AdapterInfo) -> u32 {
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 4,
        wgpu::DeviceType::IntegratedGpu => 3,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 1,
        wgpu::DeviceType::Other => 0,
    };
    let native = !matches!(info.backend, wgpu::Backend::Gl);
    kind * 2 + native as u32
}

/// The adapter `choice` names, or the best of the first backend group that has any.
async fn pick_adapter(choice: &AdapterChoice) -> Result<wgpu::Adapter> {
    let groups = backend_groups()?;
    let mut any = false;
    let position = choice
        .0
        .as_ref()
        .and_then(|w| w.trim().parse::<usize>().ok());
    for &group in &groups {
        let found = adapters(group).await;
        any |= !found.is_empty();
        // A number is a position in `srgan-wgpu info`'s list, which is the first group with
        // any adapter: later groups are not looked at.
        if let (Some(i), false) = (position, found.is_empty()) {
            return match found.into_iter().nth(i) {
                Some((_, a)) => Ok(a),
                None => fail!("no GPU adapter matches '{i}'; `srgan-wgpu info` lists them"),
            };
        }
        let picked = match &choice.0 {
            Some(want) => {
                let want = want.to_lowercase();
                found
                    .into_iter()
                    .find(|(d, _)| d.to_lowercase().contains(&want))
            }
            None => found.into_iter().max_by_key(|(_, a)| rank(&a.get_info())),
        };
        if let Some((_, adapter)) = picked {
            if group == wgpu::Backends::GL && groups.len() > 1 && choice.0.is_none() {
                eprintln!("warning: no Vulkan, Metal or DX12 adapter found; using OpenGL, which is much slower");
            }
            return Ok(adapter);
        }
    }
    match &choice.0 {
        // With no adapter at all, what is missing is a driver, not the one named.
        Some(want) if any => fail!("no GPU adapter matches '{want}'; `srgan-wgpu info` lists them"),
        _ => fail!("{NO_ADAPTER}"),
    }
}

/// Opens a device on `adapter` with all of its limits and the optional features it offers
/// (timestamp queries, f16, subgroups, and f16 cooperative matrices where they fit
/// `shaders/gemm_f16.wgsl`). Second value: whether they do.
async fn open_device(adapter: &wgpu::Adapter) -> Result<(wgpu::Device, wgpu::Queue, bool)> {
    let optional =
        wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::SHADER_F16 | wgpu::Features::SUBGROUP;
    let mixed_supported = has_f16_tensor_cores(adapter);
    let mut features = adapter.features() & optional;
    if mixed_supported {
        features |= wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX;
    }
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some("srgan-wgpu"),
            required_features: features,
            required_limits: adapter.limits(),
            // SAFETY: cooperative matrices are wgpu's only experimental feature used, and only
            // by the mixed-precision products, whose results the test suite checks on such GPUs.
            experimental_features: if mixed_supported {
                unsafe { wgpu::ExperimentalFeatures::enabled() }
            } else {
                wgpu::ExperimentalFeatures::disabled()
            },
            ..Default::default()
        })
        .await
        .context("could not open the GPU device")?;
    Ok((device, queue, mixed_supported))
}

impl Gpu {
    /// Opens the chosen adapter (see `AdapterChoice`) and chooses the kernels: `Mixed` where
    /// the adapter has f16 tensor cores, else `Half` where a hardware adapter has
    /// `shader-f16`, else `F32`, unless `SRGAN_WGPU_KERNELS` says.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(choice: &AdapterChoice) -> Result<Gpu> {
        let opening = lifecycle();
        let adapter = pollster::block_on(pick_adapter(choice))?;
        let opened = pollster::block_on(open_device(&adapter))?;
        // Released before anything here can drop a device (which takes the lock again).
        drop(opening);
        Gpu::with_device(adapter, opened)
    }

    /// `new` in a browser, awaiting the adapter and device (the page's only thread must not
    /// block): the WebGPU adapter the browser offers.
    #[cfg(target_arch = "wasm32")]
    pub async fn new_async(choice: &AdapterChoice) -> Result<Gpu> {
        let adapter = pick_adapter(choice).await?;
        let opened = open_device(&adapter).await?;
        Gpu::with_device(adapter, opened)
    }

    fn with_device(
        adapter: wgpu::Adapter,
        (device, queue, mixed_supported): (wgpu::Device, wgpu::Queue, bool),
    ) -> Result<Gpu> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let limits = adapter.limits();
        let info = adapter.get_info();
        let half = device.features().contains(wgpu::Features::SHADER_F16);
        let kernels = match env("SRGAN_WGPU_KERNELS") {
            Some(v) => v.parse()?,
            None if mixed_supported => Kernels::Mixed,
            // A CPU emulates f16 arithmetic; its kernels stay f32.
            None if half && info.device_type != wgpu::DeviceType::Cpu => Kernels::Half,
            None => Kernels::F32,
        };
        let gpu = Gpu {
            inner: Arc::new(Inner(std::mem::ManuallyDrop::new(State {
                max_binding: AtomicU64::new(limits.max_storage_buffer_binding_size),
                max_groups: AtomicU32::new(limits.max_compute_workgroups_per_dimension),
                pending: Mutex::new(launch::Pending::new(&device, &limits)),
                oob_report: device_oob_report(&device),
                software: AtomicBool::new(info.device_type == wgpu::DeviceType::Cpu),
                features: device.features(),
                info,
                device,
                queue,
                limits,
                pipelines: Mutex::new(Default::default()),
                pool: Mutex::new(pool::Pool::default()),
                debug: env("SRGAN_WGPU_DEBUG")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
                checked: AtomicBool::new(env("SRGAN_WGPU_CHECKED").is_some_and(|v| v != "0")),
                mixed_supported,
                kernels: Mutex::new(Kernels::F32),
                dispatches: AtomicU64::new(0),
            }))),
        };
        gpu.set_kernels(kernels)?;
        Ok(gpu)
    }

    /// A multi-line report of the adapter, its limits and features, for `srgan-wgpu info`.
    pub fn report(&self) -> String {
        let l = self.limits();
        let mb = |b: u64| b as f64 / (1 << 20) as f64;
        format!(
            "adapter: {}\n\
             max buffer size: {:.0} MiB\n\
             max storage binding: {:.0} MiB\n\
             max workgroups per dimension: {}\n\
             max invocations per workgroup: {}\n\
             workgroup memory: {} bytes\n\
             subgroup size: {}..{}\n\
             optional features used: {:?}\n\
             kernels: {}\n\
             shader bounds checks: {}",
            describe(self.info()),
            mb(l.max_buffer_size),
            mb(l.max_storage_buffer_binding_size),
            l.max_compute_workgroups_per_dimension,
            l.max_compute_invocations_per_workgroup,
            l.max_compute_workgroup_storage_size,
            self.info().subgroup_min_size,
            self.info().subgroup_max_size,
            self.features(),
            match (
                self.kernels(),
                self.mixed_supported(),
                self.half_supported()
            ) {
                (Kernels::Naive, ..) => "naive (one invocation per output value)",
                (Kernels::Mixed, ..) => "mixed (f16 operands, f32 sums, tensor cores)",
                (Kernels::Half, ..) => "half (f16 tiles and products, f32 sums across K steps)",
                (Kernels::F32, true, _) => "f32 (mixed available: --kernels mixed)",
                (Kernels::F32, false, true) => "f32 (f16 arithmetic available: --kernels half)",
                (Kernels::F32, false, false) => "f32 (no f16 arithmetic on this adapter)",
            },
            if self.is_checked() {
                "on, reporting (SRGAN_WGPU_CHECKED)"
            } else {
                "off for tested kernels"
            },
        )
    }
}

/// Whether the adapter multiplies 16x16x16 f16 cooperative matrices into f32 with subgroups of
/// exactly 32 invocations, which `shaders/gemm_f16.wgsl` assumes (it numbers its 8 subgroups as
/// invocation index / 32).
fn has_f16_tensor_cores(adapter: &wgpu::Adapter) -> bool {
    use wgpu::CooperativeScalarType as T;
    let needed = wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX | wgpu::Features::SHADER_F16;
    let info = adapter.get_info();
    adapter.features().contains(needed)
        && info.subgroup_min_size == 32
        && info.subgroup_max_size == 32
        && adapter.cooperative_matrix_properties().iter().any(|p| {
            (p.m_size, p.n_size, p.k_size) == (16, 16, 16)
                && p.ab_type == T::F16
                && p.cr_type == T::F32
        })
}

/// The buffer checked kernels report out-of-range accesses in (see `checked`).
fn device_oob_report(device: &wgpu::Device) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("oob report"),
        size: 16,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}
