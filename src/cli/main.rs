//! The `srgan-wgpu` command line: parses arguments (`args.rs`) and calls the library
//! (`commands.rs`). Errors are one line on stderr and a non-zero exit.

mod args;
mod commands;

use clap::Parser;
use srgan_wgpu::imaging::io;
use srgan_wgpu::Error;

fn main() {
    // Mesa's Vulkan drivers look for a Wayland display as they start, and print an error
    // (twice) where XDG_RUNTIME_DIR is unset: containers, cron jobs, CI. Nothing here opens a
    // window; an empty place to look keeps them quiet. Set before any thread exists.
    #[cfg(target_os = "linux")]
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    // Errors found deep inside the engine (out of GPU memory, a shape an op cannot take)
    // unwind with a message; print it as one line, not as a crash report, unless a
    // backtrace was asked for (RUST_BACKTRACE set, neither empty nor "0").
    let backtrace = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| !v.is_empty() && v != "0");
    if !backtrace {
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
    let cli = args::Cli::parse();
    io::set_max_pixels(cli.max_pixels);
    let (command, adapter, kernels) = (cli.command, cli.adapter, cli.kernels);
    match std::panic::catch_unwind(|| commands::run(command, adapter, kernels)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
        Err(_) => std::process::exit(1),
    }
}
