//! The `srgan-wgpu` command line: parses arguments and calls the library.

use clap::{Parser, Subcommand};
use srgan_wgpu::gpu::{list_adapters, AdapterChoice};
use srgan_wgpu::{Error, Gpu, Result};

#[derive(Parser)]
#[command(
    name = "srgan-wgpu",
    version,
    about = "SRGAN 4x super-resolution on a GPU engine written in Rust and WGSL"
)]
struct Cli {
    /// Adapter to use, by part of its name or backend ("vulkan", "H100", "llvmpipe");
    /// default: $SRGAN_WGPU_ADAPTER, else the fastest-looking one.
    #[arg(long, global = true)]
    adapter: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the GPU adapters, the chosen one, its limits and features.
    Info,
    /// Time every kernel at SRGAN's shapes.
    Bench {
        /// Batch size (SRGAN trains with 16).
        #[arg(long, default_value_t = 16)]
        batch: usize,
        /// Repetitions per kernel.
        #[arg(long, default_value_t = 10)]
        reps: u32,
    },
}

fn run(cli: Cli) -> Result<()> {
    let choice = AdapterChoice::from_flag_or_env(cli.adapter);
    match cli.command {
        Command::Info => {
            println!("adapters:");
            for (description, _) in list_adapters() {
                println!("  {description}");
            }
            println!("{}", Gpu::new(&choice)?.report());
        }
        Command::Bench { batch, reps } => {
            let gpu = Gpu::new(&choice)?;
            for line in srgan_wgpu::bench::kernels(&gpu, batch, reps) {
                println!("{line}");
            }
        }
    }
    Ok(())
}

fn main() {
    // Errors found deep inside the engine (out of GPU memory, a shape an op cannot take)
    // unwind with a message; print it as one line, not as a crash report, unless a
    // backtrace was asked for.
    if std::env::var_os("RUST_BACKTRACE").is_none() {
        std::panic::set_hook(Box::new(|info| {
            let msg = match info.payload().downcast_ref::<Error>() {
                Some(e) => e.to_string(),
                None => info
                    .payload()
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default(),
            };
            eprintln!("error: {msg}");
        }));
    }
    let cli = Cli::parse();
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
        Err(_) => std::process::exit(1),
    }
}
