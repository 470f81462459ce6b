//! Inputs a careless or hostile user gives the binary (issue 21, after those of
//! `reliability.rs`): each ends in correct work, or one clear error line and a non-zero exit,
//! with nothing the user had lost and memory bounded.

mod common;
use common::cli::*;
use common::temp;
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An uncompressed little-endian TIFF of 32-bit floats, gray or RGB, `values` row by row.
fn float_tiff(path: &Path, w: u32, h: u32, channels: u16, values: &[f32]) {
    assert_eq!(values.len(), (w * h) as usize * channels as usize);
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let entries: u16 = 10;
    let ifd = 8u32;
    // After the IFD: BitsPerSample and SampleFormat arrays (RGB), then the pixels.
    let arrays = ifd + 2 + entries as u32 * 12 + 4;
    let pixels = arrays + 12;
    let mut out = b"II*\0".to_vec();
    out.extend(ifd.to_le_bytes());
    out.extend(entries.to_le_bytes());
    let mut tag = |id: u16, kind: u16, count: u32, value: u32| {
        out.extend(id.to_le_bytes());
        out.extend(kind.to_le_bytes());
        out.extend(count.to_le_bytes());
        out.extend(value.to_le_bytes());
    };
    let (short, long) = (3, 4);
    let many = channels > 1;
    tag(256, long, 1, w);
    tag(257, long, 1, h);
    tag(258, short, channels as u32, if many { arrays } else { 32 });
    tag(259, short, 1, 1);
    tag(262, short, 1, if many { 2 } else { 1 });
    tag(273, long, 1, pixels);
    tag(277, short, 1, channels as u32);
    tag(278, long, 1, h);
    tag(279, long, 1, data.len() as u32);
    tag(
        339,
        short,
        channels as u32,
        if many { arrays + 6 } else { 3 },
    );
    out.extend(0u32.to_le_bytes());
    for value in [32u16, 32, 32, 3, 3, 3] {
        out.extend(value.to_le_bytes());
    }
    assert_eq!(out.len() as u32, pixels);
    out.extend(data);
    std::fs::write(path, out).unwrap();
}

/// Every file under `dir`, relative, sorted.
fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = srgan_wgpu::eval::image_files(dir)
        .unwrap_or_default()
        .into_iter()
        .map(|f| f.strip_prefix(dir).unwrap().to_path_buf())
        .collect();
    all.sort();
    all
}

#[test]
fn outputs_of_one_run_never_collide() {
    let dir = temp("hostile-collide");
    let model = tiny_model(&dir, 4);
    let photos = dir.join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    small_png(&photos.join("a.png"));
    let webp = image::open(photos.join("a.png")).unwrap();
    webp.save(photos.join("a.webp")).unwrap();
    float_tiff(&photos.join("b.tif"), 6, 5, 3, &[0.25; 90]);
    let out = dir.join("out");
    let (code, err) = run(
        &["upscale", s(&photos), "-o", s(&out), "--model", s(&model)],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let made = listing(&out);
    let want: Vec<PathBuf> = ["a.png", "a.webp.png", "b.png"]
        .iter()
        .map(PathBuf::from)
        .collect();
    assert_eq!(made, want);
}

#[test]
fn no_command_writes_over_its_input() {
    let dir = temp("hostile-inputs");
    let model = tiny_model(&dir, 4);
    let img = dir.join("x.png");
    let mut big = srgan_wgpu::imaging::Planes::new(3, 24, 24);
    big.data
        .iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = (i % 23) as f32 / 23.0);
    srgan_wgpu::imaging::io::save_rgb(&img, &big).unwrap();
    let before = std::fs::read(&img).unwrap();
    let m = s(&model);
    assert_one_line_error(
        &["eval", s(&img), "--model", m, "--csv", s(&img)],
        &[],
        "is an input",
    );
    let folder = dir.join("set");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(&img, folder.join("y.png")).unwrap();
    let inside = folder.join("y.png");
    assert_one_line_error(
        &["eval", s(&folder), "--model", m, "--csv", s(&inside)],
        &[],
        "is an input",
    );
    assert_one_line_error(
        &["compare", s(&img), "--model", m, "-o", s(&img)],
        &[],
        "is an input",
    );
    assert_eq!(std::fs::read(&img).unwrap(), before);
    let run_dir = dir.join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    let log = run_dir.join("log.csv");
    std::fs::write(&log, "step,loss\n1,0.5\n2,0.25\n").unwrap();
    assert_one_line_error(&["plot", s(&run_dir), "-o", s(&log)], &[], "is an input");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "step,loss\n1,0.5\n2,0.25\n"
    );
    // A single image's CSV names it.
    let csv = dir.join("scores.csv");
    let (code, err) = run(&["eval", s(&img), "--model", m, "--csv", s(&csv)], &[]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.lines().nth(1).unwrap().starts_with("x.png,"), "{text}");
}

#[test]
fn only_whole_outputs_count_as_done() {
    let dir = temp("hostile-skip");
    let model = tiny_model(&dir, 4);
    let photos = dir.join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    small_png(&photos.join("a.png"));
    small_png(&photos.join("b.png"));
    let out = dir.join("out");
    std::fs::create_dir_all(out.join("a.png")).unwrap();
    let whole = std::fs::read(photos.join("b.png")).unwrap();
    std::fs::write(out.join("b.png"), &whole[..whole.len() / 2]).unwrap();
    let args = [
        "upscale",
        s(&photos),
        "-o",
        s(&out),
        "--model",
        s(&model),
        "--skip-existing",
    ];
    // A folder where a.png should go is no output: the image is tried and cannot be written.
    let (code, err) = run(&args, &[]);
    assert_ne!(code, 0);
    assert!(err.contains("1 image(s) could not be upscaled"), "{err}");
    // The truncated b.png was made again, whole.
    assert!(image::open(out.join("b.png")).is_ok());
    std::fs::remove_dir_all(out.join("a.png")).unwrap();
    let (code, err) = run(&args, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(image::open(out.join("a.png")).is_ok());
    // Now both are whole: nothing to do, and it says so.
    let (code, _) = run(&args, &[]);
    assert_eq!(code, 0);
    // A shard holding none of the images says that, not that they are done.
    let empty = dir.join("empty");
    let shards: Vec<String> = (0..64).map(|k| format!("{k}/64")).collect();
    let none = shards
        .iter()
        .find(|k| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_srgan-wgpu"))
                .args(["upscale", s(&photos), "-o", s(&empty), "--model", s(&model)])
                .args(["--shard", k.as_str()])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).contains("falls in shard")
        })
        .expect("some shard of 64 holds neither of two images");
    assert!(!empty.join("a.png").exists(), "shard {none} made an output");
}

#[test]
fn sizes_counts_and_configurations_stay_bounded() {
    let dir = temp("hostile-bounds");
    let model = tiny_model(&dir, 4);
    let img = dir.join("a.png");
    small_png(&img);
    let m = s(&model);
    let out = dir.join("o.png");
    for scale in ["1e9", "1e6", "3e4"] {
        assert_one_line_error(
            &[
                "upscale",
                s(&img),
                "--model",
                m,
                "-o",
                s(&out),
                "--outscale",
                scale,
            ],
            &[],
            "an output may have",
        );
    }
    assert!(!out.exists());
    // The same adapter named many times is one worker; an empty name is refused.
    let many = vec!["0"; 128].join(",");
    let (code, err) = run(
        &["upscale", s(&img), "--model", m, "-o", s(&out), "-g", &many],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_one_line_error(&["upscale", s(&img), "-g", ","], &[], "has an empty name");
    assert_one_line_error(
        &["upscale", s(&img), "--max-pixels", "29"],
        &[],
        "is 5x6 (30 pixels), over the limit of 29 pixels",
    );
}

/// A run of one step, its checkpoint's configuration then edited by hand.
#[test]
fn checkpoints_pass_the_checks_the_flags_pass() {
    let dir = temp("hostile-checkpoint");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    training_photos(&data);
    let runs = dir.join("run");
    let args = [
        &[
            "train",
            "srgan",
            "--data",
            s(&data),
            "--out",
            s(&runs),
            "--steps",
            "1",
        ][..],
        &TINY_TRAINING,
        &["--content-loss", "mse", "--disc-width", "0.125"],
    ]
    .concat();
    let (code, err) = run(&args, &[]);
    assert_eq!(code, 0, "{err}");
    let resume = |steps: &str| -> Vec<String> {
        ["train", "--resume", s(&runs), "--steps", steps]
            .map(String::from)
            .to_vec()
    };
    let args = resume("1");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_one_line_error(&args, &[], "is at step 1, the end of a run of 1 steps");
    let checkpoint = runs.join("checkpoint.safetensors");
    let original = std::fs::read(&checkpoint).unwrap();
    for (key, value, expect) in [
        (
            "config.batch",
            "100000000",
            "batch 100000000: a whole number from 1 to 1024",
        ),
        (
            "config.batch",
            "0",
            "batch 0: a whole number from 1 to 1024",
        ),
        (
            "config.disc_width",
            "1e9",
            "disc_width 1000000000: a number above 0",
        ),
        ("config.lr", "NaN", "lr NaN: a positive number"),
        (
            "config.ema",
            "-0.5",
            "ema (--ema) -0.5: a decay of at least 0 and below 1",
        ),
        // A run that keeps an average whose checkpoint has none.
        (
            "config.ema",
            "0.5",
            "the checkpoint has no average of the generator",
        ),
    ] {
        let (header, tensors) = split_safetensors(&original);
        let mut meta: serde_like::Map = serde_like::parse(&header);
        meta.set(key, value);
        std::fs::write(&checkpoint, join_safetensors(&meta.to_json(), tensors)).unwrap();
        let args = resume("5");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_one_line_error(&args, &[], expect);
    }
}

/// The JSON header of a safetensors file and the bytes after it.
fn split_safetensors(bytes: &[u8]) -> (String, &[u8]) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (
        String::from_utf8(bytes[8..8 + n].to_vec()).unwrap(),
        &bytes[8 + n..],
    )
}

fn join_safetensors(header: &str, tensors: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(tensors);
    out
}

/// Just enough JSON to edit a safetensors header's `__metadata__` strings in place.
mod serde_like {
    pub struct Map(String);

    pub fn parse(header: &str) -> Map {
        Map(header.to_string())
    }

    impl Map {
        /// Replaces the string value of `key` (present in the header).
        pub fn set(&mut self, key: &str, value: &str) {
            let pattern = format!("\"{key}\":\"");
            let start = self.0.find(&pattern).expect("the key is in the header") + pattern.len();
            let end = start + self.0[start..].find('"').unwrap();
            self.0.replace_range(start..end, value);
        }

        pub fn to_json(&self) -> String {
            self.0.clone()
        }
    }
}

#[test]
fn damaged_pixels_and_flat_images_give_numbers() {
    let dir = temp("hostile-pixels");
    let model = tiny_model(&dir, 4);
    let m = s(&model);
    let mut values = vec![0.5f32; 3 * 20 * 20];
    values[7] = f32::NAN;
    let nan = dir.join("nan.tif");
    float_tiff(&nan, 20, 20, 3, &values);
    assert_one_line_error(
        &[
            "upscale",
            s(&nan),
            "--model",
            m,
            "-o",
            s(&dir.join("o.png")),
        ],
        &[],
        "holds a value that is not a number at (2, 0)",
    );
    let gray = dir.join("gray.tif");
    float_tiff(&gray, 20, 20, 1, &[0.5; 400]);
    assert_one_line_error(
        &[
            "upscale",
            s(&gray),
            "--model",
            m,
            "-o",
            s(&dir.join("g.png")),
        ],
        &[],
        "are of a kind this program does not read",
    );
    // A flat image: bicubic reproduces it exactly, which must not make the mean infinite.
    let flat = dir.join("flat");
    std::fs::create_dir_all(&flat).unwrap();
    let mut p = srgan_wgpu::imaging::Planes::new(3, 32, 32);
    p.data.iter_mut().for_each(|v| *v = 0.5);
    srgan_wgpu::imaging::io::save_rgb(&flat.join("flat.png"), &p).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_srgan-wgpu"))
        .args(["eval", s(&flat), "--model", m])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}");
    assert!(!table.contains("inf") && !table.contains("NaN"), "{table}");
}

#[test]
fn weights_and_models_are_named_in_errors() {
    let dir = temp("hostile-weights");
    let img = dir.join("a.png");
    small_png(&img);
    let model = tiny_model(&dir, 4);
    // The same tensors in f16.
    let bytes = std::fs::read(&model).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let halves: Vec<(String, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .filter(|(_, t)| t.dtype() == safetensors::Dtype::F32)
        .map(|(name, t)| {
            let data: Vec<u8> = t
                .data()
                .chunks_exact(4)
                .flat_map(|b| half_of(f32::from_le_bytes(b.try_into().unwrap())).to_le_bytes())
                .collect();
            (name, t.shape().to_vec(), data)
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = halves
        .iter()
        .map(|(n, shape, data)| {
            let f16 = safetensors::Dtype::F16;
            let view = safetensors::tensor::TensorView::new(f16, shape.clone(), data).unwrap();
            (n.clone(), view)
        })
        .collect();
    let f16 = dir.join("f16.safetensors");
    let serialized = safetensors::serialize(views, meta.metadata().clone()).unwrap();
    std::fs::write(&f16, serialized).unwrap();
    assert_one_line_error(
        &["upscale", s(&img), "--model", s(&f16)],
        &[],
        "holds F16 tensors",
    );
    assert_one_line_error(
        &["upscale", s(&img), "--model", "nosuchmodel"],
        &[],
        "the shipped ones are srresnet, srgan, srgan_vgg22, srgan_mse",
    );
}

/// An f32 as the bits of an f16, by truncation (good enough for weights below 1).
fn half_of(v: f32) -> u16 {
    let b = v.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32 - 127 + 15;
    if exp <= 0 {
        return sign;
    }
    sign | ((exp.min(30) as u16) << 10) | ((b >> 13) & 0x3ff) as u16
}

#[test]
fn output_places_are_checked_before_the_work() {
    let dir = temp("hostile-places");
    let model = tiny_model(&dir, 4);
    let img = dir.join("a.png");
    small_png(&img);
    let m = s(&model);
    // /proc takes no new files: refused at once, before any GPU work.
    assert_one_line_error(
        &[
            "upscale",
            s(&img),
            "--model",
            m,
            "-o",
            "/proc/srgan-test/a.png",
        ],
        &[],
        "cannot create /proc/srgan-test",
    );
    let photos = dir.join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    small_png(&photos.join("p.png"));
    let file = dir.join("file.txt");
    std::fs::write(&file, "x").unwrap();
    assert_one_line_error(
        &["upscale", s(&photos), "--model", m, "-o", s(&file)],
        &[],
        "is a file, not a folder",
    );
    // One image into an existing folder goes there, as NAME_x4.png.
    let into = dir.join("into");
    std::fs::create_dir_all(&into).unwrap();
    let (code, err) = run(&["upscale", s(&img), "--model", m, "-o", s(&into)], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(into.join("a_x4.png").is_file());
    // So does one into a folder yet to be made, named with a final slash.
    let fresh = format!("{}/", s(&dir.join("fresh")));
    let (code, err) = run(&["upscale", s(&img), "--model", m, "-o", &fresh], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(dir.join("fresh/a_x4.png").is_file());
    // A zoomed region outside the picture is refused, not moved.
    let big = dir.join("big.png");
    let mut p = srgan_wgpu::imaging::Planes::new(3, 32, 32);
    p.data
        .iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = (i % 7) as f32 / 7.0);
    srgan_wgpu::imaging::io::save_rgb(&big, &p).unwrap();
    assert_one_line_error(
        &[
            "compare",
            s(&big),
            "--model",
            m,
            "--region",
            "20,20,16",
            "-o",
            s(&dir.join("c.png")),
        ],
        &[],
        "does not fit the 32x32 image",
    );
}
