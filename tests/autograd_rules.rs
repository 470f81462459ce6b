//! The derivative rules of `autograd::ops` not exercised by the small-network test: each
//! function's tape gradient against the CPU reference backward of its op (itself checked
//! against finite differences in tests/ops.rs). Loss = sum(f(x) * r) for random r, so the
//! upstream gradient is r.

mod common;
use common::*;
use srgan_wgpu::autograd::{self as ag, Param, Tape, Var};
use srgan_wgpu::ops::{elementwise as ew, linear, lpips, pool, tv};
use srgan_wgpu::rng::Rng;
use srgan_wgpu::Gpu;
use std::sync::Arc;

/// Gradient of sum(f(x) * r) with respect to x, through the tape.
fn grad(gpu: &Gpu, x: &Arc<Param>, r: &[f64], f: impl Fn(&Tape, &Var) -> Var) -> Vec<f32> {
    x.zero_grad();
    let t = Tape::new();
    let y = f(&t, &t.param(x));
    let rt = upload(gpu, y.shape(), r);
    t.backward(&ag::sum(&t, &ag::mul(&t, &y, &t.constant(rt))));
    x.grad().expect("a gradient").to_vec()
}

fn param(gpu: &Gpu, shape: &[usize], v: &[f64]) -> Arc<Param> {
    Param::new("x", upload(gpu, shape, v))
}

#[test]
fn activation_and_arithmetic_rules() {
    let gpu = gpu();
    let mut rng = Rng::new(1);
    let n = 37;
    let xv: Vec<f64> = random(&mut rng, n).iter().map(|v| 3.0 * v).collect();
    let r = random(&mut rng, n);
    let x = param(&gpu, &[n], &xv);
    let tol =
        |name: &str, got: Vec<f32>, want: Vec<f64>| assert_close(name, &got, &want, 1e-4, 1e-5);
    tol(
        "leaky_relu",
        grad(&gpu, &x, &r, |t, v| ag::leaky_relu(t, v, 0.2)),
        ew::cpu::leaky_relu_backward(&xv, &r, 0.2),
    );
    tol(
        "relu",
        grad(&gpu, &x, &r, ag::relu),
        ew::cpu::leaky_relu_backward(&xv, &r, 0.0),
    );
    tol(
        "tanh",
        grad(&gpu, &x, &r, ag::tanh),
        ew::cpu::tanh_backward(&ew::cpu::tanh(&xv), &r),
    );
    tol(
        "sigmoid",
        grad(&gpu, &x, &r, ag::sigmoid),
        ew::cpu::sigmoid_backward(&ew::cpu::sigmoid(&xv), &r),
    );
    tol(
        "affine",
        grad(&gpu, &x, &r, |t, v| ag::affine(t, v, -1.5, 2.0)),
        r.iter().map(|g| -1.5 * g).collect(),
    );
    // x * x - x: 2x r - r, through mul (both sides), sub and add.
    let want: Vec<f64> = xv.iter().zip(&r).map(|(x, g)| 2.0 * x * g - g).collect();
    tol(
        "mul/sub",
        grad(&gpu, &x, &r, |t, v| ag::sub(t, &ag::mul(t, v, v), v)),
        want.clone(),
    );
    tol(
        "add",
        grad(&gpu, &x, &r, |t, v| {
            ag::add(t, &ag::mul(t, v, v), &ag::scale(t, v, -1.0))
        }),
        want,
    );
}

#[test]
fn loss_rules() {
    let gpu = gpu();
    let mut rng = Rng::new(2);
    let n = 30;
    let (av, bv) = (random(&mut rng, n), random(&mut rng, n));
    let a = param(&gpu, &[2, 3, 5, 1], &av);
    let b = upload(&gpu, &[2, 3, 5, 1], &bv);
    let one = [0.7];
    // mean: d/dx = r / n
    let g = grad(&gpu, &a, &one, ag::mean);
    assert_close("mean", &g, &vec![0.7 / n as f64; n], 1e-5, 1e-7);
    // mse: 2 (a - b) / n
    let g = grad(&gpu, &a, &one, |t, v| ag::mse(t, v, &t.constant(b.clone())));
    let want: Vec<f64> = av
        .iter()
        .zip(&bv)
        .map(|(a, b)| 0.7 * 2.0 * (a - b) / n as f64)
        .collect();
    assert_close("mse", &g, &want, 1e-4, 1e-7);
    // bce on logits against targets in {0, 1}: (sigmoid(x) - t) / n
    let targets: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
    let tt = upload(&gpu, &[2, 3, 5, 1], &targets);
    let g = grad(&gpu, &a, &one, |t, v| ag::bce_with_logits(t, v, &tt));
    let want: Vec<f64> = ew::cpu::bce_logits_backward(&av, &targets)
        .iter()
        .map(|g| 0.7 * g / n as f64)
        .collect();
    assert_close("bce", &g, &want, 1e-4, 1e-7);
    // total variation (of images: it needs height and width)
    let img = random(&mut rng, 2 * 3 * 4 * 5);
    let p = param(&gpu, &[2, 3, 4, 5], &img);
    let g = grad(&gpu, &p, &one, ag::total_variation);
    let want: Vec<f64> = tv::cpu::total_variation_backward(&img, 6, 4, 5)
        .iter()
        .map(|g| 0.7 * g)
        .collect();
    assert_close("tv", &g, &want, 1e-4, 1e-6);
}

/// The relativistic average GAN loss in f64: sum over the two kinds of the mean binary
/// cross-entropy of C(x) - mean C(y) against that kind's target.
fn relativistic_reference(real: &[f64], fake: &[f64], targets: (f64, f64)) -> f64 {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let bce = |x: f64, t: f64| x.max(0.0) - x * t + (-x.abs()).exp().ln_1p();
    let term = |a: &[f64], b: &[f64], t: f64| {
        let m = mean(b);
        a.iter().map(|&x| bce(x - m, t)).sum::<f64>() / a.len() as f64
    };
    term(real, fake, targets.0) + term(fake, real, targets.1)
}

/// broadcast's gradient is the sum of the upstream one; relativistic_bce's gradient with
/// respect to both kinds' logits, for the discriminator's targets and the generator's, is
/// the f64 reference's by central finite differences.
#[test]
fn relativistic_loss_rules() {
    let gpu = gpu();
    let mut rng = Rng::new(3);
    let r = random(&mut rng, 6);
    let x = param(&gpu, &[1], &[0.3]);
    let g = grad(&gpu, &x, &r, |t, v| ag::broadcast(t, v, &[2, 3]));
    assert_close("broadcast", &g, &[r.iter().sum()], 1e-5, 1e-6);

    let n = 7;
    let real: Vec<f64> = random(&mut rng, n).iter().map(|v| 3.0 * v).collect();
    let fake: Vec<f64> = random(&mut rng, n).iter().map(|v| 3.0 * v - 1.0).collect();
    let (ones, zeros) = (vec![1.0; n], vec![0.0; n]);
    for (targets, name) in [((1.0, 0.0), "discriminator"), ((0.0, 1.0), "generator")] {
        let tt = |v: f64| upload(&gpu, &[n, 1], if v == 1.0 { &ones } else { &zeros });
        let (rp, fp) = (param(&gpu, &[n, 1], &real), param(&gpu, &[n, 1], &fake));
        let t = Tape::new();
        let loss = ag::relativistic_bce(
            &t,
            &t.param(&rp),
            &t.param(&fp),
            &tt(targets.0),
            &tt(targets.1),
        );
        let want = relativistic_reference(&real, &fake, targets);
        assert_close(name, &loss.value.to_vec(), &[want], 1e-5, 1e-6);
        t.backward(&loss);
        let h = 1e-5;
        let numeric = |which: usize| -> Vec<f64> {
            (0..n)
                .map(|i| {
                    let at = |d: f64| {
                        let (mut a, mut b) = (real.clone(), fake.clone());
                        if which == 0 {
                            a[i] += d
                        } else {
                            b[i] += d
                        }
                        relativistic_reference(&a, &b, targets)
                    };
                    (at(h) - at(-h)) / (2.0 * h)
                })
                .collect()
        };
        let (dr, df) = (rp.grad().unwrap().to_vec(), fp.grad().unwrap().to_vec());
        assert_close(&format!("{name}: d/d real"), &dr, &numeric(0), 1e-4, 1e-6);
        assert_close(&format!("{name}: d/d fake"), &df, &numeric(1), 1e-4, 1e-6);
    }
}

#[test]
fn layer_rules() {
    let gpu = gpu();
    let mut rng = Rng::new(3);
    // linear: all three gradients, through flatten of a [3, 2, 5, 7] input.
    let (batch, inputs, outputs) = (3, 70, 11);
    let (xv, wv, bv) = (
        random(&mut rng, batch * inputs),
        random(&mut rng, outputs * inputs),
        random(&mut rng, outputs),
    );
    let r = random(&mut rng, batch * outputs);
    let x = param(&gpu, &[batch, 2, 5, 7], &xv);
    let w = Param::new("w", upload(&gpu, &[outputs, inputs], &wv));
    let b = Param::new("b", upload(&gpu, &[outputs], &bv));
    let t = Tape::new();
    let y = ag::linear(
        &t,
        &ag::flatten(&t, &t.param(&x)),
        &t.param(&w),
        Some(&t.param(&b)),
    );
    t.backward(&ag::sum(
        &t,
        &ag::mul(&t, &y, &t.constant(upload(&gpu, &[batch, outputs], &r))),
    ));
    let (dx, dw, db) = linear::cpu::linear_backward(&xv, &wv, &r, batch, inputs, outputs);
    assert_eq!(x.grad().unwrap().shape(), [batch, 2, 5, 7]);
    assert_close("linear dx", &x.grad().unwrap().to_vec(), &dx, 1e-4, 1e-5);
    assert_close("linear dw", &w.grad().unwrap().to_vec(), &dw, 1e-4, 1e-5);
    assert_close("linear db", &b.grad().unwrap().to_vec(), &db, 1e-4, 1e-5);

    // max pool
    let xv = random(&mut rng, 2 * 3 * 6 * 5);
    let r = random(&mut rng, 2 * 3 * 3 * 2);
    let x = param(&gpu, &[2, 3, 6, 5], &xv);
    assert_close(
        "max_pool",
        &grad(&gpu, &x, &r, |t, v| ag::max_pool(t, v, 2, 2)),
        &pool::cpu::max_pool_backward(&xv, 6, (6, 5), 2, 2, &r),
        0.0,
        0.0,
    );
    let r = random(&mut rng, 2 * 3 * 2 * 2);
    assert_close(
        "max_pool 3/2",
        &grad(&gpu, &x, &r, |t, v| ag::max_pool(t, v, 3, 2)),
        &pool::cpu::max_pool_backward(&xv, 6, (6, 5), 3, 2, &r),
        1e-6,
        1e-7,
    );

    // LPIPS' distance: gradients to both feature maps, the head a constant.
    let (c, plane) = (5, 6);
    let (av, bv) = (
        random(&mut rng, 2 * c * plane),
        random(&mut rng, 2 * c * plane),
    );
    let head: Vec<f64> = random(&mut rng, c).iter().map(|v| v.abs()).collect();
    let r = random(&mut rng, 2 * plane);
    let b = param(&gpu, &[2, c, 2, 3], &bv);
    let headt = upload(&gpu, &[c], &head);
    let a = param(&gpu, &[2, c, 2, 3], &av);
    let da = grad(&gpu, &a, &r, |t, v| {
        ag::lpips_distance(t, v, &t.param(&b), &headt)
    });
    let db = b.grad().expect("a gradient").to_vec();
    let (wa, wb) = lpips::cpu::distance_backward(&av, &bv, &head, plane, &r);
    assert_close("lpips da", &da, &wa, 1e-4, 1e-5);
    assert_close("lpips db", &db, &wb, 1e-4, 1e-5);

    // batch norm in inference mode: a per-channel affine map with the running statistics.
    let (n, c, hw) = (2, 3, 4);
    let xv = random(&mut rng, n * c * hw);
    let r = random(&mut rng, n * c * hw);
    let (gamma, beta) = (random(&mut rng, c), random(&mut rng, c));
    let (rm, rv) = (
        random(&mut rng, c),
        random(&mut rng, c)
            .iter()
            .map(|v| v + 1.5)
            .collect::<Vec<_>>(),
    );
    let x = param(&gpu, &[n, c, 2, 2], &xv);
    let g = Param::new("g", upload(&gpu, &[c], &gamma));
    let bb = Param::new("b", upload(&gpu, &[c], &beta));
    let (rmt, rvt) = (upload(&gpu, &[c], &rm), upload(&gpu, &[c], &rv));
    let t = Tape::new();
    let y = ag::batch_norm_eval(
        &t,
        &t.param(&x),
        &t.param(&g),
        &t.param(&bb),
        &rmt,
        &rvt,
        1e-5,
    );
    t.backward(&ag::sum(
        &t,
        &ag::mul(&t, &y, &t.constant(upload(&gpu, &[n, c, 2, 2], &r))),
    ));
    let ch = |i: usize| (i / hw) % c;
    let inv = |k: usize| 1.0 / (rv[k] + 1e-5f64).sqrt();
    let dx: Vec<f64> = (0..xv.len())
        .map(|i| r[i] * gamma[ch(i)] * inv(ch(i)))
        .collect();
    let mut dg = vec![0.0; c];
    let mut db = vec![0.0; c];
    for i in 0..xv.len() {
        dg[ch(i)] += r[i] * (xv[i] - rm[ch(i)]) * inv(ch(i));
        db[ch(i)] += r[i];
    }
    assert_close("bn eval dx", &x.grad().unwrap().to_vec(), &dx, 1e-4, 1e-5);
    assert_close(
        "bn eval dgamma",
        &g.grad().unwrap().to_vec(),
        &dg,
        1e-4,
        1e-5,
    );
    assert_close(
        "bn eval dbeta",
        &bb.grad().unwrap().to_vec(),
        &db,
        1e-4,
        1e-5,
    );
}

/// Batch norm and PReLU as one op in training (`BatchNorm2d::forward_prelu`) against the two
/// layers' own rules on a twin pair of layers: output, the gradients of x, gamma, beta and
/// the slopes (in the tape's order), the running statistics and the batch count; in eval mode
/// it is the two layers.
#[test]
fn batch_norm_then_prelu_rule_matches_the_two_rules() {
    use srgan_wgpu::nn::{BatchNorm2d, PRelu};
    use std::sync::atomic::Ordering::Relaxed;
    let gpu = gpu();
    let mut rng = Rng::new(7);
    let (n, c, h, w) = (2, 3, 5, 4);
    let xv: Vec<f64> = random(&mut rng, n * c * h * w)
        .iter()
        .map(|v| 1.0 + 2.0 * v)
        .collect();
    let r = random(&mut rng, xv.len());
    let [gamma, beta, slope] = [0; 3].map(|_| random(&mut rng, c));
    let as_f32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<_>>();
    let twin = || {
        let bn = BatchNorm2d::new(&gpu, "bn", c);
        let prelu = PRelu::new(&gpu, "prelu", c);
        bn.weight.value().write(&as_f32(&gamma));
        bn.bias.value().write(&as_f32(&beta));
        prelu.weight.value().write(&as_f32(&slope));
        (bn, prelu)
    };
    for training in [true, false] {
        let mut results = Vec::new();
        for fused in [true, false] {
            let (bn, prelu) = twin();
            let x = param(&gpu, &[n, c, h, w], &xv);
            let t = Tape::new();
            let xv = t.param(&x);
            let y = if fused {
                bn.forward_prelu(&t, &xv, training, &t.param(&prelu.weight))
            } else {
                prelu.forward(&t, &bn.forward(&t, &xv, training))
            };
            let rt = t.constant(upload(&gpu, y.shape(), &r));
            let out = y.value.to_vec();
            t.backward(&ag::sum(&t, &ag::mul(&t, &y, &rt)));
            let grads: Vec<Vec<f32>> = [&x, &bn.weight, &bn.bias, &prelu.weight]
                .iter()
                .map(|p| p.grad().expect("a gradient").to_vec())
                .collect();
            let running = [bn.running_mean.to_vec(), bn.running_var.to_vec()];
            results.push((out, grads, running, bn.batches_tracked.load(Relaxed)));
        }
        let (fused, plain) = (&results[0], &results[1]);
        let f64s = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
        let mode = if training { "training" } else { "eval" };
        assert_close(&format!("{mode} y"), &fused.0, &f64s(&plain.0), 1e-4, 1e-5);
        for (i, name) in ["dx", "dgamma", "dbeta", "dslope"].iter().enumerate() {
            let what = format!("{mode} {name}");
            assert_close(&what, &fused.1[i], &f64s(&plain.1[i]), 1e-3, 1e-4);
        }
        for i in 0..2 {
            let what = format!("{mode} running statistics");
            assert_close(&what, &fused.2[i], &f64s(&plain.2[i]), 1e-5, 1e-6);
        }
        assert_eq!(fused.3, plain.3, "{mode}: batches tracked");
    }
}
