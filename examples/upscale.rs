//! Upscale one image 4x from Rust with the library: `cargo run --release --example upscale
//! -- in.png out.png`.

use srgan_wgpu::gpu::AdapterChoice;
use srgan_wgpu::imaging::io;
use srgan_wgpu::upscale::{default_weights, load_generator, Upscaler};
use srgan_wgpu::Gpu;
use std::path::PathBuf;

fn main() -> srgan_wgpu::Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [input, output] = &args[..] else {
        return Err(srgan_wgpu::Error("usage: upscale IN.png OUT.png".into()));
    };
    let gpu = Gpu::new(&AdapterChoice::default())?; // the fastest adapter
    let generator = load_generator(&gpu, &default_weights())?; // weights/srresnet.safetensors
    let upscaler = Upscaler::new(&generator, 0, &gpu); // 0: tiles sized from the GPU's limits
    let picture = io::load(input)?; // RGB planes in [0, 1], plus alpha if any
    io::save(output, &upscaler.upscale_picture(&picture))?;
    Ok(())
}
