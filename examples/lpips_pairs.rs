//! The engine's LPIPS (AlexNet, v0.1) of pairs of images, to hold it against an independent
//! implementation (`tools/lpips_jax_pairs.py`, lpips-jax's own code, prints the same):
//!
//! `cargo run --release --example lpips_pairs -- weights/lpips_alex.safetensors A.png B.png [C.png D.png ...]`

use srgan_wgpu::gpu::{AdapterChoice, Kernels};
use srgan_wgpu::imaging::io;
use srgan_wgpu::models::Lpips;
use srgan_wgpu::Gpu;
use std::path::Path;

fn main() -> srgan_wgpu::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [weights, pairs @ ..] = &args[..] else {
        return Err(srgan_wgpu::Error(
            "usage: lpips_pairs WEIGHTS A B [A B ...]".into(),
        ));
    };
    if pairs.is_empty() || pairs.len() % 2 != 0 {
        return Err(srgan_wgpu::Error("images come in pairs".into()));
    }
    let gpu = Gpu::new(&AdapterChoice::default())?;
    gpu.set_kernels(Kernels::F32)?;
    let lpips = Lpips::load(&gpu, Path::new(weights))?;
    for pair in pairs.chunks(2) {
        let a = io::load_rgb(Path::new(&pair[0]))?;
        let b = io::load_rgb(Path::new(&pair[1]))?;
        println!("{} {} {:.6}", pair[0], pair[1], lpips.distance(&a, &b)?);
    }
    Ok(())
}
