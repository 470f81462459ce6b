//! The binary on bad input: one clear line on stderr, a non-zero exit, never a panic.

mod common;
use common::*;
use srgan_wgpu::imaging::{io, Planes};
use srgan_wgpu::models::{Generator, GeneratorConfig};
use srgan_wgpu::nn::{io as nnio, Module};
use std::path::{Path, PathBuf};
use std::process::Command;

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("srgan-cli-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the binary; returns (exit code, stderr without Mesa's harmless XDG_RUNTIME_DIR notes).
fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_srgan-wgpu"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
        .collect::<Vec<_>>()
        .join("\n");
    (out.status.code().unwrap_or(-1), err)
}

fn assert_one_line_error(args: &[&str], env: &[(&str, &str)], expect: &str) {
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
fn tiny_model(dir: &Path, channels: usize) -> PathBuf {
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

fn small_png(path: &Path) {
    let mut p = Planes::new(3, 6, 5);
    p.data
        .iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = (i % 17) as f32 / 17.0);
    io::save_rgb(path, &p).unwrap();
}

#[test]
fn bad_images_and_paths() {
    let dir = temp("img");
    let model = tiny_model(&dir, 4);
    let m = model.to_str().unwrap();
    let good = dir.join("good.png");
    small_png(&good);
    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.join("truncated.png");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let t = truncated.to_str().unwrap();
    assert_one_line_error(
        &["upscale", t, "--model", m],
        &[],
        "is not a readable image",
    );
    let garbage = dir.join("garbage.jpg");
    std::fs::write(&garbage, b"not a jpeg at all").unwrap();
    assert_one_line_error(
        &["upscale", garbage.to_str().unwrap(), "--model", m],
        &[],
        "is not a readable image",
    );
    assert_one_line_error(
        &["upscale", "/nonexistent/x.png", "--model", m],
        &[],
        "does not exist",
    );
    // A good image upscales, and says where it went.
    let out = dir.join("out.png");
    let (code, err) = run(
        &[
            "upscale",
            good.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--model",
            m,
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let back = io::load(&out).unwrap();
    assert_eq!((back.rgb.width, back.rgb.height), (20, 24));
    // compare: HR, bicubic and the model side by side (each 20 wide, 8 apart), zooms below.
    let fig = dir.join("fig.png");
    let (code, err) = run(
        &[
            "compare",
            out.to_str().unwrap(),
            "--model",
            m,
            "-o",
            fig.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(io::load(&fig).unwrap().rgb.width, 3 * 20 + 2 * 8);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_weights() {
    let dir = temp("weights");
    let img = dir.join("a.png");
    small_png(&img);
    let i = img.to_str().unwrap();
    assert_one_line_error(
        &["upscale", i, "--model", "/nonexistent.safetensors"],
        &[],
        "cannot read weights",
    );
    let junk = dir.join("junk.safetensors");
    std::fs::write(&junk, b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ").unwrap();
    assert_one_line_error(
        &["upscale", i, "--model", junk.to_str().unwrap()],
        &[],
        "is not a safetensors file",
    );
    // A 4-channel model's tensors declared as the paper's 64-channel network.
    let model = tiny_model(&dir, 64);
    assert_one_line_error(
        &["upscale", i, "--model", model.to_str().unwrap()],
        &[],
        "'conv_input.weight' has shape [4, 3, 9, 9]",
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn empty_folders_and_missing_gpu() {
    let dir = temp("empty");
    let empty = dir.join("nothing");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "no images here").unwrap();
    let e = empty.to_str().unwrap();
    let out = dir.join("run");
    assert_one_line_error(
        &[
            "train",
            "srresnet",
            "--data",
            e,
            "--out",
            out.to_str().unwrap(),
            "--steps",
            "1",
        ],
        &[],
        "no usable training image",
    );
    let model = tiny_model(&dir, 4);
    assert_one_line_error(
        &["eval", e, "--model", model.to_str().unwrap()],
        &[],
        "no readable PNG or JPEG image",
    );
    assert_one_line_error(
        &["info"],
        &[("SRGAN_WGPU_ADAPTER", "no-such-gpu")],
        "no GPU adapter matches 'no-such-gpu'",
    );
    // No backend with an adapter at all: the message says how to get one.
    assert_one_line_error(
        &["info"],
        &[("WGPU_BACKEND", "metal")],
        "mesa-vulkan-drivers",
    );
    std::fs::remove_dir_all(&dir).ok();
}
