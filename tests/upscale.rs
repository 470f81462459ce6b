//! Tiled upscaling equals a single pass; pictures keep their kind (gray, alpha, 16 bits);
//! self-ensemble does not depend on the image's orientation.

mod common;
use common::*;
use srgan_wgpu::imaging::symmetry::Symmetry;
use srgan_wgpu::imaging::{io, Picture, Planes};
use srgan_wgpu::models::{Generator, GeneratorConfig};
use srgan_wgpu::nn::{io as nnio, Module};
use srgan_wgpu::rng::Rng;
use srgan_wgpu::upscale::{load_generator, Upscaler};

fn tiny(gpu: &srgan_wgpu::Gpu) -> Generator {
    Generator::new(
        gpu,
        GeneratorConfig {
            blocks: 2,
            channels: 8,
            ..Default::default()
        },
        3,
    )
}

fn random_planes(rng: &mut Rng, channels: usize, h: usize, w: usize) -> Planes {
    Planes {
        channels,
        height: h,
        width: w,
        data: (0..channels * h * w)
            .map(|_| rng.uniform() as f32)
            .collect(),
    }
}

#[test]
fn tiles_join_without_seams() {
    let gpu = gpu();
    let g = tiny(&gpu);
    let mut rng = Rng::new(1);
    let lr = random_planes(&mut rng, 3, 29, 37);
    let whole = Upscaler::new(&g, 64, &gpu).upscale(&lr);
    let tiled = Upscaler::new(&g, 7, &gpu).upscale(&lr);
    assert_eq!((tiled.height, tiled.width), (116, 148));
    // Each tile sees its whole receptive field, so every output pixel is computed from the
    // same inputs by the same arithmetic: equal to the bit. A margin one pixel too narrow
    // changes the pixels next to the seams.
    let differing = whole
        .data
        .iter()
        .zip(&tiled.data)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        differing, 0,
        "{differing} values differ between tiled and whole"
    );
    assert!(
        whole.data.iter().any(|v| *v > 0.01 && *v < 0.99),
        "output should not be saturated"
    );
}

/// One upscaler shared by threads gives each the pixels it gives alone: the GPU handle, the
/// tensors and the model may be used from several threads at once (a server's requests).
#[test]
fn threads_share_one_upscaler() {
    fn shareable<T: Send + Sync>() {}
    shareable::<srgan_wgpu::Gpu>();
    shareable::<srgan_wgpu::Tensor>();
    shareable::<Upscaler>();
    let gpu = gpu();
    let g = tiny(&gpu);
    let up = Upscaler::new(&g, 9, &gpu);
    let mut rng = Rng::new(4);
    let images: Vec<Planes> = (0..4)
        .map(|i| random_planes(&mut rng, 3, 13 + i, 21 - i))
        .collect();
    let alone: Vec<Vec<f32>> = images.iter().map(|lr| up.upscale(lr).data).collect();
    let together: Vec<Vec<f32>> = std::thread::scope(|s| {
        let handles: Vec<_> = images
            .iter()
            .map(|lr| s.spawn(|| (0..3).map(|_| up.upscale(lr).data).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("an upscaling thread panicked"))
            .collect()
    });
    for (i, out) in together.iter().enumerate() {
        assert!(
            out == &alone[i / 3],
            "image {} differs when upscaled in parallel",
            i / 3
        );
    }
}

#[test]
fn pictures_keep_gray_alpha_and_bit_depth() {
    let gpu = gpu();
    let g = tiny(&gpu);
    let up = Upscaler::new(&g, 0, &gpu);
    let mut rng = Rng::new(2);
    let dir = temp("up");
    for (gray, alpha, sixteen) in [
        (true, false, false),
        (false, true, false),
        (false, false, true),
        (true, true, true),
    ] {
        let rgb = random_planes(&mut rng, 3, 9, 11);
        let rgb = if gray {
            Planes {
                data: rgb.data[..99].repeat(3),
                ..rgb
            }
        } else {
            rgb
        };
        let pic = Picture {
            rgb,
            alpha: alpha.then(|| random_planes(&mut rng, 1, 9, 11)),
            gray,
            sixteen_bit: sixteen,
        };
        let input = dir.join(format!("in_{gray}_{alpha}_{sixteen}.png"));
        io::save(&input, &pic).unwrap();
        let loaded = io::load(&input).unwrap();
        assert_eq!(
            (loaded.gray, loaded.alpha.is_some(), loaded.sixteen_bit),
            (gray, alpha, sixteen)
        );
        let out = up.upscale_picture(&loaded);
        let output = dir.join(format!("out_{gray}_{alpha}_{sixteen}.png"));
        io::save(&output, &out).unwrap();
        let back = io::load(&output).unwrap();
        assert_eq!((back.rgb.height, back.rgb.width), (36, 44));
        assert_eq!(
            (back.gray, back.alpha.is_some(), back.sixteen_bit),
            (gray, alpha, sixteen)
        );
    }
}

#[test]
fn weights_that_do_not_fit_are_refused_by_name() {
    let gpu = gpu();
    let dir = temp("w");
    let g = tiny(&gpu);
    let good = dir.join("good.safetensors");
    nnio::save_module(&good, &g.entries(), g.config.to_metadata()).unwrap();
    assert!(load_generator(&gpu, &good).is_ok());
    // The same tensors declared as a 4-channel network: the first conv's shape is wrong.
    // (Declared wider, the file would be refused sooner, for holding too few weights.)
    let wrong = dir.join("wrong.safetensors");
    let mut meta = g.config.to_metadata();
    meta.insert("channels".into(), "4".into());
    nnio::save_module(&wrong, &g.entries(), meta).unwrap();
    let err = load_generator(&gpu, &wrong).err().unwrap().0;
    assert!(
        err.contains("'conv_input.weight' has shape [8, 3, 9, 9], the model expects [4, 3, 9, 9]"),
        "{err}"
    );
}

/// The browser's path (`upscale_async`, each tile's result awaited) gives the picture the
/// program's path gives, tile for tile, with a tile side asked for that cuts even a small
/// picture (as the browser test does).
#[test]
fn awaited_tiles_give_the_same_picture() {
    let gpu = gpu();
    let g = tiny(&gpu);
    let mut rng = Rng::new(6);
    let lr = random_planes(&mut rng, 3, 13, 19);
    let up = Upscaler::new(&g, 8, &gpu);
    assert_eq!(up.tiles(13, 19).len(), 6);
    let blocking = up.upscale(&lr);
    let mut seen = Vec::new();
    let awaited = pollster::block_on(up.upscale_async(&lr, &mut |done, total| {
        seen.push((done, total));
    }));
    assert_eq!(seen, (1..=6).map(|d| (d, 6)).collect::<Vec<_>>());
    assert_eq!(awaited.data, blocking.data);
}

/// Self-ensemble is the mean of the eight orientations' single passes, each turned back (as
/// computed here from single passes); so its result does not depend on the orientation: for
/// a rotated or mirrored image it is the result for the image, rotated or mirrored the same
/// way (up to the order of the float sums). A result turned back the wrong way breaks that
/// for the rotations. The tiny generator alone depends on orientation, so the mean differs
/// from one pass. In tiles, blocking, observed and awaited.
#[test]
fn self_ensemble_does_not_depend_on_orientation() {
    let gpu = gpu();
    let g = tiny(&gpu);
    let mut rng = Rng::new(7);
    let lr = random_planes(&mut rng, 3, 11, 17);
    let up = Upscaler::new(&g, 8, &gpu).with_self_ensemble(true);
    let base = up.upscale(&lr);
    let furthest = |a: &Planes, b: &Planes| {
        assert_eq!((a.height, a.width), (b.height, b.width));
        a.data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
    };
    for s in Symmetry::ALL {
        let moved = up.upscale(&s.apply(&lr));
        let off = furthest(&moved, &s.apply(&base));
        assert!(off < 1e-5, "{s:?}: {off}");
    }
    let one = Upscaler::new(&g, 8, &gpu);
    let mut mean = Planes::new(3, base.height, base.width);
    for s in Symmetry::ALL {
        let up = s.undo(&one.upscale(&s.apply(&lr)));
        mean.data
            .iter_mut()
            .zip(&up.data)
            .for_each(|(m, u)| *m += u / 8.0);
    }
    let off = furthest(&mean, &base);
    assert!(
        off < 1e-6,
        "the ensemble is {off} from the mean of the passes"
    );
    let gained = furthest(&one.upscale(&lr), &base);
    assert!(
        gained > 1e-3,
        "one pass and the ensemble differ by {gained}"
    );
    let mut seen = Vec::new();
    let awaited = pollster::block_on(up.upscale_async(&lr, &mut |done, total| {
        seen.push((done, total));
    }));
    assert_eq!(awaited.data, base.data);
    let n = 8 * up.tiles(11, 17).len();
    assert_eq!(seen, (1..=n).map(|d| (d, n)).collect::<Vec<_>>());
    let mut reports = Vec::new();
    let observed = up.upscale_observed(&lr, &mut |done, total| reports.push((done, total)));
    assert_eq!(observed.data, base.data);
    let n = up.reports(11, 17);
    assert_eq!(reports, (1..=n).map(|d| (d, n)).collect::<Vec<_>>());
}
