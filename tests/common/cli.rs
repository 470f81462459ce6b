//! Running the binary from tests, and the small files those tests feed it.

use super::gpu;
use srgan_wgpu::imaging::{io, Planes};
use srgan_wgpu::models::{Generator, GeneratorConfig};
use srgan_wgpu::nn::{io as nnio, Module};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs the binary; returns (exit code, stderr without Mesa's harmless XDG_RUNTIME_DIR notes).
/// A RUST_BACKTRACE of the developer's shell is not passed on: with one, errors found deep in
/// the engine print a backtrace instead of one line.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let (code, err, _) = run_with_output(args, env);
    (code, err)
}

/// `run`, and what the binary wrote on stdout.
pub fn run_with_output(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_srgan-wgpu"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
        .collect::<Vec<_>>()
        .join("\n");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), err, said)
}

pub fn assert_one_line_error(args: &[&str], env: &[(&str, &str)], expect: &str) {
    let (code, err) = run(args, env);
    assert_ne!(code, 0, "{args:?} should fail");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert_eq!(
        err.lines().count(),
        1,
        "{args:?} should print one line, got: {err}"
    );
    assert!(
        err.starts_with("error: ") && err.contains(expect),
        "{args:?}: expected '{expect}' in: {err}"
    );
}

/// A generator of 1 block and 4 channels whose metadata declares `channels` (4 is honest).
pub fn tiny_model(dir: &Path, channels: usize) -> PathBuf {
    let gpu = gpu();
    let g = Generator::new(
        &gpu,
        GeneratorConfig {
            blocks: 1,
            channels: 4,
            ..Default::default()
        },
        1,
    );
    let mut meta = g.config.to_metadata();
    meta.insert("channels".into(), channels.to_string());
    let path = dir.join(format!("tiny{channels}.safetensors"));
    nnio::save_module(&path, &g.entries(), meta).unwrap();
    path
}

pub fn small_png(path: &Path) {
    let mut p = Planes::new(3, 6, 5);
    p.data
        .iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = (i % 17) as f32 / 17.0);
    io::save_rgb(path, &p).unwrap();
}

/// The flags of a network and batch small enough for a training step to take a second on
/// lavapipe (with `training_photos`).
pub const TINY_TRAINING: [&str; 8] = [
    "--blocks",
    "1",
    "--channels",
    "4",
    "--crop",
    "32",
    "--batch",
    "2",
];

/// Two 48x48 photos to train on.
pub fn training_photos(dir: &Path) {
    for k in 0..2 {
        let mut p = Planes::new(3, 48, 48);
        p.data
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = ((i * (k + 3)) % 29) as f32 / 29.0);
        io::save_rgb(&dir.join(format!("p{k}.png")), &p).unwrap();
    }
}
