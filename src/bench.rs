//! Kernel benchmarks at SRGAN's shapes: each op timed on the GPU (timestamps where the adapter
//! has them), printed beside the arithmetic it does, so a reader can check the GFLOP/s or
//! GB/s against the hardware's peak.

use crate::ops::{batchnorm, conv, elementwise as ew, pixel_shuffle, prelu};
use crate::rng::Rng;
use crate::{Gpu, Tensor};

fn random(gpu: &Gpu, rng: &mut Rng, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n).map(|_| rng.range(-1.0, 1.0) as f32).collect();
    Tensor::from_slice(gpu, shape, &data)
}

/// One row of the report.
fn row(name: &str, ms: f64, flops: f64, bytes: f64) -> String {
    let rate = if flops > 0.0 {
        format!("{:9.1} GFLOP/s", flops / ms / 1e6)
    } else {
        format!("{:9.1} GB/s   ", bytes / ms / 1e6)
    };
    format!("{name:<44} {ms:10.3} ms {rate}")
}

/// Times every kernel at batch `batch` and returns the report, one line per kernel.
pub fn kernels(gpu: &Gpu, batch: usize, reps: u32) -> Vec<String> {
    let mut rng = Rng::new(1);
    let mut out = vec![format!(
        "{} | {:?} kernels | batch {batch}, {reps} reps, {}",
        gpu.info().name,
        gpu.kernels(),
        if gpu.has_timestamps() {
            "GPU timestamps"
        } else {
            "wall clock"
        }
    )];
    // (label, input [N, C, H, W], Cout, kernel, stride)
    let convs = [
        ("conv 3x3 64->64 24x24", [batch, 64, 24, 24], 64, 3, 1),
        ("conv 3x3 64->64 96x96", [batch, 64, 96, 96], 64, 3, 1),
        ("conv 9x9 3->64 24x24", [batch, 3, 24, 24], 64, 9, 1),
        ("conv 9x9 64->3 96x96", [batch, 64, 96, 96], 3, 9, 1),
        ("conv 3x3 64->256 24x24", [batch, 64, 24, 24], 256, 3, 1),
        // The discriminator's strided layers: 96x96 -> 48x48, and 12x12 -> 6x6.
        (
            "conv 3x3 64->64 96x96 stride 2",
            [batch, 64, 96, 96],
            64,
            3,
            2,
        ),
        (
            "conv 3x3 512->512 12x12 stride 2",
            [batch, 512, 12, 12],
            512,
            3,
            2,
        ),
    ];
    for (label, xs, cout, k, stride) in convs {
        let pad = k / 2;
        let (oh, ow) = conv::cpu::out_size(xs[2], xs[3], (k, k), stride, pad);
        let x = random(gpu, &mut rng, &xs);
        let w = random(gpu, &mut rng, &[cout, xs[1], k, k]);
        let b = random(gpu, &mut rng, &[cout]);
        let dy = random(gpu, &mut rng, &[xs[0], cout, oh, ow]);
        let flops = 2.0 * (xs[0] * cout * oh * ow * xs[1] * k * k) as f64;
        let (ms, _) = gpu.time_ms(reps, || drop(conv::conv2d(&x, &w, Some(&b), stride, pad)));
        out.push(row(&format!("{label} forward"), ms, flops, 0.0));
        let (ms, _) = gpu.time_ms(reps, || {
            drop(conv::conv2d_backward_input(&dy, &w, &xs, stride, pad))
        });
        out.push(row(&format!("{label} backward input"), ms, flops, 0.0));
        let (ms, _) = gpu.time_ms(reps, || {
            drop(conv::conv2d_backward_weight(
                &dy,
                &x,
                w.shape(),
                stride,
                pad,
            ))
        });
        out.push(row(&format!("{label} backward weight"), ms, flops, 0.0));
    }
    // A large plain matrix product (the linear layer), to tell the GEMM core's own speed from
    // the cost of the convolutions' address arithmetic.
    let n = 4096;
    let x = random(gpu, &mut rng, &[n, n]);
    let w = random(gpu, &mut rng, &[n, n]);
    let (ms, _) = gpu.time_ms(reps, || drop(crate::ops::linear::linear(&x, &w, None)));
    out.push(row(
        "matmul 4096x4096x4096",
        ms,
        2.0 * (n as f64).powi(3),
        0.0,
    ));
    drop((x, w));
    let shape = [batch, 64, 96, 96];
    let x = random(gpu, &mut rng, &shape);
    let dy = random(gpu, &mut rng, &shape);
    let c = random(gpu, &mut rng, &[64]);
    let bytes = (x.numel() * 4) as f64;
    let (ms, _) = gpu.time_ms(reps, || drop(ew::add(&x, &dy)));
    out.push(row("add 64x96x96", ms, 0.0, 3.0 * bytes));
    let (ms, _) = gpu.time_ms(reps, || drop(prelu::prelu(&x, &c)));
    out.push(row("prelu 64x96x96 forward", ms, 0.0, 2.0 * bytes));
    let (ms, _) = gpu.time_ms(reps, || drop(prelu::prelu_backward(&x, &c, &dy)));
    out.push(row("prelu 64x96x96 backward", ms, 0.0, 5.0 * bytes));
    let (ms, _) = gpu.time_ms(reps, || drop(batchnorm::batch_norm_train(&x, &c, &c, 1e-5)));
    out.push(row(
        "batch norm 64x96x96 forward (train)",
        ms,
        0.0,
        4.0 * bytes,
    ));
    let (_, mean, var) = batchnorm::batch_norm_train(&x, &c, &c, 1e-5);
    let (ms, _) = gpu.time_ms(reps, || {
        drop(batchnorm::batch_norm_backward(
            &x, &dy, &mean, &var, &c, 1e-5,
        ))
    });
    out.push(row("batch norm 64x96x96 backward", ms, 0.0, 5.0 * bytes));
    let (ms, _) = gpu.time_ms(reps, || drop(pixel_shuffle::pixel_shuffle(&x, 2)));
    out.push(row("pixel shuffle 64x96x96", ms, 0.0, 2.0 * bytes));
    out
}

/// Median wall-clock milliseconds of `work` followed by waiting for the GPU, after a warm-up:
/// the method of `benches/peers/torch_srgan.py`, so the two compare directly.
fn median_ms(gpu: &Gpu, reps: usize, mut work: impl FnMut()) -> f64 {
    for _ in 0..3 {
        work();
    }
    gpu.finish();
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = std::time::Instant::now();
            work();
            gpu.finish();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    times[times.len() / 2]
}

/// Times `work` as `median_ms` does and reports it as `name`, with the dispatches one run
/// records, the GPU memory it held at its peak and, under `SRGAN_WGPU_PROFILE=1`, the GPU
/// time of one run by kernel.
///
/// The peak: the buffer pool is emptied of idle buffers first, so that it holds only what
/// lives across runs (weights, optimizer state, inputs); it then grows only when a run needs a
/// buffer that no idle one of the same size can serve, so afterwards it holds, for each
/// size, the most buffers of that size the runs needed at once. Their sum is what the
/// engine allocated, and at least (not exactly) the most it needed at one moment.
fn workload(gpu: &Gpu, out: &mut Vec<String>, name: &str, reps: usize, mut work: impl FnMut()) {
    gpu.finish();
    gpu.release_free_buffers();
    let ms = median_ms(gpu, reps, &mut work);
    let peak_mib = gpu.pool_stats().0 as f64 / (1 << 20) as f64;
    let before = gpu.dispatch_count();
    gpu.profile_take();
    let t = std::time::Instant::now();
    work();
    let record_ms = t.elapsed().as_secs_f64() * 1e3;
    let dispatches = gpu.dispatch_count() - before;
    out.push(format!(
        "{name} {ms:.2}   ({dispatches} dispatches, {record_ms:.2} ms to record, {peak_mib:.0} MiB at peak)"
    ));
    let profile = gpu.profile_take();
    if !profile.is_empty() {
        let total: f64 = profile.iter().map(|r| r.2).sum();
        out.push(format!(
            "  GPU time by kernel, one run: {total:.2} ms in all"
        ));
        for (kernel, passes, ms) in profile.iter().take(14) {
            out.push(format!("  {ms:9.3} ms {passes:5} x {kernel}"));
        }
    }
}

/// The peer benchmark's workloads on this engine, under its names: SRResNet inference (one
/// pass of `Upscaler`, as `upscale` runs it) and one training step of SRResNet and of
/// SRGAN (`Trainer::train_step`, as `train` runs it: batch upload, loss scaling, both Adam
/// updates, the losses read back). Weights are random, VGG19's too: only time is measured.
pub fn networks(gpu: &Gpu, reps: usize) -> crate::Result<Vec<String>> {
    use crate::models::{Generator, GeneratorConfig, Vgg19, VggLayer};
    use crate::train::{data::Batch, ContentLoss, Mode, TrainConfig, Trainer};
    let mut rng = Rng::new(2);
    let g = Generator::new(gpu, GeneratorConfig::default(), 1);
    let up = crate::upscale::Upscaler::new(&g, 0, gpu);
    let mut out = vec![format!(
        "{} | {:?} kernels | median of {reps}, wall clock with GPU wait",
        gpu.info().name,
        gpu.kernels()
    )];
    for s in [64, 256] {
        let x = random(gpu, &mut rng, &[1, 3, s, s]);
        let name = format!("infer_{s}_to_{}_gpu_ms", 4 * s);
        workload(gpu, &mut out, &name, reps, || drop(up.upscale_tensor(&x)));
        let host: Vec<f32> = x.to_vec();
        let name = format!("infer_{s}_to_{}_e2e_ms", 4 * s);
        workload(gpu, &mut out, &name, reps, || {
            drop(
                up.upscale_tensor(&Tensor::from_slice(gpu, &[1, 3, s, s], &host))
                    .to_vec(),
            )
        });
    }
    drop(up);
    drop(g);
    let config = |mode, content| TrainConfig {
        mode,
        data: Default::default(),
        steps: u64::MAX,
        batch: 16,
        crop: 96,
        lr: 1e-4,
        lr_late_from: u64::MAX,
        lr_late: 1e-5,
        seed: 2,
        augment: false,
        content,
        vgg_weights: Default::default(),
        init: None,
        blocks: 16,
        channels: 64,
        bn_eps: 1e-5,
        tanh: true,
        disc_width: 1.0,
        disc_lr_factor: 1.0,
        adversarial_weight: 1e-3,
        tv_weight: 0.0,
        validation: None,
        validate_every: 0,
        checkpoint_every: u64::MAX,
        keep_every: 0,
        light_checkpoints: false,
        disc_warmup: 0,
        disc_restart_every: 0,
        ema: 0.0,
        gan_loss: crate::train::GanLoss::Standard,
    };
    let batch = Batch {
        lr: (0..16 * 3 * 24 * 24)
            .map(|_| rng.range(0.0, 1.0) as f32)
            .collect(),
        hr: (0..16 * 3 * 96 * 96)
            .map(|_| rng.range(-1.0, 1.0) as f32)
            .collect(),
        size: 16,
        crop: 96,
    };
    let mut t = Trainer::for_benchmark(gpu, config(Mode::Srresnet, ContentLoss::Mse), None)?;
    workload(gpu, &mut out, "srresnet_step_b16_ms", reps, || {
        t.train_step(&batch);
    });
    drop(t);
    let vgg = Vgg19::new(gpu, VggLayer::Conv5_4, 4, 1.0);
    let mut t = Trainer::for_benchmark(gpu, config(Mode::Srgan, ContentLoss::Vgg54), Some(vgg))?;
    workload(gpu, &mut out, "srgan_step_b16_ms", reps, || {
        t.train_step(&batch);
    });
    // What `--ema` adds: the average's update after each step.
    t.set_ema(0.999);
    workload(gpu, &mut out, "srgan_step_b16_ema_ms", reps, || {
        t.train_step(&batch);
    });
    Ok(out)
}
