//! `cargo bench`: the kernel benchmark of `srgan-wgpu bench`, at batch 1 so it finishes on a
//! software GPU too (pass a batch as the first argument after `--` for SRGAN's 16:
//! `cargo bench -- 16`).

use srgan_wgpu::gpu::AdapterChoice;
use srgan_wgpu::Gpu;

fn main() {
    let batch = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1);
    let gpu = match Gpu::new(&AdapterChoice::from_flag_or_env(None)) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    for line in srgan_wgpu::bench::kernels(&gpu, batch, 3) {
        println!("{line}");
    }
}
