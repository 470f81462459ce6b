//! The paper's networks: parameter counts, shapes, and the VGG extractor with generated
//! weights (the ImageNet ones cannot be downloaded here).

mod common;
use common::*;
use srgan_wgpu::autograd::Tape;
use srgan_wgpu::models::{Discriminator, Generator, GeneratorConfig, Lpips, Vgg19, VggLayer};
use srgan_wgpu::nn::{io, Module};
use srgan_wgpu::rng::Rng;

#[test]
fn parameter_counts_match_the_papers_networks() {
    let gpu = gpu();
    // Generator, 16 blocks of 64 channels (3x3 convs with bias, per-channel PReLU):
    //   conv 9x9 3->64: 3*64*81 + 64 = 15,616;  PReLU: 64
    //   each block: 2 convs (64*64*9 + 64 = 36,928) + 2 BN (128) + PReLU (64) = 74,176; x16 = 1,186,816
    //   conv 3x3 + BN: 36,928 + 128 = 37,056
    //   2 upsampling blocks: conv 64->256 (64*256*9 + 256 = 147,712) + PReLU 64 = 147,776; x2 = 295,552
    //   conv 9x9 64->3: 64*3*81 + 3 = 15,555
    //   total 1,550,659 (the 1.55 M usually quoted for SRResNet)
    let g = Generator::new(&gpu, GeneratorConfig::default(), 0);
    assert_eq!(g.param_count(), 1_550_659);
    // Discriminator, 96x96 input: convs (cin*cout*9 + cout, plus 2*cout for BN but the first):
    //   1,792 + 37,056 + 74,112 + 147,840 + 295,680 + 590,592 + 1,181,184 + 2,360,832 = 4,689,088
    //   dense 512*6*6 -> 1024: 18,875,392;  dense 1024 -> 1: 1,025;  total 23,565,505
    let d = Discriminator::new(&gpu, 0, 1.0, 96);
    assert_eq!(d.param_count(), 4_689_088 + 18_875_392 + 1_025);
    // VGG19's 16 convolutions up to conv5_4: torchvision's vgg19().features, 20,024,384.
    let v = Vgg19::new(&gpu, VggLayer::Conv5_4, 0, 1.0);
    assert_eq!(v.param_count(), 20_024_384);
}

/// Folding batch norm into the convolutions before it, and running PReLU, the residual adds,
/// pixel shuffle and tanh in the convolutions' stores (what `upscale` runs), computes what the
/// generator does in eval mode, with batch norm statistics and affine parameters far from
/// their defaults. Tolerance: f32 rounding of a few hundred products per value, twice.
#[test]
fn folded_batch_norm_computes_the_same_as_eval_mode() {
    let gpu = gpu();
    let mut rng = Rng::new(5);
    let config = GeneratorConfig {
        blocks: 2,
        channels: 8,
        ..Default::default()
    };
    let g = Generator::new(&gpu, config, 3);
    for e in g.entries() {
        let t = match e {
            srgan_wgpu::nn::Entry::Param(p) => p.value().clone(),
            srgan_wgpu::nn::Entry::Buffer(_, t) => t,
            _ => continue,
        };
        if t.shape().len() == 1 {
            // Batch norm and PReLU vectors and biases: variances must stay positive.
            let v: Vec<f64> = (0..t.numel()).map(|_| rng.range(0.5, 1.5)).collect();
            t.write(&v.iter().map(|&x| x as f32).collect::<Vec<_>>());
        }
    }
    let lr = upload(&gpu, &[1, 3, 9, 11], &random(&mut rng, 297));
    let expect: Vec<f64> = g.upscale(&lr).to_vec().iter().map(|&v| v as f64).collect();
    let folded = g.folded().upscale(&lr).to_vec();
    assert!(
        expect.iter().any(|v| v.abs() > 0.05),
        "a degenerate output proves nothing"
    );
    assert_close("folded generator", &folded, &expect, 1e-4, 1e-5);
}

#[test]
fn small_networks_have_the_right_shapes() {
    let gpu = gpu();
    let mut rng = Rng::new(1);
    let config = GeneratorConfig {
        blocks: 2,
        channels: 8,
        ..Default::default()
    };
    let g = Generator::new(&gpu, config, 1);
    let lr = upload(
        &gpu,
        &[2, 3, 5, 7],
        &random(&mut rng, 210)
            .iter()
            .map(|v| v.abs())
            .collect::<Vec<_>>(),
    );
    let sr = g.upscale(&lr);
    assert_eq!(sr.shape(), [2, 3, 20, 28]);
    assert!(
        sr.to_vec().iter().all(|v| v.abs() <= 1.0),
        "tanh output must lie in [-1, 1]"
    );

    let d = Discriminator::new(&gpu, 2, 0.0625, 32);
    let t = Tape::new();
    let x = upload(&gpu, &[3, 3, 32, 32], &random(&mut rng, 3 * 3 * 32 * 32));
    let logits = d.forward(&t, &t.constant(x), true);
    assert_eq!(logits.shape(), [3, 1]);
}

#[test]
fn vgg_extractor_loads_generated_weights_and_reaches_both_layers() {
    let gpu = gpu();
    let mut rng = Rng::new(2);
    let dir = temp("vgg");
    let path = dir.join("vgg.safetensors");
    // Full-width weights with torchvision's names, made here and saved as the converter would.
    let made = Vgg19::new(&gpu, VggLayer::Conv5_4, 7, 1.0);
    io::save_module(&path, &made.entries(), Default::default()).unwrap();
    let x = upload(
        &gpu,
        &[1, 3, 32, 32],
        &random(&mut rng, 3 * 32 * 32)
            .iter()
            .map(|v| v.abs())
            .collect::<Vec<_>>(),
    );
    for (layer, shape) in [
        (VggLayer::Conv2_2, [1, 128, 16, 16]),
        (VggLayer::Conv5_4, [1, 512, 2, 2]),
    ] {
        let vgg = Vgg19::load(&gpu, layer, &path).unwrap();
        assert_eq!(
            vgg.loss_scale,
            1.0 / 12.75,
            "the paper's scale without metadata"
        );
        let t = Tape::inference();
        let f = vgg.forward(&t, &t.constant(x.clone()));
        assert_eq!(f.shape(), shape);
        assert!(
            f.value.to_vec().iter().all(|v| *v >= 0.0),
            "features are taken after a ReLU"
        );
    }
    // φ5,4 before its ReLU has no paper's scale to fall back on.
    let unscaled = Vgg19::load(&gpu, VggLayer::Conv5_4Pre, &path)
        .err()
        .unwrap();
    assert!(unscaled.0.contains("loss_scale.phi54pre"), "{unscaled}");
    let missing = Vgg19::load(&gpu, VggLayer::Conv5_4, &dir.join("none.safetensors"))
        .err()
        .unwrap();
    assert!(
        missing.0.contains("tools/convert_vgg_normalised.py"),
        "{missing}"
    );
}

/// The VGG forward against a CPU reference built from the ops' references: a narrow VGG19
/// (1/16 of the channels) with generated weights and a file-given input convolution (the
/// normalised VGG's RGB -> BGR x 255 - mean), on a 2x3x34x22 input, at the three layers.
#[test]
fn vgg_features_follow_the_cpu_reference() {
    use srgan_wgpu::ops::{conv::cpu as conv_cpu, pool::cpu as pool_cpu};
    let gpu = gpu();
    let mut rng = Rng::new(12);
    let dir = temp("vgg-ref");
    let path = dir.join("vgg.safetensors");
    let made = Vgg19::new(&gpu, VggLayer::Conv5_4, 3, 1.0 / 16.0);
    // Filters scaled down as the normalised VGG's are, so that 0-255 inputs stay moderate.
    let mut records: Vec<io::Record> = io::records(&made.entries(), "")
        .into_iter()
        .map(|r| match r {
            io::Record::F32(n, s, v) if n.ends_with(".weight") => {
                io::Record::F32(n, s, v.iter().map(|x| x / 255.0).collect())
            }
            other => other,
        })
        .collect();
    let convs: Vec<(Vec<usize>, Vec<f64>, Vec<f64>)> = records
        .chunks(2)
        .map(|wb| match wb {
            [io::Record::F32(_, s, w), io::Record::F32(_, _, b)] => (
                s.clone(),
                w.iter().map(|&v| v as f64).collect(),
                b.iter().map(|&v| v as f64).collect(),
            ),
            _ => unreachable!("weight and bias records alternate"),
        })
        .collect();
    let norm_w = [0.0f32, 0.0, 255.0, 0.0, 255.0, 0.0, 255.0, 0.0, 0.0];
    let norm_b = [-103.939f32, -116.779, -123.68];
    records.push(io::Record::F32(
        "normalize.weight".into(),
        vec![3, 3, 1, 1],
        norm_w.to_vec(),
    ));
    records.push(io::Record::F32(
        "normalize.bias".into(),
        vec![3],
        norm_b.to_vec(),
    ));
    let scales = [
        ("loss_scale.phi22", "0.07"),
        ("loss_scale.phi54", "0.03"),
        ("loss_scale.phi54pre", "0.006"),
    ];
    let meta = scales
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    io::save(&path, &records, meta).unwrap();
    // Without its scales such a file is refused: 1/12.75 was derived for ImageNet's VGG19.
    let bare = dir.join("bare.safetensors");
    io::save(&bare, &records, Default::default()).unwrap();
    let err = Vgg19::load(&gpu, VggLayer::Conv5_4, &bare)
        .err()
        .expect("refused")
        .0;
    assert!(err.contains("loss_scale.phi54"), "{err}");

    let (n, h, w) = (2, 34, 22);
    let x: Vec<f64> = random(&mut rng, n * 3 * h * w)
        .iter()
        .map(|v| v.abs())
        .collect();
    let xt = upload(&gpu, &[n, 3, h, w], &x);
    let f64s = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<_>>();
    let input = conv_cpu::conv2d(
        &x,
        [n, 3, h, w],
        &f64s(&norm_w),
        [3, 3, 1, 1],
        Some(&f64s(&norm_b)),
        1,
        0,
    );
    // Max pools follow conv1_2, conv2_2, conv3_4 and conv4_4 (the 2nd, 4th, 8th, 12th).
    let pools_after = [1, 3, 7, 11];
    for (layer, last, scale) in [
        (VggLayer::Conv2_2, 3, 0.07),
        (VggLayer::Conv5_4, 15, 0.03),
        (VggLayer::Conv5_4Pre, 15, 0.006),
    ] {
        let vgg = Vgg19::load(&gpu, layer, &path).unwrap();
        assert_eq!(vgg.loss_scale, scale, "the file's loss scale");
        let t = Tape::inference();
        let features = vgg.forward(&t, &t.constant(xt.clone())).value.to_vec();
        let (mut r, mut c, mut rh, mut rw) = (input.clone(), 3, h, w);
        for (k, (shape, wv, bv)) in convs.iter().enumerate().take(last + 1) {
            r = conv_cpu::conv2d(&r, [n, c, rh, rw], wv, [shape[0], c, 3, 3], Some(bv), 1, 1);
            if !(layer == VggLayer::Conv5_4Pre && k == last) {
                r.iter_mut().for_each(|v| *v = v.max(0.0));
            }
            c = shape[0];
            if pools_after.contains(&k) && k != last {
                r = pool_cpu::max_pool(&r, n * c, (rh, rw), 2, 2).0;
                (rh, rw) = (rh / 2, rw / 2);
            }
        }
        let peak = r.iter().fold(0.0, |m: f64, v| m.max(v.abs()));
        assert!(peak > 1e-3, "{layer:?}: features should not vanish");
        // Well below the comparison's tolerance, so that a ReLU applied there would show.
        let negative = r.iter().any(|v| *v < -0.05 * peak);
        assert_eq!(negative, layer == VggLayer::Conv5_4Pre, "{layer:?}: signs");
        // f32 sums of up to 288 terms per layer through 16 layers: 1e-3 of the layer's peak.
        assert_close(&format!("{layer:?}"), &features, &r, 1e-3, 1e-3 * peak);
    }
}

/// LPIPS with generated weights, saved and loaded through its file format, against the CPU
/// composition of its parts: input scaling, AlexNet's five convolutions (11x11 every 4 with
/// padding 2, then 5x5, then three 3x3) with ReLUs and two overlapping 3x3 pools, and the
/// per-layer distances averaged over pixels and images and summed.
#[test]
fn lpips_matches_the_cpu_composition() {
    use srgan_wgpu::ops::{conv::cpu as conv_cpu, lpips as lpips_op, pool::cpu as pool_cpu};
    let gpu = gpu();
    let dir = temp("lpips");
    let path = dir.join("lpips.safetensors");
    let random_net = Lpips::new(&gpu, 7, 0.125);
    io::save_module(&path, &random_net.entries(), Default::default()).unwrap();
    let net = Lpips::load(&gpu, &path).unwrap();
    let weights: Vec<Vec<f64>> = net
        .entries()
        .iter()
        .map(|e| e.tensor().to_vec().iter().map(|&v| v as f64).collect())
        .collect();
    let shapes: Vec<Vec<usize>> = net
        .entries()
        .iter()
        .map(|e| e.tensor().shape().to_vec())
        .collect();

    let mut rng = Rng::new(8);
    let (n, h, w) = (2, 37, 34);
    let image = |rng: &mut Rng| -> Vec<f64> {
        random(rng, n * 3 * h * w).iter().map(|v| v.abs()).collect()
    };
    let (a, b) = (image(&mut rng), image(&mut rng));
    // (2x - 1 - shift) / scale, LPIPS' input.
    let (shift, scale) = ([-0.030, -0.088, -0.188], [0.458, 0.448, 0.450]);
    let features = |x: &[f64]| {
        let mut r: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let c = i / (h * w) % 3;
                (2.0 * v - 1.0 - shift[c]) / scale[c]
            })
            .collect();
        let (mut c, mut rh, mut rw) = (3, h, w);
        let mut out = Vec::new();
        // (kernel, stride, pad, pool first); weights and biases alternate in `entries`.
        for (layer, (k, s, p, pool)) in [
            (11, 4, 2, false),
            (5, 1, 2, true),
            (3, 1, 1, true),
            (3, 1, 1, false),
            (3, 1, 1, false),
        ]
        .into_iter()
        .enumerate()
        {
            if pool {
                r = pool_cpu::max_pool(&r, n * c, (rh, rw), 3, 2).0;
                (rh, rw) = ((rh - 3) / 2 + 1, (rw - 3) / 2 + 1);
            }
            let cout = shapes[2 * layer][0];
            let ws = [cout, c, k, k];
            r = conv_cpu::conv2d(
                &r,
                [n, c, rh, rw],
                &weights[2 * layer],
                ws,
                Some(&weights[2 * layer + 1]),
                s,
                p,
            );
            (rh, rw) = ((rh + 2 * p - k) / s + 1, (rw + 2 * p - k) / s + 1);
            c = cout;
            r.iter_mut().for_each(|v| *v = v.max(0.0));
            out.push((r.clone(), rh * rw));
        }
        out
    };
    let (fa, fb) = (features(&a), features(&b));
    let want: f64 = fa
        .iter()
        .zip(&fb)
        .enumerate()
        .map(|(layer, ((x, plane), (y, _)))| {
            let d = lpips_op::cpu::distance(x, y, &weights[10 + layer], *plane);
            d.iter().sum::<f64>() / d.len() as f64
        })
        .sum();
    assert!(want > 1e-3, "the distance should not vanish: {want}");

    let t = Tape::inference();
    let up = |x: &[f64]| t.constant(upload(&gpu, &[n, 3, h, w], x));
    let got = net.forward(&t, &up(&a), &up(&b)).value.to_vec()[0];
    assert_close("lpips", &[got], &[want], 1e-4, 1e-6);
    let same = net.forward(&t, &up(&a), &up(&a)).value.to_vec()[0];
    assert!(same.abs() < 1e-6, "LPIPS of an image with itself: {same}");
}

/// The convolutions a file is checked for before a model is allocated are the generator's
/// own, by name and shape.
#[test]
fn the_convolutions_checked_are_the_generators() {
    use srgan_wgpu::nn::Entry;
    let gpu = gpu();
    let config = GeneratorConfig {
        blocks: 3,
        channels: 8,
        ..Default::default()
    };
    let g = Generator::new(&gpu, config.clone(), 1);
    let convs: Vec<(String, Vec<usize>)> = g
        .entries()
        .iter()
        .filter_map(|e| match e {
            Entry::Param(p) if p.value().shape().len() == 4 => {
                Some((e.name().to_string(), p.value().shape().to_vec()))
            }
            _ => None,
        })
        .collect();
    let listed: Vec<(String, Vec<usize>)> = config
        .conv_shapes()
        .into_iter()
        .map(|(n, s)| (n, s.to_vec()))
        .collect();
    assert_eq!(listed, convs);
}
