//! The binary on bad input: one clear line on stderr, a non-zero exit, never a panic.

mod common;
use common::cli::*;
use common::temp;
use srgan_wgpu::imaging::symmetry::Symmetry;
use srgan_wgpu::imaging::{io, Planes};

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
    let fig = io::load(&fig).unwrap().rgb;
    assert_eq!(fig.width, 3 * 20 + 2 * 8);
    // Two label lines of 10 pixels and a gap, the images (24 high), a gap, zooms (5x5 by 4).
    assert_eq!(fig.height, 28 + 24 + 8 + 20);
    // The labels are drawn: dark pixels among the first rows, which are white otherwise.
    let labels = &fig.data[..fig.width * 20];
    assert!(labels.iter().any(|&v| v < 0.5), "no label drawn");
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
        "does not match the model: 'conv_input.weight' has shape [4, 3, 9, 9], the model expects [64, 3, 9, 9]",
    );
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
        "no readable image (PNG, JPEG, WebP or TIFF)",
    );
    assert_one_line_error(
        &["info"],
        &[("SRGAN_WGPU_ADAPTER", "no-such-gpu")],
        "no GPU adapter matches 'no-such-gpu'",
    );
    // No backend with an adapter at all: the message says how to get one, also where an
    // adapter was named.
    for named in ["", "3"] {
        assert_one_line_error(
            &["info"],
            &[("WGPU_BACKEND", "metal"), ("SRGAN_WGPU_ADAPTER", named)],
            "mesa-vulkan-drivers",
        );
    }
}

/// `--model srgan` and the like name the shipped files, found from any working directory;
/// anything else is a path.
#[test]
fn shipped_models_are_found_by_name() {
    use srgan_wgpu::upscale::model_path;
    use std::path::Path;
    for name in ["srresnet", "srgan", "srgan_vgg22", "srgan_mse"] {
        let path = model_path(Path::new(name)).unwrap();
        assert!(
            path.ends_with(format!("weights/{name}.safetensors")),
            "{path:?}"
        );
        assert!(path.exists(), "{path:?}");
        let file = srgan_wgpu::nn::io::File::open(&path).unwrap();
        srgan_wgpu::models::GeneratorConfig::from_metadata(&file.metadata()).unwrap();
    }
    for other in ["srgan.safetensors", "dir/srgan"] {
        assert_eq!(model_path(Path::new(other)).unwrap(), Path::new(other));
    }
    let unknown = model_path(Path::new("no_such_model"))
        .unwrap_err()
        .to_string();
    assert!(
        unknown.contains("srresnet, srgan, srgan_vgg22, srgan_mse"),
        "{unknown}"
    );
}

/// `--kernels naive` runs the whole network on the naive kernels (one invocation per output
/// value) and gives the image the tiled f32 kernels give, to 1/255, with the shipped
/// SRResNet; clap refuses a name that does not exist, saying which there are.
#[test]
fn naive_kernels_upscale_the_same_image() {
    let dir = temp("naive");
    let input = dir.join("in.png");
    let mut p = srgan_wgpu::imaging::Planes::new(3, 11, 13);
    let mut rng = srgan_wgpu::rng::Rng::new(4);
    p.data.iter_mut().for_each(|v| *v = rng.uniform() as f32);
    srgan_wgpu::imaging::io::save_rgb(&input, &p).unwrap();
    let mut outputs = Vec::new();
    for kernels in ["naive", "f32"] {
        let out = dir.join(format!("{kernels}.png"));
        let args = [
            "upscale",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        let (code, err) = run(&[&args[..], &["--kernels", kernels]].concat(), &[]);
        assert_eq!(code, 0, "{kernels}: {err}");
        outputs.push(image::open(&out).unwrap().to_rgb8().into_raw());
    }
    assert_eq!(outputs[0].len(), 3 * 44 * 52);
    let most = outputs[0]
        .iter()
        .zip(&outputs[1])
        .map(|(a, b)| a.abs_diff(*b))
        .max();
    assert!(most <= Some(1), "naive and f32 differ by {most:?}/255");
    let (code, err) = run(
        &["upscale", input.to_str().unwrap(), "--kernels", "fast"],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("kernels must be naive, f32, half or mixed"),
        "{err}"
    );
}

/// A random h x w photograph saved as a.png in `dir` and its left-right mirror as b.png;
/// returns that mirror.
fn photograph_and_mirror(dir: &std::path::Path, h: usize, w: usize, seed: u64) -> Symmetry {
    let mut p = Planes::new(3, h, w);
    let mut rng = srgan_wgpu::rng::Rng::new(seed);
    p.data.iter_mut().for_each(|v| *v = rng.uniform() as f32);
    let mirror = Symmetry::ALL[1];
    io::save_rgb(&dir.join("a.png"), &p).unwrap();
    io::save_rgb(&dir.join("b.png"), &mirror.apply(&p)).unwrap();
    mirror
}

/// The largest difference between two images of the same size, in steps of 1/255.
fn most_apart(a: &Planes, b: &Planes) -> f32 {
    let d = a.data.iter().zip(&b.data).map(|(x, y)| (x - y).abs());
    (d.fold(0.0f32, f32::max) * 255.0).round()
}

/// `upscale --self-ensemble` with the shipped SRResNet: the result of a mirrored image is the
/// mirror of the image's result (to the 8-bit rounding), which one pass is not.
#[test]
fn self_ensemble_upscales_a_mirror_to_the_mirror() {
    let dir = temp("ensemble");
    let mirror = photograph_and_mirror(&dir, 9, 14, 5);
    let upscale = |name: &str, flags: &[&str]| {
        let (input, out) = (
            dir.join(format!("{name}.png")),
            dir.join(format!("{name}_up.png")),
        );
        let args = [
            "upscale",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        let (code, err) = run(&[&args[..], flags].concat(), &[]);
        assert_eq!(code, 0, "{err}");
        io::load(&out).unwrap().rgb
    };
    let a = upscale("a", &["--self-ensemble"]);
    let b = upscale("b", &["--self-ensemble"]);
    assert_eq!((a.height, a.width), (36, 56));
    assert!(
        most_apart(&mirror.apply(&a), &b) <= 1.0,
        "{}",
        most_apart(&mirror.apply(&a), &b)
    );
    let (a1, b1) = (upscale("a", &[]), upscale("b", &[]));
    assert!(
        most_apart(&mirror.apply(&a1), &b1) > 1.0,
        "one pass is already symmetric"
    );
}

/// compare's self-ensembles: a column of a mirrored photograph is the mirror of the column of
/// the photograph, which one pass does not give; `--model NAME+` makes one column an ensemble,
/// `--self-ensemble` all of them; unlabelled, their names have a "+", and stdout says which
/// columns are ensembles.
#[test]
fn compare_shows_the_self_ensemble() {
    let dir = temp("compare_ensemble");
    let model = tiny_model(&dir, 4);
    let m = model.to_str().unwrap();
    let plus = format!("{m}+");
    // 16x20: multiples of 4, so that the figure's HR is the whole photograph and the LR of
    // the mirror is the mirror of the LR.
    let (h, w) = (16, 20);
    let mirror = photograph_and_mirror(&dir, h, w, 9);
    // The figure's last column, and stdout. Its rows are found from the bottom (a gap of 8 and
    // the zooms, a quarter of the side magnified to the column's width, 5 x 4 rows here), so
    // that the label lines above, two or three, do not matter; the first column, HR, is the
    // photograph itself, which checks the arithmetic.
    let last_column = |name: &str, args: &[&str]| {
        let (input, fig) = (dir.join(format!("{name}.png")), dir.join("fig.png"));
        let files = [input.to_str().unwrap(), "-o", fig.to_str().unwrap()];
        let (code, err, said) = run_with_output(&[&["compare"], &files[..], args].concat(), &[]);
        assert_eq!(code, 0, "{err}");
        // The progress's last line: "compare DONE/TOTAL layers | ...", all done.
        let counts = err.lines().rev().find_map(|l| {
            let (done, total) = l
                .strip_prefix("compare ")?
                .split_once(" layers")?
                .0
                .split_once('/')?;
            Some((done.parse::<usize>().ok()?, total.parse::<usize>().ok()?))
        });
        let (done, total) = counts.unwrap_or_else(|| panic!("no progress: {err}"));
        assert_eq!(done, total, "{err}");
        let fig = io::load(&fig).unwrap().rgb;
        let top = fig.height - h - 8 - h.min(w) / 4 * (w / (h.min(w) / 4));
        let hr = io::load(&input).unwrap().rgb;
        assert!(
            fig.crop(top, 0, h, w).data == hr.data,
            "the figure's layout changed"
        );
        (fig.crop(top, fig.width - w, h, w), said, total)
    };
    let plain_and_plus = ["--model", m, "--model", &plus];
    let (a, said, layers) = last_column("a", &plain_and_plus);
    let (b, _, _) = last_column("b", &plain_and_plus);
    assert!(said.contains("  tiny4 "), "{said}");
    assert!(
        said.contains("  tiny4+ "),
        "no '+' in the column's name: {said}"
    );
    assert_eq!(said.matches("(self-ensemble)").count(), 1, "{said}");
    assert!(
        most_apart(&mirror.apply(&a), &b) <= 1.0,
        "{}",
        most_apart(&mirror.apply(&a), &b)
    );
    let flag = ["--model", m, "--self-ensemble", "--label", "x"];
    let ((a, said, _), (b, _, _)) = (last_column("a", &flag), last_column("b", &flag));
    assert!(
        said.contains("  x ") && said.contains("(self-ensemble)"),
        "{said}"
    );
    assert!(
        most_apart(&mirror.apply(&a), &b) <= 1.0,
        "{}",
        most_apart(&mirror.apply(&a), &b)
    );
    let one = ["--model", m];
    let ((a1, said, layers1), (b1, _, _)) = (last_column("a", &one), last_column("b", &one));
    assert!(
        !said.contains("tiny4+") && !said.contains("self-ensemble"),
        "{said}"
    );
    // The progress counts the ensemble's eight passes beside the one.
    assert_eq!(layers, 9 * layers1);
    assert!(
        most_apart(&mirror.apply(&a1), &b1) > 1.0,
        "one pass is already symmetric"
    );
}

/// `--disc-restart-every` on an SRResNet, new or resumed: one line, and the run is kept.
#[test]
fn an_srresnet_has_no_discriminator_to_restart() {
    let dir = temp("restart");
    let data = dir.join("photos");
    std::fs::create_dir_all(&data).unwrap();
    training_photos(&data);
    let out = dir.join("run");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let tiny = [
        &["train", "srresnet", "--data", d, "--out", o, "--steps", "1"][..],
        &TINY_TRAINING,
    ]
    .concat();
    fn with<'a>(args: &[&'a str]) -> Vec<&'a str> {
        [args, &["--disc-restart-every", "2"]].concat()
    }
    let expect = "disc_restart_every (--disc-restart-every) 2: only an SRGAN has a discriminator";
    assert_one_line_error(&with(&tiny), &[], expect);
    let (code, err) = run(&tiny, &[]);
    assert_eq!(code, 0, "{err}");
    let checkpoint = out.join("checkpoint.safetensors");
    let before = std::fs::read(&checkpoint).unwrap();
    assert_one_line_error(
        &with(&["train", "--resume", o, "--steps", "2"]),
        &[],
        expect,
    );
    assert_eq!(std::fs::read(&checkpoint).unwrap(), before);
}
