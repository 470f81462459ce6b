//! Bicubic resizing against PIL, and PSNR/SSIM against known values. The reference numbers
//! were produced by Pillow 12 (`Image.resize((5, 4), Image.BICUBIC)`) and scikit-image 0.25
//! (`structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
//! use_sample_covariance=False, data_range=255)`) on the same synthetic images.

use srgan_wgpu::imaging::metrics::{psnr, psnr_ssim, ssim};
use srgan_wgpu::imaging::resize::{downscale, resize, resize_like_pil, Edge};
use srgan_wgpu::imaging::Planes;

/// A 20x16 RGB pattern with detail at every scale: ((x^2*7 + y*13 + c*29 + x*y*5) mod 256)/255.
fn pattern() -> Planes {
    let (h, w) = (16, 20);
    let mut p = Planes::new(3, h, w);
    for c in 0..3 {
        for y in 0..h {
            for x in 0..w {
                p.data[(c * h + y) * w + x] =
                    ((x * x * 7 + y * 13 + c * 29 + x * y * 5) % 256) as f32 / 255.0;
            }
        }
    }
    p
}

const PIL_5X4: [u8; 60] = [
    69, 148, 142, 122, 116, 121, 137, 136, 135, 134, 133, 112, 128, 146, 138, 132, 132, 128, 139,
    134, 97, 130, 119, 127, 134, 134, 129, 119, 129, 140, 143, 138, 125, 108, 124, 130, 125, 118,
    96, 128, 118, 135, 134, 122, 131, 146, 118, 122, 126, 113, 139, 124, 128, 131, 135, 126, 122,
    132, 125, 125,
];

#[test]
fn bicubic_downscale_matches_pil() {
    let out = resize_like_pil(&pattern(), 4, 5);
    let ours: Vec<i32> = out
        .data
        .iter()
        .map(|v| (v * 255.0).round() as i32)
        .collect();
    // PIL computes in fixed point (22-bit weights): allow one level of 255.
    for (i, (&a, &b)) in ours.iter().zip(PIL_5X4.iter()).enumerate() {
        assert!((a - b as i32).abs() <= 1, "pixel {i}: ours {a}, PIL {b}");
    }
}

#[test]
fn mirrored_and_pil_edges_agree_away_from_the_border() {
    // Downscaling 40 -> 10 by 4, the 16-tap kernel of output x covers inputs 4x - 6 .. 4x + 9:
    // outputs 2..=7 never reach the border, so the two edge rules must agree there.
    let mut big = Planes::new(1, 40, 40);
    for (i, v) in big.data.iter_mut().enumerate() {
        *v = ((i * 37 + (i / 40) * 11) % 97) as f32 / 97.0;
    }
    let a = resize(&big, 10, 10, Edge::Mirror);
    let b = resize(&big, 10, 10, Edge::Renormalize);
    for y in 2..8 {
        for x in 2..8 {
            assert!((a.at(0, y, x) - b.at(0, y, x)).abs() < 1e-5);
        }
    }
    assert!(
        (a.at(0, 0, 0) - b.at(0, 0, 0)).abs() > 1e-4,
        "the edge rules should differ at the corner"
    );
    // Values stay in range after the clamp of `downscale`, though bicubic overshoots.
    assert!(downscale(&big, 4)
        .data
        .iter()
        .all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn cubic_weights_by_hand() {
    // A single bright pixel downscaled 8 -> 2 along x. Output 0 samples at u = 1.5 with taps
    // k((1.5 - i) / 4) for i = -7..10; mirroring (-1 -> 0, -2 -> 1, -3 -> 2, -4 -> 3) gives
    // pixel 3 two taps: i = 3 (t = 0.375) and i = -4 (t = 1.375):
    //   k(0.375) = 1.5 t^3 - 2.5 t^2 + 1 = 0.727539...
    //   k(1.375) = -0.5 t^3 + 2.5 t^2 - 4 t + 2 = -0.073242...
    // and all taps sum to 4 (the kernel stretched by 4), so its weight is (k1 + k2) / 4.
    let mut img = Planes::new(1, 1, 8);
    img.data[3] = 1.0;
    let out = resize(&img, 1, 2, Edge::Mirror);
    let near = |t: f64| 1.5 * t.powi(3) - 2.5 * t * t + 1.0;
    let far = |t: f64| -0.5 * t.powi(3) + 2.5 * t * t - 4.0 * t + 2.0;
    let expect = (near(0.375) + far(1.375)) / 4.0;
    assert!(
        (out.data[0] as f64 - expect).abs() < 1e-6,
        "{} vs {expect}",
        out.data[0]
    );
}

#[test]
fn psnr_and_ssim_known_values() {
    // An error of exactly 1 everywhere: MSE 1, PSNR = 10 log10(255^2) = 48.1308 dB.
    let a: Vec<f64> = (0..100).map(|i| (i * 7 % 200) as f64).collect();
    let b: Vec<f64> = a
        .iter()
        .enumerate()
        .map(|(i, v)| if i % 2 == 0 { v + 1.0 } else { v - 1.0 })
        .collect();
    assert!((psnr(&a, &b) - 48.130_803_608).abs() < 1e-6);

    let (h, w) = (20, 24);
    let a: Vec<f64> = (0..h * w)
        .map(|i| ((i % w) * 3 + (i / w) * 5 + ((i % w) * (i / w)) % 7) as f64 % 40.0 * 5.0 + 16.0)
        .collect();
    let b: Vec<f64> = (0..h * w)
        .map(|i| a[i] + ((i % w) * 11 + (i / w) * 17) as f64 % 9.0 - 4.0)
        .collect();
    assert!(
        (ssim(&a, &b, h, w) - 0.998_771_837_2).abs() < 1e-6,
        "ssim {}",
        ssim(&a, &b, h, w)
    );
    assert!((ssim(&a, &a, h, w) - 1.0).abs() < 1e-12);

    // On RGB planes, with a window shrunk to fit an 8x12 image: a brighter copy.
    let p = pattern();
    let mut q = p.clone();
    q.data.iter_mut().for_each(|v| *v = (*v + 0.1).min(1.0));
    let (db, s) = psnr_ssim(&q, &p, 4);
    assert!(db > 10.0 && db < 30.0 && s < 1.0, "{db} {s}");
}

/// Identical images score 100 dB, not infinity, so that a set's mean stays a number.
#[test]
fn psnr_of_identical_images_is_capped() {
    use srgan_wgpu::imaging::metrics::psnr;
    let a = vec![100.0; 64];
    assert_eq!(psnr(&a, &a), 100.0);
    let mut b = a.clone();
    b[0] = 101.0;
    assert!((psnr(&a, &b) - 10.0 * (255.0f64 * 255.0 * 64.0).log10()).abs() < 1e-9);
}

/// The eight symmetries by hand on a 2x3 image, each undone by `undo`, on random planes that
/// are not square (a transpose that confused height and width would fail).
#[test]
fn symmetries_of_the_square() {
    use srgan_wgpu::imaging::symmetry::Symmetry;
    let mut p = Planes::new(1, 2, 3);
    p.data = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let moved: Vec<Vec<f32>> = Symmetry::ALL.iter().map(|s| s.apply(&p).data).collect();
    let expected: [[f32; 6]; 8] = [
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], // identity
        [3.0, 2.0, 1.0, 6.0, 5.0, 4.0], // mirrored left-right
        [4.0, 5.0, 6.0, 1.0, 2.0, 3.0], // mirrored top-bottom
        [6.0, 5.0, 4.0, 3.0, 2.0, 1.0], // turned 180 degrees
        [1.0, 4.0, 2.0, 5.0, 3.0, 6.0], // transposed (3x2)
        [4.0, 1.0, 5.0, 2.0, 6.0, 3.0], // turned 90 degrees clockwise
        [3.0, 6.0, 2.0, 5.0, 1.0, 4.0], // turned 90 degrees anticlockwise
        [6.0, 3.0, 5.0, 2.0, 4.0, 1.0], // mirrored on the other diagonal
    ];
    for (i, (got, want)) in moved.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "symmetry {i}: {:?}", Symmetry::ALL[i]);
    }
    let mut rng = srgan_wgpu::rng::Rng::new(9);
    let mut q = Planes::new(3, 5, 8);
    q.data.iter_mut().for_each(|v| *v = rng.uniform() as f32);
    for s in Symmetry::ALL {
        let a = s.apply(&q);
        let size = if s.transpose { (8, 5) } else { (5, 8) };
        assert_eq!((a.height, a.width), size, "{s:?}");
        assert_eq!(s.undo(&a), q, "{s:?}");
    }
}
