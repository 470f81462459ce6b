//! A folder split over array jobs: `--shard K/N` takes a fixed, complete slice, and
//! `--skip-existing` finishes only what is missing.

mod common;
use common::cli::*;
use common::temp;
use srgan_wgpu::upscale::shard_of;
use std::collections::BTreeSet;
use std::path::Path;

/// The images a run wrote, from its "IN -> OUT (...)" lines.
fn written(stdout: &str) -> BTreeSet<String> {
    stdout
        .lines()
        .filter_map(|l| l.split(" -> ").nth(1))
        .map(|r| r.split(' ').next().unwrap().to_string())
        .collect()
}

fn upscale(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_srgan-wgpu"))
        .arg("upscale")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn shards_cover_the_folder_once_and_do_not_move() {
    let names = [
        "a.png",
        "b.png",
        "sub/c.png",
        "sub/d.png",
        "sub/deeper/e.png",
        "f.png",
    ];
    // The documented hash, so that other tools can reproduce the split.
    assert_eq!(shard_of(Path::new("sub/c.png"), 1 << 32), 0x383a_5a5e);
    for n in [1, 2, 3, 7] {
        let mut seen = 0;
        for k in 0..n {
            seen += names
                .iter()
                .filter(|f| shard_of(Path::new(f), n) == k)
                .count();
        }
        assert_eq!(seen, names.len(), "{n} shards must hold every image once");
    }

    let dir = temp("shards");
    let model = tiny_model(&dir, 4);
    let m = model.to_str().unwrap();
    let input = dir.join("in");
    for f in names {
        std::fs::create_dir_all(input.join(f).parent().unwrap()).unwrap();
        small_png(&input.join(f));
    }
    let out = dir.join("out");
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    let mut all = BTreeSet::new();
    for k in 0..3 {
        let shard = format!("{k}/3");
        let got = written(&upscale(&[i, "-o", o, "--model", m, "--shard", &shard]));
        assert!(
            all.is_disjoint(&got),
            "shard {shard} repeated work: {got:?}"
        );
        // Re-running a shard takes the same images.
        assert_eq!(
            got,
            written(&upscale(&[i, "-o", o, "--model", m, "--shard", &shard]))
        );
        all.extend(got);
    }
    assert_eq!(all.len(), names.len(), "{all:?}");
    for f in names {
        assert!(out.join(f).exists(), "{f} was not upscaled");
    }

    // A whole output is left alone (here one made earlier by other means); a missing one is
    // made again.
    small_png(&out.join("a.png"));
    let earlier = std::fs::read(out.join("a.png")).unwrap();
    std::fs::remove_file(out.join("sub/c.png")).unwrap();
    let got = written(&upscale(&[i, "-o", o, "--model", m, "--skip-existing"]));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got.iter().next().unwrap().ends_with("c.png"));
    assert_eq!(std::fs::read(out.join("a.png")).unwrap(), earlier);
    let again = upscale(&[i, "-o", o, "--model", m, "--skip-existing"]);
    assert!(again.contains("nothing to do"), "{again}");
}

/// WebP and TIFF photos are read (outputs are PNG), and `--outscale` resizes the 4x result.
#[test]
fn webp_and_tiff_in_png_out_at_any_scale() {
    let dir = temp("formats");
    let model = tiny_model(&dir, 4);
    let m = model.to_str().unwrap();
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    let png = input.join("seed.png");
    small_png(&png);
    let img = image::open(&png).unwrap();
    img.save(input.join("a.webp")).unwrap();
    img.save(input.join("b.tif")).unwrap();
    std::fs::remove_file(&png).unwrap();
    let out = dir.join("out");
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    upscale(&[i, "-o", o, "--model", m, "--outscale", "2"]);
    for name in ["a.png", "b.png"] {
        let back = image::open(out.join(name)).unwrap();
        // The input is 5x6: twice that.
        assert_eq!((back.width(), back.height()), (10, 12), "{name}");
    }
    upscale(&[input.join("b.tif").to_str().unwrap(), "--model", m]);
    let four = image::open(input.join("b_x4.png")).unwrap();
    assert_eq!((four.width(), four.height()), (20, 24));
}

/// A folder shared by several adapters (here the same one opened twice, as CI has one) gives
/// the pixels one adapter gives; adapters may be named by their number in `info`.
#[test]
fn several_adapters_give_the_pixels_of_one() {
    let dir = temp("adapters");
    let model = tiny_model(&dir, 4);
    let m = model.to_str().unwrap();
    let input = dir.join("in");
    for k in 0..5 {
        std::fs::create_dir_all(&input).unwrap();
        small_png(&input.join(format!("p{k}.png")));
    }
    let i = input.to_str().unwrap();
    let (one, two) = (dir.join("one"), dir.join("two"));
    upscale(&[
        i,
        "-o",
        one.to_str().unwrap(),
        "--model",
        m,
        "--adapter",
        "0",
    ]);
    let wrote = written(&upscale(&[
        i,
        "-o",
        two.to_str().unwrap(),
        "--model",
        m,
        "-g",
        "0,0",
    ]));
    assert_eq!(wrote.len(), 5, "{wrote:?}");
    for k in 0..5 {
        let name = format!("p{k}.png");
        assert_eq!(
            std::fs::read(one.join(&name)).unwrap(),
            std::fs::read(two.join(&name)).unwrap(),
            "{name} differs"
        );
    }
}

/// Progress written to a log (stderr not a terminal) is plain lines: no carriage returns, and
/// a last line with the count and the rate.
#[test]
fn progress_in_a_log_is_plain_lines() {
    let dir = temp("progress");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    training_photos(&data);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_srgan-wgpu"))
        .args(["train", "srresnet", "--data", data.to_str().unwrap()])
        .args(["--out", dir.join("run").to_str().unwrap()])
        .args(TINY_TRAINING)
        .args(["--steps", "3"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains('\r'), "carriage returns in a log: {err:?}");
    assert!(err.contains("train 3/3 steps"), "{err}");
}
