//! The engine's VGG19 features of an image at given positions, to hold the converted weights
//! against an independent forward (`tools/vgg_numpy.py activations`, which prints the same):
//!
//! `cargo run --release --example vgg_features -- weights/vgg19.safetensors img.png 2,2 C,Y,X ...`
//! (layer 2,2, 5,4 or 5,4pre, φ5,4 before its ReLU; then channel,row,column positions).

use srgan_wgpu::autograd::Tape;
use srgan_wgpu::gpu::{AdapterChoice, Kernels};
use srgan_wgpu::imaging::io;
use srgan_wgpu::models::{Vgg19, VggLayer};
use srgan_wgpu::{Gpu, Tensor};
use std::path::Path;

fn main() -> srgan_wgpu::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        || srgan_wgpu::Error("usage: vgg_features WEIGHTS IMAGE 2,2|5,4|5,4pre C,Y,X...".into());
    let [weights, image, layer, picks @ ..] = &args[..] else {
        return Err(usage());
    };
    let layer = match layer.as_str() {
        "2,2" => VggLayer::Conv2_2,
        "5,4" => VggLayer::Conv5_4,
        "5,4pre" => VggLayer::Conv5_4Pre,
        _ => return Err(usage()),
    };
    let gpu = Gpu::new(&AdapterChoice::default())?;
    gpu.set_kernels(Kernels::F32)?;
    let vgg = Vgg19::load(&gpu, layer, Path::new(weights))?;
    let rgb = io::load_rgb(Path::new(image))?;
    let x = Tensor::from_slice(&gpu, &[1, 3, rgb.height, rgb.width], &rgb.data);
    let t = Tape::inference();
    let f = vgg.forward(&t, &t.constant(x)).value;
    let (_, c, h, w) = f.nchw();
    let v = f.to_vec();
    let mean = v.iter().map(|&a| a as f64).sum::<f64>() / v.len() as f64;
    print!("{layer:?} [{c}, {h}, {w}] mean={mean:.6}");
    for p in picks {
        let i: Vec<usize> = p.split(',').filter_map(|n| n.parse().ok()).collect();
        let [ch, y, xx] = i[..] else {
            return Err(usage());
        };
        print!(" {p}={:.5}", v[(ch * h + y) * w + xx]);
    }
    println!();
    Ok(())
}
