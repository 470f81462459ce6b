//! The tape and a small network trained end to end, GPU against a CPU reference step by step.

mod common;
use common::*;
use srgan_wgpu::autograd::{self as ag, Tape};
use srgan_wgpu::nn::{BatchNorm2d, Conv2d, Module, PRelu};
use srgan_wgpu::ops::{batchnorm, conv, pixel_shuffle, prelu};
use srgan_wgpu::optim::{self, Adam};
use srgan_wgpu::rng::Rng;
use srgan_wgpu::{Gpu, Tensor};

/// A node index means nothing on another tape: using a value there must stop the program
/// with a clear message, not give gradients of whatever node has that index.
#[test]
#[should_panic(expected = "recorded on another tape")]
fn values_from_another_tape_are_refused() {
    let gpu = gpu();
    let mut rng = Rng::new(2);
    let layer = Conv2d::new(&gpu, &mut rng, "c", 2, 3, 3, 1, true);
    let x = upload(&gpu, &[1, 2, 5, 4], &random(&mut rng, 40));
    let first = Tape::new();
    let y = layer.forward(&first, &first.constant(x));
    let second = Tape::new();
    let _ = second.param(&layer.weight);
    ag::mean(&second, &ag::mul(&second, &y, &y));
}

#[test]
fn gradients_accumulate_until_zeroed_and_detach_stops_them() {
    let gpu = gpu();
    let mut rng = Rng::new(1);
    let layer = Conv2d::new(&gpu, &mut rng, "c", 2, 3, 3, 1, true);
    let x = upload(&gpu, &[1, 2, 5, 4], &random(&mut rng, 40));
    let once = |tape: &Tape| {
        let y = layer.forward(tape, &tape.constant(x.clone()));
        ag::mean(tape, &ag::mul(tape, &y, &y))
    };
    let tape = Tape::new();
    tape.backward(&once(&tape));
    let g1 = layer.weight.grad().unwrap().to_vec();
    let tape = Tape::new();
    tape.backward(&once(&tape));
    let g2 = layer.weight.grad().unwrap().to_vec();
    let doubled: Vec<f64> = g1.iter().map(|&v| 2.0 * v as f64).collect();
    assert_close("accumulated gradient", &g2, &doubled, 1e-5, 1e-7);
    assert!(
        g1.iter().any(|&v| v.abs() > 1e-3),
        "the gradient should not be zero"
    );

    layer.zero_grad();
    assert!(layer.weight.grad().is_none());
    let tape = Tape::new();
    let y = layer.forward(&tape, &tape.constant(x.clone())).detach();
    let loss = ag::mean(&tape, &ag::mul(&tape, &y, &y));
    assert!(!loss.requires_grad());
    tape.backward(&loss);
    assert!(
        layer.weight.grad().is_none(),
        "no gradient may pass a detached value"
    );

    let tape = Tape::inference();
    let loss = once(&tape);
    assert!(!loss.requires_grad(), "an inference tape records nothing");
}

/// A frozen layer (the discriminator while the generator learns) passes gradients on to what
/// feeds it and gets none itself; the layer before it gets the same gradient as when nothing
/// is frozen.
#[test]
fn frozen_parameters_pass_gradients_on_and_get_none() {
    let gpu = gpu();
    let mut rng = Rng::new(2);
    let first = Conv2d::new(&gpu, &mut rng, "first", 2, 3, 3, 1, true);
    let second = Conv2d::new(&gpu, &mut rng, "second", 3, 2, 3, 1, true);
    let x = upload(&gpu, &[1, 2, 5, 4], &random(&mut rng, 40));
    let run = |freeze: bool| {
        let tape = Tape::new();
        if freeze {
            tape.freeze(&second.params());
        }
        let h = first.forward(&tape, &tape.constant(x.clone()));
        let y = second.forward(&tape, &h);
        tape.backward(&ag::mean(&tape, &ag::mul(&tape, &y, &y)));
        let g = first.weight.grad().unwrap().to_vec();
        first.zero_grad();
        g
    };
    let free = run(false);
    assert!(second.weight.grad().is_some());
    second.zero_grad();
    let frozen = run(true);
    assert!(
        second.weight.grad().is_none() && second.bias.as_ref().unwrap().grad().is_none(),
        "a frozen parameter got a gradient"
    );
    let free: Vec<f64> = free.iter().map(|&v| v as f64).collect();
    assert!(
        free.iter().any(|v| v.abs() > 1e-3),
        "the gradient should not be zero"
    );
    assert_close(
        "gradient through a frozen layer",
        &frozen,
        &free,
        1e-6,
        1e-9,
    );
}

/// conv 3x3 (3 -> 8) + batch norm + PReLU + pixel shuffle x2 + conv 3x3 (2 -> 3): a tiny
/// SRResNet, with its parameters.
struct Tiny {
    c1: Conv2d,
    bn: BatchNorm2d,
    act: PRelu,
    c2: Conv2d,
}

impl Tiny {
    fn new(gpu: &Gpu, seed: u64) -> Tiny {
        let mut rng = Rng::new(seed);
        Tiny {
            c1: Conv2d::new(gpu, &mut rng, "c1", 3, 8, 3, 1, true),
            bn: BatchNorm2d::new(gpu, "bn", 8),
            act: PRelu::new(gpu, "act", 8),
            c2: Conv2d::new(gpu, &mut rng, "c2", 2, 3, 3, 1, true),
        }
    }

    fn forward(&self, t: &Tape, x: &Tensor) -> ag::Var {
        let h = self.c1.forward(t, &t.constant(x.clone()));
        let h = self.bn.forward(t, &h, true);
        let h = self.act.forward(t, &h);
        let h = ag::pixel_shuffle(t, &h, 2);
        self.c2.forward(t, &h)
    }
}

impl Module for Tiny {
    fn entries(&self) -> Vec<srgan_wgpu::nn::Entry> {
        [
            self.c1.entries(),
            self.bn.entries(),
            self.act.entries(),
            self.c2.entries(),
        ]
        .concat()
    }
}

/// The same network on the CPU in f64: parameters in the order of `Tiny::params`.
fn cpu_step(
    p: &mut [Vec<f64>],
    m: &mut [Vec<f64>],
    v: &mut [Vec<f64>],
    x: &[f64],
    target: &[f64],
    step: i32,
    lr: f64,
) -> f64 {
    let (xs, w1s, w2s) = ([2, 3, 7, 5], [8, 3, 3, 3], [3, 2, 3, 3]);
    let c1 = conv::cpu::conv2d(x, xs, &p[0], w1s, Some(&p[1]), 1, 1);
    let (bn, mean, var) = batchnorm::cpu::batch_norm_train(&c1, 2, 8, 35, &p[2], &p[3], 1e-5);
    let act = prelu::cpu::prelu(&bn, 8, 35, &p[4]);
    let s = pixel_shuffle::cpu::pixel_shuffle(&act, 2, 2, 7, 5, 2);
    let y = conv::cpu::conv2d(&s, [2, 2, 14, 10], &p[5], w2s, Some(&p[6]), 1, 1);
    let n = y.len() as f64;
    let loss = y
        .iter()
        .zip(target)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        / n;
    let dy: Vec<f64> = y
        .iter()
        .zip(target)
        .map(|(a, b)| 2.0 * (a - b) / n)
        .collect();
    let (ds, dw2, db2) = conv::cpu::conv2d_backward(&s, [2, 2, 14, 10], &p[5], w2s, &dy, 1, 1);
    let dact = pixel_shuffle::cpu::pixel_shuffle_backward(&ds, 2, 2, 7, 5, 2);
    let (dbn, dslope) = prelu::cpu::prelu_backward(&bn, 8, 35, &p[4], &dact);
    let (dc1, dg, db) =
        batchnorm::cpu::batch_norm_backward(&c1, &dbn, 2, 8, 35, &p[2], &mean, &var, 1e-5);
    let (_, dw1, db1) = conv::cpu::conv2d_backward(x, xs, &p[0], w1s, &dc1, 1, 1);
    let grads = [dw1, db1, dg, db, dslope, dw2, db2];
    for (i, g) in grads.iter().enumerate() {
        optim::cpu::adam(
            &mut p[i], &mut m[i], &mut v[i], g, lr, 0.9, 0.999, 1e-8, step,
        );
    }
    loss
}

#[test]
fn small_network_trains_and_follows_the_cpu_reference() {
    let gpu = gpu();
    let net = Tiny::new(&gpu, 2);
    let mut rng = Rng::new(3);
    let x = random(&mut rng, 2 * 3 * 7 * 5);
    let xt = upload(&gpu, &[2, 3, 7, 5], &x);
    // A target the network can reach: what another network of the same shape makes of x.
    let teacher = Tiny::new(&gpu, 99);
    let tt = teacher.forward(&Tape::inference(), &xt).value;
    let target: Vec<f64> = tt.to_vec().iter().map(|&v| v as f64).collect();

    let mut cpu_p: Vec<Vec<f64>> = net
        .params()
        .iter()
        .map(|p| p.value().to_vec().iter().map(|&v| v as f64).collect())
        .collect();
    let mut cpu_m: Vec<Vec<f64>> = cpu_p.iter().map(|p| vec![0.0; p.len()]).collect();
    let mut cpu_v = cpu_m.clone();
    let lr = 1e-2;
    let mut adam = Adam::new(net.params(), lr as f32);
    let mut losses = Vec::new();
    for step in 1..=40 {
        let tape = Tape::new();
        let y = net.forward(&tape, &xt);
        let loss = ag::mse(&tape, &y, &tape.constant(tt.clone()));
        tape.backward(&loss);
        adam.step();
        let gpu_loss = loss.value.to_vec()[0] as f64;
        let cpu_loss = cpu_step(&mut cpu_p, &mut cpu_m, &mut cpu_v, &x, &target, step, lr);
        // f32 against f64 through 40 Adam steps: Adam divides by sqrt(v), which amplifies
        // rounding in near-zero gradients, so the runs drift apart slowly; 1% bounds it.
        assert!(
            (gpu_loss - cpu_loss).abs() <= 1e-2 * cpu_loss,
            "step {step}: GPU loss {gpu_loss} vs CPU {cpu_loss}"
        );
        losses.push(gpu_loss);
    }
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(
        last < first / 3.0,
        "loss should fall at least 3x in 40 steps: {first} -> {last}"
    );
    for (p, c) in net.params().iter().zip(&cpu_p) {
        // A bias right before batch norm has a true gradient of zero (the mean subtraction
        // removes it): both runs move it by Adam-amplified rounding noise, which differs.
        if p.name == "c1.bias" {
            continue;
        }
        assert_close(&p.name, &p.value().to_vec(), c, 2e-2, 2e-3);
    }
}

#[test]
fn a_repeated_training_step_allocates_no_new_buffers() {
    let gpu = gpu();
    let net = Tiny::new(&gpu, 4);
    let mut rng = Rng::new(5);
    let xt = upload(&gpu, &[2, 3, 7, 5], &random(&mut rng, 210));
    let tt = upload(&gpu, &[2, 3, 14, 10], &random(&mut rng, 840));
    let mut adam = Adam::new(net.params(), 1e-3);
    let mut created = Vec::new();
    for _ in 0..4 {
        let tape = Tape::new();
        let y = net.forward(&tape, &xt);
        let loss = ag::mse(&tape, &y, &tape.constant(tt.clone()));
        tape.backward(&loss);
        adam.step();
        loss.value.to_vec();
        created.push(gpu.pool_stats().1);
    }
    assert!(created[0] > 0);
    assert_eq!(
        created[1], created[3],
        "buffers created after each step: {created:?}"
    );
}

/// Adam keeps a model's parameters in one buffer and updates them all in one dispatch: four
/// parameters of awkward sizes against the f64 reference over four steps, in the third of
/// which one of them gets no gradient: then each of the others is updated on its own, and
/// that one not at all (the bias correction counts the optimizer's steps).
#[test]
fn adam_updates_a_model_in_one_dispatch() {
    let gpu = gpu();
    let mut rng = Rng::new(8);
    let sizes = [3, 70, 1001, 65];
    let starts: Vec<Vec<f64>> = sizes.iter().map(|&n| random(&mut rng, n)).collect();
    let params: Vec<_> = sizes
        .iter()
        .zip(&starts)
        .enumerate()
        .map(|(i, (&n, s))| {
            srgan_wgpu::autograd::Param::new(format!("p{i}"), upload(&gpu, &[n], s))
        })
        .collect();
    let mut adam = Adam::new(params.clone(), 0.01);
    let mut cpu: Vec<_> = starts
        .iter()
        .map(|s| (s.clone(), vec![0.0; s.len()], vec![0.0; s.len()]))
        .collect();
    for step in 1..=4 {
        let skipped = if step == 3 { Some(1) } else { None };
        let tape = Tape::new();
        let mut terms = Vec::new();
        let mut grads = Vec::new();
        for (i, p) in params.iter().enumerate() {
            let g = random(&mut rng, sizes[i]);
            if skipped != Some(i) {
                let r = tape.constant(upload(&gpu, &[sizes[i]], &g));
                terms.push(ag::sum(&tape, &ag::mul(&tape, &tape.param(p), &r)));
            }
            grads.push(g);
        }
        let loss = terms
            .iter()
            .skip(1)
            .fold(terms[0].clone(), |a, b| ag::add(&tape, &a, b));
        tape.backward(&loss);
        let before = gpu.dispatch_count();
        adam.step();
        let dispatches = gpu.dispatch_count() - before;
        let expected = if skipped.is_some() {
            sizes.len() as u64 - 1
        } else {
            1
        };
        assert_eq!(dispatches, expected, "step {step}: Adam dispatches");
        for (i, (p, m, v)) in cpu.iter_mut().enumerate() {
            if skipped == Some(i) {
                continue;
            }
            optim::cpu::adam(p, m, v, &grads[i], 0.01, 0.9, 0.999, 1e-8, adam.step as i32);
        }
        for (param, (p, _, _)) in params.iter().zip(&cpu) {
            assert_close(&param.name, &param.value().to_vec(), p, 1e-5, 1e-6);
        }
    }
}

/// Adam on the GPU against its f64 reference, on a parameter of an awkward size split over
/// several bindings (limits lowered), with a loss scale to divide out, over three steps.
#[test]
fn adam_follows_the_cpu_reference() {
    let gpu = gpu();
    gpu.set_test_limits(4096, 65535);
    let mut rng = Rng::new(7);
    let n = 2 * 1024 + 77;
    let start = random(&mut rng, n);
    let param = srgan_wgpu::autograd::Param::new("p", upload(&gpu, &[n], &start));
    let mut adam = Adam::new(vec![param.clone()], 0.01);
    adam.grad_scale = 64.0;
    let (mut p, mut m, mut v) = (start.clone(), vec![0.0; n], vec![0.0; n]);
    for step in 1..=3 {
        let g = random(&mut rng, n);
        let scaled: Vec<f64> = g.iter().map(|x| x * 64.0).collect();
        let tape = Tape::new();
        let x = tape.param(&param);
        let r = tape.constant(upload(&gpu, &[n], &scaled));
        tape.backward(&ag::sum(&tape, &ag::mul(&tape, &x, &r)));
        adam.step();
        optim::cpu::adam(&mut p, &mut m, &mut v, &g, 0.01, 0.9, 0.999, 1e-8, step);
        // Each step moves every value by about lr; f32 rounding of the update is far smaller.
        assert_close("Adam step", &param.value().to_vec(), &p, 1e-5, 1e-6);
    }
    assert!(param.grad().is_none(), "the step consumes the gradient");
}
