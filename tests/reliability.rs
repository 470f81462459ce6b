//! What a careless or hostile user can do to the binary (issue 8): each case ends in correct
//! work, or one clear error and a non-zero exit with nothing lost.

mod common;
use common::cli::*;
use common::gpu;
use common::temp;
use srgan_wgpu::models::{Generator, GeneratorConfig};
use srgan_wgpu::nn::{io as nnio, Module};
use std::collections::HashMap;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Exits non-zero through clap's own message (which names the flag), never a panic.
fn assert_refused_flag(args: &[&str]) {
    let (code, err) = run(args, &[]);
    assert_ne!(code, 0, "{args:?} should be refused");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert!(err.starts_with("error: "), "{args:?}: {err}");
}

#[test]
fn outputs_never_replace_inputs() {
    let dir = temp("rel-out");
    let model = tiny_model(&dir, 4);
    let m = s(&model);
    let photos = dir.join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    let a = photos.join("a.png");
    small_png(&a);
    let original = std::fs::read(&a).unwrap();
    assert_one_line_error(
        &["upscale", s(&a), "-o", s(&a), "--model", m],
        &[],
        "is the input image",
    );
    // The same file by another spelling of its path.
    let other = format!("{}/../photos/a.png", photos.display());
    assert_one_line_error(
        &["upscale", s(&a), "-o", &other, "--model", m],
        &[],
        "is the input image",
    );
    assert_one_line_error(
        &["upscale", s(&photos), "-o", s(&photos), "--model", m],
        &[],
        "is the input folder",
    );
    assert_eq!(std::fs::read(&a).unwrap(), original);

    // An output folder inside the input: a second run does not upscale the first's results.
    let out = photos.join("out");
    for _ in 0..2 {
        let (code, err) = run(&["upscale", s(&photos), "-o", s(&out), "--model", m], &[]);
        assert_eq!(code, 0, "{err}");
    }
    assert!(out.join("a.png").exists());
    assert!(
        !out.join("out").exists(),
        "the second run upscaled its own outputs"
    );

    // A format that cannot be written is refused before any work, and an existing file of
    // that name is left as it was.
    let bmp = dir.join("x.bmp");
    std::fs::write(&bmp, b"keep me").unwrap();
    assert_one_line_error(
        &["upscale", s(&a), "-o", s(&bmp), "--model", m],
        &[],
        "output images are PNG or JPEG",
    );
    assert_eq!(std::fs::read(&bmp).unwrap(), b"keep me");
}

#[test]
fn a_failed_write_leaves_the_old_file_and_no_debris() {
    let dir = temp("rel-atomic");
    let target = dir.join("old.png");
    small_png(&target);
    let before = std::fs::read(&target).unwrap();
    // Renaming a file over a folder fails: the write fails at its last step.
    let blocked = dir.join("blocked.png");
    std::fs::create_dir_all(&blocked).unwrap();
    let pic = srgan_wgpu::imaging::io::load(&target).unwrap();
    assert!(srgan_wgpu::imaging::io::save(&blocked, &pic).is_err());
    assert_eq!(std::fs::read(&target).unwrap(), before);
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.ends_with(".tmp")),
        "temporary files left: {names:?}"
    );
}

/// A PNG whose header declares `w` x `h` 8-bit gray pixels, followed by no image data.
fn declared_png(path: &Path, w: u32, h: u32) {
    fn crc(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let mut chunk = b"IHDR".to_vec();
    chunk.extend(w.to_be_bytes());
    chunk.extend(h.to_be_bytes());
    chunk.extend([8, 0, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(13u32.to_be_bytes());
    png.extend(&chunk);
    png.extend(crc(&chunk).to_be_bytes());
    // An IDAT of junk, and the end: a decoder reads the header up to the first IDAT.
    for (kind, data) in [(&b"IDAT"[..], &b"junk"[..]), (b"IEND", b"")] {
        let chunk = [kind, data].concat();
        png.extend((data.len() as u32).to_be_bytes());
        png.extend(&chunk);
        png.extend(crc(&chunk).to_be_bytes());
    }
    std::fs::write(path, png).unwrap();
}

#[test]
fn huge_declared_images_are_refused_before_decoding() {
    let dir = temp("rel-huge");
    let model = tiny_model(&dir, 4);
    let huge = dir.join("huge.png");
    declared_png(&huge, 16000, 16000);
    assert_one_line_error(
        &["upscale", s(&huge), "--model", s(&model)],
        &[],
        "is 16000x16000 (256.0 Mpixel), over the limit of 50.0 Mpixel",
    );
    // Raised, the limit lets the decoder see the file, which has no pixel data.
    assert_one_line_error(
        &[
            "upscale",
            s(&huge),
            "--model",
            s(&model),
            "--max-pixels",
            "300000000",
        ],
        &[],
        "is not a readable image",
    );
}

/// Writes a tiny generator's tensors with `edit` applied to (name, values) and `meta`.
fn edited_model(
    dir: &Path,
    name: &str,
    meta: &[(&str, &str)],
    edit: impl Fn(&str, &mut Vec<f32>),
) -> String {
    let gpu = gpu();
    let config = GeneratorConfig {
        blocks: 1,
        channels: 4,
        ..Default::default()
    };
    let g = Generator::new(&gpu, config.clone(), 1);
    let mut records = nnio::records(&g.entries(), "");
    for r in &mut records {
        if let nnio::Record::F32(n, _, v) = r {
            edit(n, v);
        }
    }
    let mut metadata: HashMap<String, String> = config.to_metadata();
    for (k, v) in meta {
        metadata.insert(k.to_string(), v.to_string());
    }
    let path = dir.join(name);
    nnio::save(&path, &records, metadata).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn weights_are_checked_before_they_are_used() {
    let dir = temp("rel-weights");
    let img = dir.join("a.png");
    small_png(&img);
    let i = s(&img);
    let upscale = |model: &str, expect: &str| {
        assert_one_line_error(&["upscale", i, "--model", model], &[], expect)
    };
    upscale("/dev/zero", "is not a regular file");
    upscale(s(&dir), "is not a regular file");
    let none = |_: &str, _: &mut Vec<f32>| {};
    for (key, value, expect) in [
        ("channels", "1000000", "bad metadata channels=1000000"),
        ("blocks", "100000000", "bad metadata blocks=100000000"),
        ("blocks", "nan", "bad metadata blocks=nan"),
        ("channels", "-5", "bad metadata channels=-5"),
        ("bn_eps", "NaN", "bad metadata bn_eps=NaN"),
        ("bn_eps", "-1e-5", "bad metadata bn_eps=-1e-5"),
        ("tanh", "maybe", "bad metadata tanh=maybe"),
        // Plausible, but far more weights than the file holds: refused before allocating.
        (
            "channels",
            "1000",
            "'conv_input.weight' has shape [4, 3, 9, 9], the model expects [1000, 3, 9, 9]",
        ),
    ] {
        let m = edited_model(&dir, "meta.safetensors", &[(key, value)], none);
        upscale(&m, expect);
    }
    let nan = edited_model(&dir, "nan.safetensors", &[], |n, v| {
        if n == "conv_mid.weight" {
            v[3] = f32::NAN;
        }
    });
    upscale(&nan, "'conv_mid.weight' holds NaN");
    let inf = edited_model(&dir, "inf.safetensors", &[], |n, v| {
        if n == "conv_input.bias" {
            v[0] = f32::INFINITY;
        }
    });
    upscale(&inf, "'conv_input.bias' holds inf");
    let var = edited_model(&dir, "var.safetensors", &[], |n, v| {
        if n == "bn_mid.running_var" {
            v[1] = -0.5;
        }
    });
    upscale(
        &var,
        "'bn_mid.running_var' holds the negative variance -0.5",
    );
}

#[test]
fn folder_scans_end_on_symlink_loops() {
    let dir = temp("rel-loop");
    small_png(&dir.join("a.png"));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    small_png(&dir.join("sub").join("b.png"));
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&dir, dir.join("self")).unwrap();
        std::os::unix::fs::symlink(&dir, dir.join("sub").join("up")).unwrap();
    }
    let files = srgan_wgpu::eval::image_files(&dir).unwrap();
    assert_eq!(files.len(), 2, "{files:?}");
}

#[test]
fn flags_out_of_range_are_refused() {
    let dir = temp("rel-flags");
    let img = dir.join("a.png");
    small_png(&img);
    let i = s(&img);
    let d = s(&dir);
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "srresnet",
            "--data",
            d,
            "--out",
            "/nonexistent/run",
        ];
        args.extend(extra);
        assert_refused_flag(&args);
    };
    train(&["--batch", "0"]);
    train(&["--channels", "0"]);
    train(&["--blocks", "0"]);
    train(&["--steps", "0"]);
    train(&["--lr", "nan"]);
    train(&["--lr=-1"]);
    train(&["--lr-late", "inf"]);
    train(&["--disc-width", "0"]);
    train(&["--tv-weight", "nan"]);
    train(&["--adversarial-weight=-1"]);
    train(&["--crop", "0"]);
    train(&["--ema", "1"]);
    train(&["--ema", "nan"]);
    assert_refused_flag(&["upscale", i, "--tile", "1"]);
    assert_refused_flag(&["eval", d, "--tile", "3"]);

    // compare needs a picture large enough to make an LR image of.
    let model = tiny_model(&dir, 4);
    assert_one_line_error(
        &[
            "compare",
            i,
            "--model",
            s(&model),
            "-o",
            s(&dir.join("c.png")),
        ],
        &[],
        "compare needs an image of at least 16x16",
    );
    // eval checks where its CSV goes before the work.
    assert_one_line_error(
        &[
            "eval",
            d,
            "--model",
            s(&model),
            "--csv",
            "/nonexistent/dir/x.csv",
        ],
        &[],
        "--csv: the folder /nonexistent/dir does not exist",
    );
    assert_one_line_error(
        &["info"],
        &[("WGPU_BACKEND", "bogus")],
        "WGPU_BACKEND=bogus: 'bogus' is not a backend",
    );
}

#[test]
fn run_folders_are_guarded() {
    let dir = temp("rel-runs");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    training_photos(&data);
    fn train<'a>(data: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["train", "srresnet", "--data", s(data), "--out", s(out)];
        args.extend(TINY_TRAINING);
        args.extend(extra);
        args
    }

    // A folder another live run holds (here: this test's own process id).
    let busy = dir.join("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("run.lock"), std::process::id().to_string()).unwrap();
    assert_one_line_error(
        &train(&data, &busy, &["--steps", "1"]),
        &[],
        "is in use by another training run",
    );
    // A lock left by a process that is gone is taken over, and removed at the end.
    std::fs::write(busy.join("run.lock"), "4000000000").unwrap();
    let (code, err) = run(&train(&data, &busy, &["--steps", "1"]), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(!busy.join("run.lock").exists());

    // Results of an earlier run without a checkpoint are not overwritten.
    let done = dir.join("done");
    std::fs::create_dir_all(&done).unwrap();
    std::fs::write(done.join("generator.safetensors"), b"earlier results").unwrap();
    assert_one_line_error(
        &train(&data, &done, &["--steps", "1"]),
        &[],
        "holds results of an earlier run",
    );
    assert_eq!(
        std::fs::read(done.join("generator.safetensors")).unwrap(),
        b"earlier results"
    );

    // A validation folder without a usable image stops the run at its start, naming --val.
    let notes = dir.join("notes");
    std::fs::create_dir_all(&notes).unwrap();
    std::fs::write(notes.join("broken.png"), b"not a png").unwrap();
    let fresh = dir.join("fresh");
    assert_one_line_error(
        &train(&data, &fresh, &["--steps", "1", "--val", s(&notes)]),
        &[],
        "--val",
    );
    assert!(!fresh.join("log.csv").exists());
}

#[test]
fn training_from_a_file_keeps_its_epsilon_and_tanh() {
    let dir = temp("rel-init");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    training_photos(&data);
    let none = |_: &str, _: &mut Vec<f32>| {};
    let init = edited_model(
        &dir,
        "keras.safetensors",
        &[("bn_eps", "0.001"), ("tanh", "false")],
        none,
    );
    let out = dir.join("run");
    let (code, err) = run(
        &[
            "train",
            "srresnet",
            "--data",
            s(&data),
            "--out",
            s(&out),
            "--init",
            &init,
            "--crop",
            "32",
            "--batch",
            "2",
            "--steps",
            "1",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let trained = nnio::File::open(&out.join("generator.safetensors")).unwrap();
    let meta = trained.metadata();
    assert_eq!(meta["bn_eps"], "0.001");
    assert_eq!(meta["tanh"], "false");
    assert_eq!(meta["channels"], "4");
    let checkpoint = nnio::File::open(&out.join("checkpoint.safetensors")).unwrap();
    assert_eq!(checkpoint.metadata()["config.bn_eps"], "0.001");
}

/// Without XDG_RUNTIME_DIR (containers, cron, CI), Mesa's Vulkan driver used to print an
/// error twice on every run; the binary now keeps it quiet, and picks no GL adapter to probe.
#[test]
fn no_noise_without_a_runtime_dir() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_srgan-wgpu"))
        .arg("info")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("WGPU_BACKEND")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.trim().is_empty(), "info printed to stderr: {err}");
}
