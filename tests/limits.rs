//! Work larger than one storage binding or one dispatch dimension. The real limits are too
//! large to reach on a small machine (hundreds of MiB), so most checks lower them with
//! `Gpu::set_test_limits`; one dispatch passes the adapter's real 65535-workgroup limit.

mod common;
use common::*;
use srgan_wgpu::ops::{
    batchnorm, conv, elementwise as ew, pixel_shuffle as ps, pool, prelu, reduce,
};
use srgan_wgpu::rng::Rng;

const SMALL_BINDING: u64 = 16 << 10; // 4096 floats

#[test]
fn elementwise_ops_and_sums_past_the_binding_limit() {
    let gpu = gpu();
    gpu.set_test_limits(SMALL_BINDING, 7);
    let mut rng = Rng::new(1);
    let n = 50_001; // 13 bindings' worth, dispatched over x and y (7 groups per dimension)
    let (a, b) = (random(&mut rng, n), random(&mut rng, n));
    let (at, bt) = (upload(&gpu, &[n], &a), upload(&gpu, &[n], &b));
    let sum: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + 2.0 * y).collect();
    assert_close(
        "axpby",
        &ew::axpby(1.0, &at, 2.0, &bt).to_vec(),
        &sum,
        1e-6,
        1e-6,
    );
    assert_close(
        "leaky",
        &ew::leaky_relu(&at, 0.2).to_vec(),
        &ew::cpu::leaky_relu(&a, 0.2),
        1e-6,
        1e-7,
    );
    let total: f64 = a.iter().sum();
    assert_close("sum", &reduce::sum(&at, 1.0).to_vec(), &[total], 1e-4, 1e-3);
    // In place, last: `at` becomes a + 0.25 (b - a).
    ew::average_into(&at, &bt, 0.25);
    let mut avg = a.clone();
    ew::cpu::average_into(&mut avg, &b, 0.25);
    assert_close("average_into", &at.to_vec(), &avg, 1e-6, 1e-6);
}

#[test]
fn per_channel_ops_past_the_binding_limit() {
    let gpu = gpu();
    gpu.set_test_limits(SMALL_BINDING, 65535);
    let mut rng = Rng::new(2);
    let (n, c, h, w) = (2, 13, 23, 19); // 11362 values: three bindings
    let x = random(&mut rng, n * c * h * w);
    let xt = upload(&gpu, &[n, c, h, w], &x);
    let s = random(&mut rng, c);
    let st = upload(&gpu, &[c], &s);
    assert_close(
        "prelu",
        &prelu::prelu(&xt, &st).to_vec(),
        &prelu::cpu::prelu(&x, c, h * w, &s),
        1e-6,
        1e-7,
    );
    let (mean, var) = (
        random(&mut rng, c),
        random(&mut rng, c)
            .iter()
            .map(|v| v + 1.5)
            .collect::<Vec<_>>(),
    );
    let (g, b) = (random(&mut rng, c), random(&mut rng, c));
    let t = |v: &[f64]| upload(&gpu, &[c], v);
    let y = batchnorm::batch_norm_apply(&xt, &t(&mean), &t(&var), &t(&g), &t(&b), 1e-5);
    let expect: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let ch = (i / (h * w)) % c;
            (v - mean[ch]) / (var[ch] + 1e-5).sqrt() * g[ch] + b[ch]
        })
        .collect();
    assert_close("batch norm apply", &y.to_vec(), &expect, 1e-4, 1e-4);
}

#[test]
fn convolution_of_a_batch_past_the_binding_limit() {
    let gpu = gpu();
    gpu.set_test_limits(SMALL_BINDING, 65535);
    // Each image (3 x 17 x 13 in, 5 or 3 x 17 x 13 out) fits a binding; the batch of 5 does
    // not, and the images start at unaligned offsets. 5 output channels take the GEMM, 3 the
    // direct kernels (both variants: software and hardware adapters).
    for (cout, software) in [(5, true), (3, true), (3, false)] {
        gpu.set_software(software);
        let mut rng = Rng::new(3);
        let (xs, ws) = ([5, 3, 17, 13], [cout, 3, 3, 3]);
        let x = random(&mut rng, xs.iter().product());
        let w = random(&mut rng, ws.iter().product());
        let (xt, wt) = (upload(&gpu, &xs, &x), upload(&gpu, &ws, &w));
        let y = conv::cpu::conv2d(&x, xs, &w, ws, None, 1, 1);
        let yt = conv::conv2d(&xt, &wt, None, 1, 1);
        let what = format!("conv to {cout} channels (software: {software})");
        assert_close(&what, &yt.to_vec(), &y, 1e-4, 1e-4);
        let dy = random(&mut rng, y.len());
        let dyt = upload(&gpu, yt.shape(), &dy);
        let (dx, dw, _) = conv::cpu::conv2d_backward(&x, xs, &w, ws, &dy, 1, 1);
        assert_close(
            &format!("{what} dx"),
            &conv::conv2d_backward_input(&dyt, &wt, &xs, 1, 1).to_vec(),
            &dx,
            1e-4,
            1e-4,
        );
        assert_close(
            &format!("{what} dw"),
            &conv::conv2d_backward_weight(&dyt, &xt, &ws, 1, 1).to_vec(),
            &dw,
            1e-4,
            1e-3,
        );
    }
}

#[test]
fn pixel_shuffle_of_a_batch_past_the_binding_limit() {
    let gpu = gpu();
    gpu.set_test_limits(SMALL_BINDING, 65535);
    let mut rng = Rng::new(6);
    // 13 images of 8 x 8 x 12 values (768, a multiple of any storage offset alignment): 9984
    // values, moved five images at a time (3840 values), the last run of three.
    let (n, c, h, w, r) = (13, 2, 8, 12, 2);
    let x = random(&mut rng, n * c * r * r * h * w);
    let xt = upload(&gpu, &[n, c * r * r, h, w], &x);
    assert_close(
        "pixel shuffle",
        &ps::pixel_shuffle(&xt, r).to_vec(),
        &ps::cpu::pixel_shuffle(&x, n, c, h, w, r),
        1e-6,
        1e-7,
    );
    let dy = random(&mut rng, x.len());
    let dyt = upload(&gpu, &[n, c, h * r, w * r], &dy);
    assert_close(
        "pixel unshuffle",
        &ps::pixel_unshuffle(&dyt, r).to_vec(),
        &ps::cpu::pixel_shuffle_backward(&dy, n, c, h, w, r),
        1e-6,
        1e-7,
    );
}

#[test]
fn sums_over_a_batch_past_the_binding_limit() {
    let gpu = gpu();
    gpu.set_test_limits(SMALL_BINDING, 65535);
    let mut rng = Rng::new(7);
    // 200 images of 3 x 3 x 7 values (63, odd, so that a run must hold a multiple of the
    // storage offset alignment in images for the next one to start aligned; at most 64, so
    // that such a run fits 4096 values whatever the alignment, up to 256 bytes): 12600
    // values, summed over four runs of whole images.
    let (n, c, h, w) = (200, 3, 3, 7);
    let x = random(&mut rng, n * c * h * w);
    let dy = random(&mut rng, x.len());
    let xt = upload(&gpu, &[n, c, h, w], &x);
    let dyt = upload(&gpu, &[n, c, h, w], &dy);
    for slopes in [c, 1] {
        let s = random(&mut rng, slopes);
        let st = upload(&gpu, &[slopes], &s);
        let (dx, ds) = prelu::prelu_backward(&xt, &st, &dyt);
        let (want_dx, want_ds) = prelu::cpu::prelu_backward(&x, c, h * w, &s, &dy);
        let what = format!("prelu backward ({slopes} slopes)");
        assert_close(&format!("{what} dx"), &dx.to_vec(), &want_dx, 1e-6, 1e-7);
        assert_close(
            &format!("{what} dslope"),
            &ds.to_vec(),
            &want_ds,
            1e-4,
            1e-4,
        );
    }
    assert_close(
        "channel sum (a convolution's bias gradient)",
        &reduce::channel_sum(&dyt, n, c, h * w).to_vec(),
        &reduce::cpu::channel_sum(&dy, n, c, h * w),
        1e-4,
        1e-4,
    );
}

#[test]
fn batch_norm_of_a_batch_past_the_binding_limit() {
    let gpu = gpu();
    gpu.set_test_limits(SMALL_BINDING, 65535);
    let mut rng = Rng::new(8);
    // 200 images of 63 values, as for the sums above: runs of unequal sizes wherever the
    // alignment is below 256 bytes (on lavapipe 64, 64, 64 and 8 images), so a wrong weight
    // shows. x is centred away from zero and drifts from image to image, so that the runs'
    // means differ: the batch's variance is more than the mean of the runs' variances. dy
    // drifts too, so that the runs' gradient sums differ as well.
    let (n, c, h, w) = (200, 3, 3, 7);
    let (hw, eps) = (h * w, 1e-5);
    let x: Vec<f64> = random(&mut rng, n * c * hw)
        .iter()
        .enumerate()
        .map(|(i, v)| 3.0 + 2.0 * v + (i / (c * hw)) as f64 / 50.0)
        .collect();
    let dy: Vec<f64> = random(&mut rng, x.len())
        .iter()
        .enumerate()
        .map(|(i, v)| v + (i / (c * hw)) as f64 / 100.0)
        .collect();
    let [gamma, beta, slope] = [0; 3].map(|_| random(&mut rng, c));
    let (z, mean, var) = batchnorm::cpu::batch_norm_train(&x, n, c, hw, &gamma, &beta, eps);
    let (dx, dg, db) =
        batchnorm::cpu::batch_norm_backward(&x, &dy, n, c, hw, &gamma, &mean, &var, eps);
    let y = prelu::cpu::prelu(&z, c, hw, &slope);
    let (dz, ds) = prelu::cpu::prelu_backward(&z, c, hw, &slope, &dy);
    let (dx_fused, dg_fused, db_fused) =
        batchnorm::cpu::batch_norm_backward(&x, &dz, n, c, hw, &gamma, &mean, &var, eps);

    let shape = [n, c, h, w];
    let (xt, dyt) = (upload(&gpu, &shape, &x), upload(&gpu, &shape, &dy));
    let [gt, bt, st] = [&gamma, &beta, &slope].map(|v| upload(&gpu, &[c], v));
    // f32 sums over 4200 values a channel, and the runs' pooling: errors near 1e-7 measured;
    // 1e-5 leaves room for other adapters' summation orders and still fails a wrong weight or
    // count by a factor of ten or more.
    let close = |what: &str, got: &srgan_wgpu::Tensor, want: &[f64]| {
        assert_close(what, &got.to_vec(), want, 1e-5, 1e-5);
    };
    let (zt, mt, vt) = batchnorm::batch_norm_train(&xt, &gt, &bt, eps as f32);
    close("batch norm", &zt, &z);
    close("batch norm mean", &mt, &mean);
    close("batch norm variance", &vt, &var);
    let (dxt, dgt, dbt) = batchnorm::batch_norm_backward(&xt, &dyt, &mt, &vt, &gt, eps as f32);
    close("batch norm dx", &dxt, &dx);
    close("batch norm dgamma", &dgt, &dg);
    close("batch norm dbeta", &dbt, &db);

    let (yt, mt, vt) = batchnorm::batch_norm_prelu_train(&xt, &gt, &bt, &st, eps as f32);
    close("bn+prelu", &yt, &y);
    close("bn+prelu mean", &mt, &mean);
    close("bn+prelu variance", &vt, &var);
    let (dxt, dgt, dbt, dst) =
        batchnorm::batch_norm_prelu_backward(&xt, &dyt, &mt, &vt, &gt, &bt, &st, eps as f32);
    close("bn+prelu dx", &dxt, &dx_fused);
    close("bn+prelu dgamma", &dgt, &dg_fused);
    close("bn+prelu dbeta", &dbt, &db_fused);
    close("bn+prelu dslope", &dst, &ds);
}

#[test]
fn max_pool_of_a_batch_past_the_binding_limit() {
    let gpu = gpu();
    gpu.set_test_limits(SMALL_BINDING, 65535);
    let mut rng = Rng::new(8);
    // 150 images of 1 x 5 x 7 values (35 in, 6 out; odd, as in the test above): 5250 values
    // in, pooled a run of whole images at a time, each run starting aligned in both x and y.
    let (n, c, h, w) = (150, 1, 5, 7);
    let x = random(&mut rng, n * c * h * w);
    let xt = upload(&gpu, &[n, c, h, w], &x);
    for (window, stride) in [(2, 2), (3, 2)] {
        let what = format!("max pool {window}/{stride}");
        let (y, _) = pool::cpu::max_pool(&x, n * c, (h, w), window, stride);
        let yt = pool::max_pool(&xt, window, stride);
        assert_close(&what, &yt.to_vec(), &y, 0.0, 0.0);
        let dy = random(&mut rng, y.len());
        let dyt = upload(&gpu, yt.shape(), &dy);
        assert_close(
            &format!("{what} backward"),
            &pool::max_pool_backward(&xt, &dyt, window, stride).to_vec(),
            &pool::cpu::max_pool_backward(&x, n * c, (h, w), window, stride, &dy),
            1e-6,
            1e-6,
        );
    }
}

#[test]
fn a_dispatch_past_65535_workgroups() {
    let gpu = gpu();
    let max = gpu.max_groups() as usize;
    let n = (max + 10) * 256; // one more row of workgroups than x can hold
    let a: Vec<f32> = (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    let at = srgan_wgpu::Tensor::from_slice(&gpu, &[n], &a);
    let y = ew::relu(&at).to_vec();
    let bad = (0..n).find(|&i| y[i] != a[i].max(0.0));
    assert_eq!(bad, None, "first wrong element");
}

/// Reading back tensors of ever new sizes (a folder of varied images) keeps a bounded number
/// of read-back buffers, and reads stay right.
#[test]
fn readback_buffers_stay_bounded() {
    let gpu = gpu();
    for n in 1..=40 {
        let data: Vec<f32> = (0..n * 37).map(|i| i as f32).collect();
        let t = srgan_wgpu::Tensor::from_slice(&gpu, &[n * 37], &data);
        assert_eq!(t.to_vec(), data);
    }
    let (count, _) = gpu.readback_cache();
    assert!(count <= 16, "{count} read-back buffers kept");
}

/// An op that needs its tensor, or one image of it, in one binding stops past the limit with
/// an `Error`, the payload the binary prints as one line, not an assertion.
#[test]
fn one_binding_ops_past_the_limit_stop_with_an_error() {
    let gpu = gpu();
    gpu.set_test_limits(SMALL_BINDING, 65535);
    let mut rng = Rng::new(5);
    let (n, c, h, w) = (2, 3, 40, 40); // 9600 values: past 4096
    let x = upload(&gpu, &[n, c, h, w], &random(&mut rng, n * c * h * w));
    let ones = upload(&gpu, &[c], &[1.0; 3]);
    let zeros = upload(&gpu, &[c], &[0.0; 3]);
    // Batch norm and max pooling split a batch into runs of whole images, but one of these
    // images alone is past the limit.
    let ops: [(&str, &dyn Fn()); 2] = [
        ("batch norm", &|| {
            batchnorm::batch_norm_train(&x, &ones, &zeros, 1e-5);
        }),
        ("max pool", &|| {
            pool::max_pool(&x, 2, 2);
        }),
    ];
    for (what, op) in ops {
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(op))
            .expect_err("past the binding limit the op must stop");
        let error = unwound
            .downcast::<srgan_wgpu::Error>()
            .expect("an Error payload");
        assert!(
            error.0.contains("storage binding limit") && !error.0.contains('\n'),
            "{what}: {error}"
        );
    }
}

#[test]
fn lpips_of_an_image_past_the_binding_limit() {
    use srgan_wgpu::imaging::Planes;
    use srgan_wgpu::models::lpips::{Lpips, TILE_MARGIN};
    let gpu = gpu();
    let net = Lpips::new(&gpu, 7, 0.125);
    // A smooth picture with noise, and a noisier copy of it: 400 x 360 pixels.
    let mut rng = Rng::new(12);
    let (h, w) = (360, 400);
    let mut a = Planes::new(3, h, w);
    for (i, v) in a.data.iter_mut().enumerate() {
        let (y, x) = ((i / w) % h, i % w);
        let wave = (0.05 * x as f64 + 0.03 * y as f64 + (i / (h * w)) as f64).sin();
        *v = (0.5 + 0.3 * wave + rng.range(-0.1, 0.1)) as f32;
    }
    let mut b = a.clone();
    b.data
        .iter_mut()
        .for_each(|v| *v = (*v + rng.range(-0.15, 0.15) as f32).clamp(0.0, 1.0));
    let whole = net.distance(&a, &b).unwrap();
    assert!(whole > 0.01, "{whole}");

    // Tiles of 320 (cores of 128): the second and third in each direction are whole, with
    // margins of the image before and after; the last are cut off by the image's border, at
    // sides that are no multiple of 16. Every layer's distance at every position is the whole
    // image's. (With margins of 48 pixels before the cores, the fourth layer is off by 3%
    // at some positions.)
    let side = 2 * TILE_MARGIN + 128;
    let maps = net.distance_maps(&a, &b).unwrap();
    let tiled = net.distance_maps_in_tiles(&a, &b, side).unwrap();
    for (layer, ((h, w, want), (th, tw, got))) in maps.iter().zip(&tiled).enumerate() {
        assert_eq!((h, w), (th, tw), "layer {layer}");
        let want: Vec<f64> = want.iter().map(|&v| v as f64).collect();
        assert_close(&format!("layer {layer} in tiles"), got, &want, 1e-5, 1e-7);
    }

    // At a binding limit that the whole image exceeds and a tile of 320 fills exactly (as
    // the convolutions bind it: one alignment less), `distance` takes those tiles by itself;
    // below what a tile needs, one line.
    let tile_values = 3 * side * side + gpu.align_elements();
    gpu.set_test_limits((tile_values * 4) as u64, 65535);
    assert_eq!(net.tile_side(h, w).unwrap(), Some(side));
    let limited = net.distance(&a, &b).unwrap();
    assert_close("lpips in tiles", &[limited as f32], &[whole], 1e-6, 0.0);
    gpu.set_test_limits(400 << 10, 65535);
    let err = net.distance(&a, &b).unwrap_err().to_string();
    assert!(
        err.contains("too large for LPIPS") && err.contains("tiles"),
        "{err}"
    );

    // At full width the first layer's output (16 bytes a pixel) is the largest tensor, and
    // the weights (conv4's: 3.4 MiB) must fit too.
    let full = Lpips::new(&gpu, 7, 1.0);
    gpu.set_test_limits(4 << 20, 65535);
    let room = (4 << 20) / 4 - gpu.align_elements();
    let first = |s: usize| 64 * ((s + 4 - 11) / 4 + 1).pow(2);
    let side = full.tile_side(2000, 2000).unwrap().expect("tiles");
    assert!(first(side) <= room && first(side + 16) > room, "{side}");
    gpu.set_test_limits(3 << 20, 65535);
    assert!(full.tile_side(2000, 2000).is_err());
}
