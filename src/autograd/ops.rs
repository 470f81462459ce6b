//! Derivative rules: each op runs its forward kernel and records its backward beside it.
//! Closures keep (clones of) the tensors they need; the flags `need` say which inputs want a
//! gradient, so e.g. a network's first convolution never computes the gradient of the image.

use super::tape::{Tape, Var};
use crate::ops::{
    batchnorm, conv, elementwise as ew, linear as lin, lpips, pixel_shuffle as ps, pool,
    prelu as pr, reduce, tv,
};
use crate::tensor::Tensor;

/// Runs `f` only when `need` is set: one gradient of a rule.
fn when(need: bool, f: impl FnOnce() -> Tensor) -> Option<Tensor> {
    need.then(f)
}

pub fn add(t: &Tape, a: &Var, b: &Var) -> Var {
    t.record(ew::add(&a.value, &b.value), &[a, b], |g, _| {
        vec![Some(g.clone()), Some(g.clone())]
    })
}

pub fn sub(t: &Tape, a: &Var, b: &Var) -> Var {
    t.record(ew::sub(&a.value, &b.value), &[a, b], |g, need| {
        vec![Some(g.clone()), when(need[1], || ew::scale(g, -1.0))]
    })
}

pub fn mul(t: &Tape, a: &Var, b: &Var) -> Var {
    let (av, bv) = (a.value.clone(), b.value.clone());
    t.record(ew::mul(&a.value, &b.value), &[a, b], move |g, need| {
        vec![
            when(need[0], || ew::mul(g, &bv)),
            when(need[1], || ew::mul(g, &av)),
        ]
    })
}

/// alpha * x + beta
pub fn affine(t: &Tape, x: &Var, alpha: f32, beta: f32) -> Var {
    t.record(ew::affine(&x.value, alpha, beta), &[x], move |g, _| {
        vec![Some(ew::scale(g, alpha))]
    })
}

pub fn scale(t: &Tape, x: &Var, alpha: f32) -> Var {
    affine(t, x, alpha, 0.0)
}

pub fn relu(t: &Tape, x: &Var) -> Var {
    leaky_relu(t, x, 0.0)
}

pub fn leaky_relu(t: &Tape, x: &Var, slope: f32) -> Var {
    let xv = x.value.clone();
    let y = if slope == 0.0 {
        ew::relu(&x.value)
    } else {
        ew::leaky_relu(&x.value, slope)
    };
    t.record(y, &[x], move |g, _| {
        vec![Some(ew::leaky_relu_backward(&xv, g, slope))]
    })
}

pub fn tanh(t: &Tape, x: &Var) -> Var {
    let y = ew::tanh(&x.value);
    let yv = y.clone();
    t.record(y, &[x], move |g, _| vec![Some(ew::tanh_backward(&yv, g))])
}

pub fn sigmoid(t: &Tape, x: &Var) -> Var {
    let y = ew::sigmoid(&x.value);
    let yv = y.clone();
    t.record(y, &[x], move |g, _| {
        vec![Some(ew::sigmoid_backward(&yv, g))]
    })
}

pub fn prelu(t: &Tape, x: &Var, slope: &Var) -> Var {
    let (xv, sv) = (x.value.clone(), slope.value.clone());
    t.record(
        pr::prelu(&x.value, &slope.value),
        &[x, slope],
        move |g, _| {
            let (dx, ds) = pr::prelu_backward(&xv, &sv, g);
            vec![Some(dx), Some(ds)]
        },
    )
}

pub fn conv2d(t: &Tape, x: &Var, w: &Var, bias: Option<&Var>, stride: usize, pad: usize) -> Var {
    let y = conv::conv2d(&x.value, &w.value, bias.map(|b| &b.value), stride, pad);
    let (xv, wv) = (x.value.clone(), w.value.clone());
    let mut inputs = vec![x, w];
    inputs.extend(bias);
    t.record(y, &inputs, move |g, need| {
        let mut grads = vec![
            when(need[0], || {
                conv::conv2d_backward_input(g, &wv, xv.shape(), stride, pad)
            }),
            when(need[1], || {
                conv::conv2d_backward_weight(g, &xv, wv.shape(), stride, pad)
            }),
        ];
        if need.len() == 3 {
            grads.push(when(need[2], || conv::conv2d_backward_bias(g)));
        }
        grads
    })
}

pub fn linear(t: &Tape, x: &Var, w: &Var, bias: Option<&Var>) -> Var {
    let y = lin::linear(&x.value, &w.value, bias.map(|b| &b.value));
    let (xv, wv) = (x.value.clone(), w.value.clone());
    let mut inputs = vec![x, w];
    inputs.extend(bias);
    t.record(y, &inputs, move |g, need| {
        let mut grads = vec![
            when(need[0], || lin::linear_backward_input(g, &wv)),
            when(need[1], || lin::linear_backward_weight(g, &xv)),
        ];
        if need.len() == 3 {
            grads.push(when(need[2], || lin::linear_backward_bias(g)));
        }
        grads
    })
}

/// Batch norm in training mode: normalises with the batch's statistics and moves the running
/// statistics towards them.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train(
    t: &Tape,
    x: &Var,
    gamma: &Var,
    beta: &Var,
    running_mean: &Tensor,
    running_var: &Tensor,
    momentum: f32,
    eps: f32,
) -> Var {
    let (y, mean, var) = batchnorm::batch_norm_train(&x.value, &gamma.value, &beta.value, eps);
    update_running(x, &mean, &var, running_mean, running_var, momentum);
    let (xv, gv) = (x.value.clone(), gamma.value.clone());
    t.record(y, &[x, gamma, beta], move |g, _| {
        let (dx, dgamma, dbeta) = batchnorm::batch_norm_backward(&xv, g, &mean, &var, &gv, eps);
        vec![Some(dx), Some(dgamma), Some(dbeta)]
    })
}

/// Moves the running statistics towards the batch's, whose count is N H W of x.
fn update_running(x: &Var, mean: &Tensor, var: &Tensor, rm: &Tensor, rv: &Tensor, momentum: f32) {
    let (n, _, h, w) = x.value.nchw();
    batchnorm::update_running(rm, rv, mean, var, momentum, n * h * w);
}

/// Batch norm in training mode, then PReLU with one slope per channel, as one op: the same as
/// `prelu(batch_norm_train(..))` with fewer passes over memory, and without the intermediate.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_prelu_train(
    t: &Tape,
    x: &Var,
    gamma: &Var,
    beta: &Var,
    slope: &Var,
    running_mean: &Tensor,
    running_var: &Tensor,
    momentum: f32,
    eps: f32,
) -> Var {
    let (y, mean, var) =
        batchnorm::batch_norm_prelu_train(&x.value, &gamma.value, &beta.value, &slope.value, eps);
    update_running(x, &mean, &var, running_mean, running_var, momentum);
    let kept = [&x.value, &gamma.value, &beta.value, &slope.value].map(Tensor::clone);
    t.record(y, &[x, gamma, beta, slope], move |g, _| {
        let [x, gamma, beta, slope] = &kept;
        let (dx, dgamma, dbeta, dslope) =
            batchnorm::batch_norm_prelu_backward(x, g, &mean, &var, gamma, beta, slope, eps);
        vec![Some(dx), Some(dgamma), Some(dbeta), Some(dslope)]
    })
}

/// Batch norm in inference mode: a fixed per-channel affine map with the running statistics.
/// Its backward: dx = dy * gamma * inv_std (the apply kernel run on dy with mean 0 and beta 0),
/// dgamma = sum(dy * xhat), dbeta = sum(dy) (the training backward's reduction, which takes
/// the running statistics just as well).
pub fn batch_norm_eval(
    t: &Tape,
    x: &Var,
    gamma: &Var,
    beta: &Var,
    running_mean: &Tensor,
    running_var: &Tensor,
    eps: f32,
) -> Var {
    let y = batchnorm::batch_norm_apply(
        &x.value,
        running_mean,
        running_var,
        &gamma.value,
        &beta.value,
        eps,
    );
    let (xv, gv, mean, var) = (
        x.value.clone(),
        gamma.value.clone(),
        running_mean.clone(),
        running_var.clone(),
    );
    t.record(y, &[x, gamma, beta], move |g, _| {
        let zeros = Tensor::zeros(g.gpu(), mean.shape());
        let dx = batchnorm::batch_norm_apply(g, &zeros, &var, &gv, &zeros, eps);
        let (_, dgamma, dbeta) = batchnorm::batch_norm_backward(&xv, g, &mean, &var, &gv, eps);
        vec![Some(dx), Some(dgamma), Some(dbeta)]
    })
}

pub fn pixel_shuffle(t: &Tape, x: &Var, r: usize) -> Var {
    t.record(ps::pixel_shuffle(&x.value, r), &[x], move |g, _| {
        vec![Some(ps::pixel_unshuffle(g, r))]
    })
}

/// A `window`-square max pool every `stride` pixels.
pub fn max_pool(t: &Tape, x: &Var, window: usize, stride: usize) -> Var {
    let xv = x.value.clone();
    t.record(
        pool::max_pool(&x.value, window, stride),
        &[x],
        move |g, _| vec![Some(pool::max_pool_backward(&xv, g, window, stride))],
    )
}

/// LPIPS' distance of two feature maps at each pixel, with the layer's linear head `w` `[C]`
/// (a constant): [N, C, H, W] x2 -> [N, 1, H, W].
pub fn lpips_distance(t: &Tape, f0: &Var, f1: &Var, w: &Tensor) -> Var {
    let (a, b, w) = (f0.value.clone(), f1.value.clone(), w.clone());
    t.record(lpips::distance(&a, &b, &w), &[f0, f1], move |g, _| {
        let (da, db) = lpips::distance_backward(&a, &b, &w, g);
        vec![Some(da), Some(db)]
    })
}

/// [N, ...] -> [N, product of the rest]
pub fn flatten(t: &Tape, x: &Var) -> Var {
    let shape = x.shape().to_vec();
    let y = x.value.reshape(&[shape[0], shape[1..].iter().product()]);
    t.record(y, &[x], move |g, _| vec![Some(g.reshape(&shape))])
}

pub fn sum(t: &Tape, x: &Var) -> Var {
    let shape = x.shape().to_vec();
    t.record(reduce::sum(&x.value, 1.0), &[x], move |g, _| {
        vec![Some(ew::broadcast(g, &shape, 1.0))]
    })
}

pub fn mean(t: &Tape, x: &Var) -> Var {
    let shape = x.shape().to_vec();
    let inv = 1.0 / x.value.numel() as f32;
    t.record(reduce::sum(&x.value, inv), &[x], move |g, _| {
        vec![Some(ew::broadcast(g, &shape, inv))]
    })
}

/// A one-element `x` repeated to `shape`; its gradient is the sum of the upstream one.
pub fn broadcast(t: &Tape, x: &Var, shape: &[usize]) -> Var {
    let from = x.shape().to_vec();
    t.record(ew::broadcast(&x.value, shape, 1.0), &[x], move |g, _| {
        vec![Some(reduce::sum(g, 1.0).reshape(&from))]
    })
}

/// The relativistic average GAN loss (Jolicoeur-Martineau 2018, used by ESRGAN) on the
/// discriminator's logits of a batch of photographs (`real`) and of generated images
/// (`fake`), both [N, 1]: each logit is taken relative to the mean logit of the other kind,
/// C(x) - mean C(y), and then scored by binary cross-entropy against `real_target` and
/// `fake_target`. The discriminator's loss has targets (1, 0): photographs look more real
/// than the average generated image. The generator's has (0, 1), and its gradient reaches
/// the generator through both terms.
pub fn relativistic_bce(
    t: &Tape,
    real: &Var,
    fake: &Var,
    real_target: &Tensor,
    fake_target: &Tensor,
) -> Var {
    let (real_rel, fake_rel) = relative_logits(t, real, fake);
    add(
        t,
        &bce_with_logits(t, &real_rel, real_target),
        &bce_with_logits(t, &fake_rel, fake_target),
    )
}

/// (C(real) - mean C(fake), C(fake) - mean C(real)), each [N, 1].
pub fn relative_logits(t: &Tape, real: &Var, fake: &Var) -> (Var, Var) {
    let versus = |a: &Var, b: &Var| sub(t, a, &broadcast(t, &mean(t, b), a.shape()));
    (versus(real, fake), versus(fake, real))
}

/// Mean squared error, mean over all elements of (a - b)^2.
pub fn mse(t: &Tape, a: &Var, b: &Var) -> Var {
    let d = ew::sub(&a.value, &b.value);
    let inv = 1.0 / d.numel() as f32;
    let loss = reduce::sum(&ew::mul(&d, &d), inv);
    t.record(loss, &[a, b], move |g, need| {
        let da = ew::mul_scalar(&d, g, 2.0 * inv);
        let db = when(need[1], || ew::scale(&da, -1.0));
        vec![Some(da), db]
    })
}

/// Binary cross-entropy of logits against fixed targets, averaged over elements.
pub fn bce_with_logits(t: &Tape, logits: &Var, targets: &Tensor) -> Var {
    let inv = 1.0 / logits.value.numel() as f32;
    let loss = reduce::sum(&ew::bce_logits(&logits.value, targets), inv);
    let (lv, tv_) = (logits.value.clone(), targets.clone());
    t.record(loss, &[logits], move |g, _| {
        vec![Some(ew::mul_scalar(
            &ew::bce_logits_backward(&lv, &tv_),
            g,
            inv,
        ))]
    })
}

/// Total variation (sum of squared neighbour differences).
pub fn total_variation(t: &Tape, x: &Var) -> Var {
    let xv = x.value.clone();
    t.record(tv::total_variation(&x.value), &[x], move |g, _| {
        vec![Some(ew::mul_scalar(
            &tv::total_variation_backward(&xv),
            g,
            1.0,
        ))]
    })
}
