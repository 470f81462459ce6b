//! The discriminator, Figure 4 of the paper, bottom: for a 96x96 image in [-1, 1],
//!
//! ```text
//! conv 3x3 3->64 s1, LeakyReLU(0.2)
//! 7 x (conv 3x3, BN, LeakyReLU(0.2)): 64 s2, 128 s1, 128 s2, 256 s1, 256 s2, 512 s1, 512 s2
//! flatten (512 x 6 x 6) -> dense 1024 -> LeakyReLU(0.2) -> dense 1   (a logit)
//! ```
//!
//! The sigmoid lives in the loss (binary cross-entropy on logits). Names:
//! `features.{i}.conv`, `features.{i}.bn` (none for i = 0), `dense1`, `dense2`.

use crate::autograd::{self as ag, Tape, Var};
use crate::nn::{BatchNorm2d, Conv2d, Entry, Linear, Module};
use crate::rng::Rng;
use crate::{Gpu, Tensor};

const SLOPE: f32 = 0.2;

/// (output channels, stride) of the eight convolutions.
pub const CONVS: [(usize, usize); 8] = [
    (64, 1),
    (64, 2),
    (128, 1),
    (128, 2),
    (256, 1),
    (256, 2),
    (512, 1),
    (512, 2),
];

pub struct Discriminator {
    convs: Vec<(Conv2d, Option<BatchNorm2d>)>,
    /// The leaky ReLU's slope once per output channel, for each convolution with a batch norm:
    /// in training the two run as one op (`BatchNorm2d::forward_prelu`).
    slopes: Vec<Option<Tensor>>,
    dense1: Linear,
    dense2: Linear,
    pub input_size: usize,
}

/// The first dense layer's inputs and outputs for a discriminator of `width` on crops of
/// `input_size`: its weight grows with the crop's area (288 MiB at 192 pixels).
pub fn dense_size(width: f32, input_size: usize) -> (usize, usize) {
    let channels = ((CONVS[CONVS.len() - 1].0 as f32 * width) as usize).max(1);
    let side = input_size / 16;
    (channels * side * side, ((1024.0 * width) as usize).max(1))
}

impl Discriminator {
    /// `width` scales the channel counts (1.0 for the paper's; tests use less); `input_size`
    /// is the HR crop (96 in the paper), a multiple of 16.
    pub fn new(gpu: &Gpu, seed: u64, width: f32, input_size: usize) -> Discriminator {
        assert!(
            input_size.is_multiple_of(16),
            "the discriminator's input must be a multiple of 16 pixels"
        );
        let mut rng = Rng::new(seed);
        let mut cin = 3;
        let convs = CONVS
            .iter()
            .enumerate()
            .map(|(i, &(c, stride))| {
                let cout = ((c as f32 * width) as usize).max(1);
                let conv = Conv2d::new(
                    gpu,
                    &mut rng,
                    &format!("features.{i}.conv"),
                    cin,
                    cout,
                    3,
                    stride,
                    true,
                );
                let bn = (i > 0).then(|| BatchNorm2d::new(gpu, &format!("features.{i}.bn"), cout));
                cin = cout;
                (conv, bn)
            })
            .collect::<Vec<_>>();
        let slopes = convs
            .iter()
            .map(|(conv, bn)| {
                let c = conv.weight.value().shape()[0];
                bn.as_ref()
                    .map(|_| Tensor::from_slice(gpu, &[c], &vec![SLOPE; c]))
            })
            .collect();
        let (inputs, hidden) = dense_size(width, input_size);
        Discriminator {
            convs,
            slopes,
            dense1: Linear::new(gpu, &mut rng, "dense1", inputs, hidden),
            dense2: Linear::new(gpu, &mut rng, "dense2", hidden, 1),
            input_size,
        }
    }

    /// Images [N, 3, S, S] in [-1, 1] -> logits [N, 1]. Batch norm uses batch statistics
    /// when `training`.
    pub fn forward(&self, t: &Tape, x: &Var, training: bool) -> Var {
        let mut h = x.clone();
        for ((conv, bn), slope) in self.convs.iter().zip(&self.slopes) {
            h = conv.forward(t, &h);
            h = match (bn, slope) {
                (Some(bn), Some(slope)) if training => {
                    bn.forward_prelu(t, &h, training, &t.constant(slope.clone()))
                }
                (Some(bn), _) => ag::leaky_relu(t, &bn.forward(t, &h, training), SLOPE),
                (None, _) => ag::leaky_relu(t, &h, SLOPE),
            };
        }
        let h = ag::leaky_relu(t, &self.dense1.forward(t, &ag::flatten(t, &h)), SLOPE);
        self.dense2.forward(t, &h)
    }
}

impl Module for Discriminator {
    fn entries(&self) -> Vec<Entry> {
        let mut e = Vec::new();
        for (conv, bn) in &self.convs {
            e.extend(conv.entries());
            e.extend(bn.iter().flat_map(|b| b.entries()));
        }
        e.extend([self.dense1.entries(), self.dense2.entries()].concat());
        e
    }
}
