//! A tiny training set and configuration, for the tests that train (train.rs, average.rs).

use srgan_wgpu::imaging::{io, Planes};
use srgan_wgpu::nn::{Entry, Module};
use srgan_wgpu::rng::Rng;
use srgan_wgpu::train::{load_data, ContentLoss, GanLoss, Mode, TrainConfig, Trainer};
use srgan_wgpu::Gpu;
use std::path::{Path, PathBuf};

/// Six smooth random 48x40 "photos": per channel a random base colour plus slow waves, so
/// that LR pixels predict HR ones well.
pub fn photos(dir: &Path) {
    let mut rng = Rng::new(9);
    for k in 0..6 {
        let (h, w) = (40, 48);
        let mut p = Planes::new(3, h, w);
        for c in 0..3 {
            let base = rng.range(0.2, 0.8);
            let (fy, fx, ph) = (
                rng.range(0.02, 0.2),
                rng.range(0.02, 0.2),
                rng.range(0.0, 6.3),
            );
            for y in 0..h {
                for x in 0..w {
                    p.data[(c * h + y) * w + x] =
                        (base + 0.2 * (fy * y as f64 + fx * x as f64 + ph).sin()) as f32;
                }
            }
        }
        io::save_rgb(&dir.join(format!("photo{k}.png")), &p).unwrap();
    }
}

pub fn config(mode: Mode, data: &Path, steps: u64) -> TrainConfig {
    TrainConfig {
        mode,
        data: data.to_path_buf(),
        steps,
        batch: 3,
        crop: 32,
        lr: 2e-3,
        lr_late_from: u64::MAX,
        lr_late: 1e-4,
        seed: 5,
        augment: true,
        content: ContentLoss::Mse,
        vgg_weights: PathBuf::new(),
        init: None,
        blocks: 1,
        channels: 8,
        bn_eps: 1e-5,
        tanh: true,
        disc_width: 0.0625,
        disc_lr_factor: 1.0,
        adversarial_weight: 1e-3,
        tv_weight: 2e-8,
        validation: None,
        validate_every: 0,
        checkpoint_every: 3,
        keep_every: 0,
        light_checkpoints: false,
        disc_warmup: 0,
        disc_restart_every: 0,
        ema: 0.0,
        gan_loss: GanLoss::Standard,
    }
}

/// A fresh run of `cfg` in `out`, to its end.
pub fn train(gpu: &Gpu, cfg: TrainConfig, out: &Path) {
    let set = load_data(&cfg).unwrap();
    Trainer::new(gpu, cfg, out).unwrap().run(set, None).unwrap();
}

/// Every tensor a module saves, by name, counters as one value.
pub fn values(m: &dyn Module) -> Vec<(String, Vec<f32>)> {
    m.entries()
        .iter()
        .map(|e| {
            let v = match e {
                Entry::Counter(_, n) => vec![n.load(std::sync::atomic::Ordering::Relaxed) as f32],
                _ => e.tensor().to_vec(),
            };
            (e.name().to_string(), v)
        })
        .collect()
}
