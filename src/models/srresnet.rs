//! The generator (SRResNet), Figure 4 of the paper, top:
//!
//! ```text
//! LR [0,1] -> conv 9x9 3->C, PReLU ---------------------------------+ (long skip)
//!          -> B residual blocks: conv 3x3, BN, PReLU, conv 3x3, BN, + skip
//!          -> conv 3x3, BN, + long skip
//!          -> 2 x (conv 3x3 C->4C, pixel shuffle x2, PReLU)       (x4 in all)
//!          -> conv 9x9 C->3 [-> tanh]  ->  SR in [-1, 1]
//! ```
//!
//! PReLUs have one slope per channel. State-dict names: `conv_input`, `prelu_input`,
//! `blocks.{i}.{conv1,bn1,prelu,conv2,bn2}`, `conv_mid`, `bn_mid`, `upsample.{j}.{conv,prelu}`,
//! `conv_output`.

use crate::autograd::Param;
use crate::autograd::{self as ag, Tape, Var};
use crate::nn::{BatchNorm2d, Conv2d, Entry, Module, PRelu};
use crate::rng::Rng;
use crate::{Gpu, Tensor};
use std::collections::HashMap;

/// What a generator file's metadata records besides the weights.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorConfig {
    pub blocks: usize,
    pub channels: usize,
    /// Batch norm's epsilon: 1e-5 as PyTorch, 1e-3 for weights converted from Keras.
    pub bn_eps: f32,
    /// A tanh on the output, as in the paper; without it the output is used as is.
    pub tanh: bool,
}

impl Default for GeneratorConfig {
    /// The paper's network: 16 blocks of 64 channels.
    fn default() -> Self {
        GeneratorConfig {
            blocks: 16,
            channels: 64,
            bn_eps: 1e-5,
            tanh: true,
        }
    }
}

impl GeneratorConfig {
    pub fn to_metadata(&self) -> HashMap<String, String> {
        HashMap::from([
            ("model".to_string(), "srresnet".to_string()),
            ("blocks".to_string(), self.blocks.to_string()),
            ("channels".to_string(), self.channels.to_string()),
            ("bn_eps".to_string(), self.bn_eps.to_string()),
            ("tanh".to_string(), self.tanh.to_string()),
        ])
    }

    /// Reads the metadata of a generator file; missing keys take the paper's values.
    pub fn from_metadata(m: &HashMap<String, String>) -> crate::Result<GeneratorConfig> {
        let d = GeneratorConfig::default();
        let get = |k: &str| m.get(k).map(|s| s.as_str());
        if let Some(model) = get("model") {
            if model != "srresnet" {
                return crate::fail!("the weights are for a '{model}', not an SRResNet generator");
            }
        }
        // Checked before anything is allocated from them: a damaged or hostile file could ask
        // for terabytes.
        let whole = |k: &str, default: usize, max: usize| -> crate::Result<usize> {
            match get(k) {
                None => Ok(default),
                Some(v) => match v.parse::<usize>() {
                    Ok(n) if (1..=max).contains(&n) => Ok(n),
                    _ => crate::fail!("bad metadata {k}={v}: a whole number from 1 to {max}"),
                },
            }
        };
        let bn_eps = match get("bn_eps") {
            None => d.bn_eps,
            Some(v) => match v.parse::<f32>() {
                Ok(e) if e.is_finite() && e > 0.0 && e < 1.0 => e,
                _ => return crate::fail!("bad metadata bn_eps={v}: a number between 0 and 1"),
            },
        };
        let tanh = match get("tanh") {
            None => d.tanh,
            Some("true") => true,
            Some("false") => false,
            Some(v) => return crate::fail!("bad metadata tanh={v}: true or false"),
        };
        Ok(GeneratorConfig {
            blocks: whole("blocks", d.blocks, 256)?,
            channels: whole("channels", d.channels, 1024)?,
            bn_eps,
            tanh,
        })
    }

    /// Every convolution's weight tensor, by state-dict name and shape: most of the
    /// parameters, which a file must hold before a model is allocated for it.
    pub fn conv_shapes(&self) -> Vec<(String, [usize; 4])> {
        let c = self.channels;
        let mut all = vec![("conv_input.weight".to_string(), [c, 3, 9, 9])];
        for i in 0..self.blocks {
            for conv in ["conv1", "conv2"] {
                all.push((format!("blocks.{i}.{conv}.weight"), [c, c, 3, 3]));
            }
        }
        all.push(("conv_mid.weight".to_string(), [c, c, 3, 3]));
        for j in 0..2 {
            all.push((format!("upsample.{j}.conv.weight"), [4 * c, c, 3, 3]));
        }
        all.push(("conv_output.weight".to_string(), [3, c, 9, 9]));
        all
    }
}

struct Block {
    conv1: Conv2d,
    bn1: BatchNorm2d,
    prelu: PRelu,
    conv2: Conv2d,
    bn2: BatchNorm2d,
}

struct Upsample {
    conv: Conv2d,
    prelu: PRelu,
}

pub struct Generator {
    pub config: GeneratorConfig,
    conv_input: Conv2d,
    prelu_input: PRelu,
    blocks: Vec<Block>,
    conv_mid: Conv2d,
    bn_mid: BatchNorm2d,
    upsample: Vec<Upsample>,
    conv_output: Conv2d,
    /// Whether the batch norms are folded into the convolutions before them (`folded`).
    bn_folded: bool,
}

impl Generator {
    pub fn new(gpu: &Gpu, config: GeneratorConfig, seed: u64) -> Generator {
        let mut rng = Rng::new(seed);
        let c = config.channels;
        let bn = |name: &str| {
            let mut b = BatchNorm2d::new(gpu, name, c);
            b.eps = config.bn_eps;
            b
        };
        let blocks = (0..config.blocks)
            .map(|i| {
                let p = format!("blocks.{i}");
                Block {
                    conv1: Conv2d::new(gpu, &mut rng, &format!("{p}.conv1"), c, c, 3, 1, true),
                    bn1: bn(&format!("{p}.bn1")),
                    prelu: PRelu::new(gpu, &format!("{p}.prelu"), c),
                    conv2: Conv2d::new(gpu, &mut rng, &format!("{p}.conv2"), c, c, 3, 1, true),
                    bn2: bn(&format!("{p}.bn2")),
                }
            })
            .collect();
        let upsample = (0..2)
            .map(|j| Upsample {
                conv: Conv2d::new(
                    gpu,
                    &mut rng,
                    &format!("upsample.{j}.conv"),
                    c,
                    4 * c,
                    3,
                    1,
                    true,
                ),
                prelu: PRelu::new(gpu, &format!("upsample.{j}.prelu"), c),
            })
            .collect();
        Generator {
            conv_input: Conv2d::new(gpu, &mut rng, "conv_input", 3, c, 9, 1, true),
            prelu_input: PRelu::new(gpu, "prelu_input", c),
            blocks,
            conv_mid: Conv2d::new(gpu, &mut rng, "conv_mid", c, c, 3, 1, true),
            bn_mid: bn("bn_mid"),
            upsample,
            conv_output: Conv2d::new(gpu, &mut rng, "conv_output", c, 3, 9, 1, true),
            config,
            bn_folded: false,
        }
    }

    /// A generator for inference that computes what `forward(.., false)` does, up to
    /// rounding, with each batch norm folded into the convolution before it: with
    /// s = gamma / sqrt(running var + eps), w' = w s and b' = (b - running mean) s + beta per
    /// output channel. That saves a pass over every residual block's activations (33
    /// dispatches per image). The other parameters are shared; the result cannot train.
    pub fn folded(&self) -> Generator {
        let gpu = self.conv_input.weight.value().gpu().clone();
        let bn_off = |bn: &BatchNorm2d| BatchNorm2d::new(&gpu, "unused", bn.running_mean.numel());
        let c = self.config.channels;
        Generator {
            config: self.config.clone(),
            conv_input: self.conv_input.clone(),
            prelu_input: per_channel(&self.prelu_input, c),
            blocks: self
                .blocks
                .iter()
                .map(|b| Block {
                    conv1: fold(&b.conv1, &b.bn1),
                    bn1: bn_off(&b.bn1),
                    prelu: per_channel(&b.prelu, c),
                    conv2: fold(&b.conv2, &b.bn2),
                    bn2: bn_off(&b.bn2),
                })
                .collect(),
            conv_mid: fold(&self.conv_mid, &self.bn_mid),
            bn_mid: bn_off(&self.bn_mid),
            upsample: self
                .upsample
                .iter()
                .map(|u| Upsample {
                    conv: u.conv.clone(),
                    prelu: per_channel(&u.prelu, c),
                })
                .collect(),
            conv_output: self.conv_output.clone(),
            bn_folded: true,
        }
    }

    /// Batch norm, or nothing where it is folded into the convolution before it.
    fn norm(&self, bn: &BatchNorm2d, t: &Tape, x: &Var, training: bool) -> Var {
        if self.bn_folded {
            assert!(
                !training,
                "a generator with folded batch norms cannot train"
            );
            return x.clone();
        }
        bn.forward(t, x, training)
    }

    /// `norm`, then PReLU: one op in training (`BatchNorm2d::forward_prelu`).
    fn norm_prelu(
        &self,
        bn: &BatchNorm2d,
        prelu: &PRelu,
        t: &Tape,
        x: &Var,
        training: bool,
    ) -> Var {
        if self.bn_folded {
            return prelu.forward(t, &self.norm(bn, t, x, training));
        }
        bn.forward_prelu(t, x, training, &t.param(&prelu.weight))
    }

    /// LR [N, 3, H, W] in [0, 1] -> SR [N, 3, 4H, 4W] in [-1, 1]. `training` picks batch
    /// statistics (and updates the running ones) or the running statistics.
    pub fn forward(&self, t: &Tape, lr: &Var, training: bool) -> Var {
        let skip = self.prelu_input.forward(t, &self.conv_input.forward(t, lr));
        let mut x = skip.clone();
        for b in &self.blocks {
            let h = self.norm_prelu(&b.bn1, &b.prelu, t, &b.conv1.forward(t, &x), training);
            let h = self.norm(&b.bn2, t, &b.conv2.forward(t, &h), training);
            x = ag::add(t, &x, &h);
        }
        let h = self.norm(&self.bn_mid, t, &self.conv_mid.forward(t, &x), training);
        x = ag::add(t, &skip, &h);
        drop(skip);
        for u in &self.upsample {
            let h = ag::pixel_shuffle(t, &u.conv.forward(t, &x), 2);
            x = u.prelu.forward(t, &h);
        }
        let y = self.conv_output.forward(t, &x);
        if self.config.tanh {
            ag::tanh(t, &y)
        } else {
            y
        }
    }

    /// Inference on a batch of LR images: SR in [-1, 1], nothing recorded.
    pub fn upscale(&self, lr: &Tensor) -> Tensor {
        self.upscale_observed(lr, &mut || {})
    }

    /// `upscale`, calling `after_layer` as each of its `convolutions()` is recorded (to show
    /// progress through one long pass).
    pub fn upscale_observed(&self, lr: &Tensor, after_layer: &mut dyn FnMut()) -> Tensor {
        if self.bn_folded {
            return self.forward_fused(lr, after_layer);
        }
        let t = Tape::inference();
        let y = self.forward(&t, &t.constant(lr.clone()), false).value;
        (0..self.convolutions()).for_each(|_| after_layer());
        y
    }

    /// Convolutions in one pass: the first, two per residual block, the middle one, two
    /// upsampling ones and the last.
    pub fn convolutions(&self) -> usize {
        2 * self.config.blocks + 5
    }

    /// `forward` at inference with the batch norms folded, each layer that follows a
    /// convolution done in that convolution's store (`conv::Epilogue`): PReLU, the residual
    /// adds, pixel shuffle and tanh make no pass over memory of their own.
    fn forward_fused(&self, lr: &Tensor, after_layer: &mut dyn FnMut()) -> Tensor {
        use crate::ops::conv::{conv2d_fused, Epilogue};
        let mut conv = |c: &Conv2d, x: &Tensor, e: Epilogue| {
            let bias = c.bias.as_ref().map(|b| b.value());
            let y = conv2d_fused(x, &c.weight.value(), bias.as_ref(), c.stride, c.pad, &e);
            after_layer();
            y
        };
        fn prelu(slopes: &Tensor) -> Epilogue<'_> {
            Epilogue {
                prelu: Some(slopes),
                ..Default::default()
            }
        }
        let skip = conv(
            &self.conv_input,
            lr,
            prelu(&self.prelu_input.weight.value()),
        );
        let mut x = skip.clone();
        for b in &self.blocks {
            let h = conv(&b.conv1, &x, prelu(&b.prelu.weight.value()));
            let residual = Epilogue {
                residual: Some(&x),
                ..Default::default()
            };
            x = conv(&b.conv2, &h, residual);
        }
        let long_skip = Epilogue {
            residual: Some(&skip),
            ..Default::default()
        };
        x = conv(&self.conv_mid, &x, long_skip);
        drop(skip);
        for u in &self.upsample {
            let slopes = u.prelu.weight.value();
            let shuffle = Epilogue {
                shuffle: true,
                ..prelu(&slopes)
            };
            x = conv(&u.conv, &x, shuffle);
        }
        let tanh = Epilogue {
            tanh: self.config.tanh,
            ..Default::default()
        };
        conv(&self.conv_output, &x, tanh)
    }

    /// How far, in LR pixels, an output pixel sees: 4 (9x9 conv) + 2 per residual block +
    /// 1 (middle conv) + 1 (first upsampling conv) + 1/2 (second, at 2x) + 1 (last 9x9 at
    /// 4x), rounded up. Tiles overlapping by this much give the same result as one pass.
    pub fn receptive_radius(&self) -> usize {
        4 + 2 * self.config.blocks + 4
    }
}

/// The convolution `conv` followed by batch norm `bn` at inference, as one convolution: with
/// s = gamma / sqrt(running var + eps), w' = w s and b' = (b - running mean) s + beta per
/// output channel. Both are what batch norm at inference computes (`batch_norm_apply`): of
/// w with mean 0 and beta 0, and of b as it is; so the GPU folds without a read-back.
fn fold(conv: &Conv2d, bn: &BatchNorm2d) -> Conv2d {
    use crate::ops::batchnorm::batch_norm_apply;
    let w = conv.weight.value();
    let gpu = w.gpu();
    let shape = w.shape().to_vec();
    let cout = shape[0];
    let zeros = Tensor::zeros(gpu, &[cout]);
    let (gamma, beta) = (bn.weight.value(), bn.bias.value());
    let (mean, var) = (&bn.running_mean, &bn.running_var);
    // Each output channel's weights as one channel of a [1, Cout, Cin KH KW, 1] tensor.
    let per_channel = w.reshape(&[1, cout, w.numel() / cout, 1]);
    let w2 = batch_norm_apply(&per_channel, &zeros, var, &gamma, &zeros, bn.eps);
    let b = conv.bias.as_ref().map_or(zeros.clone(), |b| b.value());
    let b2 = batch_norm_apply(
        &b.reshape(&[1, cout, 1, 1]),
        mean,
        var,
        &gamma,
        &beta,
        bn.eps,
    );
    Conv2d {
        weight: Param::new(conv.weight.name.clone(), w2.reshape(&shape)),
        bias: Some(Param::new(
            format!("{}.folded_bias", conv.weight.name),
            b2.reshape(&[cout]),
        )),
        stride: conv.stride,
        pad: conv.pad,
    }
}

/// `p` with one slope per channel, as the convolutions' stores read them (a file may share
/// one slope among all channels).
fn per_channel(p: &PRelu, channels: usize) -> PRelu {
    let value = p.weight.value();
    if value.numel() == channels {
        return p.clone();
    }
    let all = crate::ops::elementwise::broadcast(&value, &[channels], 1.0);
    PRelu {
        weight: Param::new(p.weight.name.clone(), all),
    }
}

impl Module for Generator {
    fn entries(&self) -> Vec<Entry> {
        let mut e = [self.conv_input.entries(), self.prelu_input.entries()].concat();
        for b in &self.blocks {
            e.extend(
                [
                    b.conv1.entries(),
                    b.bn1.entries(),
                    b.prelu.entries(),
                    b.conv2.entries(),
                    b.bn2.entries(),
                ]
                .concat(),
            );
        }
        e.extend([self.conv_mid.entries(), self.bn_mid.entries()].concat());
        for u in &self.upsample {
            e.extend([u.conv.entries(), u.prelu.entries()].concat());
        }
        e.extend(self.conv_output.entries());
        e
    }
}
