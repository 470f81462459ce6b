//! VGG19's convolutional part (Simonyan & Zisserman), as far as the SRGAN losses need it:
//! φ2,2 (the second convolution before the second max pool, after its ReLU) and φ5,4 (the
//! fourth before the fifth); also φ5,4 before its ReLU, as ESRGAN (Wang et al. 2018) takes it,
//! since after the ReLU most of a deep layer's features are zero. Parameter names are
//! torchvision's `vgg19().features`: `features.{i}.weight` and `.bias` at the module indices
//! below.
//!
//! Input: RGB in [0, 1], normalised with ImageNet's mean and standard deviation, here a fixed
//! 1x1 convolution so that its backward comes for free; a weights file may replace it
//! (`normalize.weight` and `.bias`: the normalised VGG19 of tools/convert_vgg_normalised.py
//! takes BGR in 0-255 minus the Caffe mean).

use crate::autograd::{self as ag, Tape, Var};
use crate::error::Result;
use crate::nn::{io, Conv2d, Entry, Module};
use crate::rng::Rng;
use crate::{Gpu, Tensor};
use std::path::Path;

const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// torchvision's `features` indices of VGG19's 16 convolutions, in order, with their
/// output channels; max pools follow the convs at 2, 7, 16, 25 and 34.
const CONVS: [(usize, usize); 16] = [
    (0, 64),
    (2, 64),
    (5, 128),
    (7, 128),
    (10, 256),
    (12, 256),
    (14, 256),
    (16, 256),
    (19, 512),
    (21, 512),
    (23, 512),
    (25, 512),
    (28, 512),
    (30, 512),
    (32, 512),
    (34, 512),
];
const POOL_AFTER: [usize; 4] = [2, 7, 16, 25];

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VggLayer {
    /// φ2,2: after `features.8` (ReLU of conv2_2).
    Conv2_2,
    /// φ5,4: after `features.35` (ReLU of conv5_4).
    Conv5_4,
    /// φ5,4 before its ReLU: the output of `features.34` (conv5_4).
    Conv5_4Pre,
}

impl VggLayer {
    /// The index of the last convolution needed.
    fn last_conv(self) -> usize {
        match self {
            VggLayer::Conv2_2 => 7,
            VggLayer::Conv5_4 | VggLayer::Conv5_4Pre => 34,
        }
    }

    /// The key of the loss scale in a weights file's metadata.
    fn scale_key(self) -> &'static str {
        match self {
            VggLayer::Conv2_2 => "loss_scale.phi22",
            VggLayer::Conv5_4 => "loss_scale.phi54",
            VggLayer::Conv5_4Pre => "loss_scale.phi54pre",
        }
    }
}

pub struct Vgg19 {
    normalize: (Tensor, Tensor),
    convs: Vec<(usize, Conv2d)>,
    pub layer: VggLayer,
    /// The factor on the features in the content loss: the weights file's `loss_scale.phi22`,
    /// `.phi54` or `.phi54pre` (weights/VGG19.md), or for φ2,2 and φ5,4 of a file without
    /// them (ImageNet's VGG19 from torchvision) the paper's 1/12.75.
    pub loss_scale: f32,
}

impl Vgg19 {
    /// With random weights (tests; the real ones come from `load`). `width` scales the
    /// channel counts.
    pub fn new(gpu: &Gpu, layer: VggLayer, seed: u64, width: f32) -> Vgg19 {
        let mut rng = Rng::new(seed);
        let mut cin = 3;
        let convs = CONVS
            .iter()
            .filter(|(i, _)| *i <= layer.last_conv())
            .map(|&(i, c)| {
                let cout = ((c as f32 * width) as usize).max(1);
                let conv = Conv2d::new(
                    gpu,
                    &mut rng,
                    &format!("features.{i}"),
                    cin,
                    cout,
                    3,
                    1,
                    true,
                );
                cin = cout;
                (i, conv)
            })
            .collect();
        // (x - mean) / std as a 1x1 convolution: weight diag(1/std), bias -mean/std.
        let mut w = vec![0.0; 9];
        for c in 0..3 {
            w[c * 4] = 1.0 / STD[c];
        }
        let b: Vec<f32> = (0..3).map(|c| -MEAN[c] / STD[c]).collect();
        let normalize = (
            Tensor::from_slice(gpu, &[3, 3, 1, 1], &w),
            Tensor::from_slice(gpu, &[3], &b),
        );
        Vgg19 {
            normalize,
            convs,
            layer,
            loss_scale: 1.0 / 12.75,
        }
    }

    /// Loads VGG19 weights converted by `tools/convert_vgg_normalised.py` (or torchvision's, by
    /// `tools/convert_vgg19.py`).
    pub fn load(gpu: &Gpu, layer: VggLayer, path: &Path) -> Result<Vgg19> {
        let tool = "tools/convert_vgg_normalised.py";
        let (file, first) = io::File::open_converted(path, tool, "features.0.weight", "VGG19")?;
        // The width follows the file (torchvision's is 64 channels first; tests make narrower).
        let mut vgg = Vgg19::new(gpu, layer, 0, first as f32 / 64.0);
        file.load_into(&vgg.entries(), true)?;
        let key = layer.scale_key();
        match file.metadata().get(key) {
            Some(v) => match v.parse::<f32>() {
                Ok(s) if s.is_finite() && s > 0.0 => vgg.loss_scale = s,
                _ => return crate::fail!("{}: bad metadata {key}={v}", path.display()),
            },
            // The paper's 1/12.75 is for features after the ReLU; before it their differences are
            // about 5 times larger (weights/VGG19.md).
            None if layer == VggLayer::Conv5_4Pre => {
                return crate::fail!(
                    "{} has no {key}: convert it with tools/convert_vgg_normalised.py, which \
                     records the scale of φ5,4 before its ReLU",
                    path.display()
                )
            }
            // A VGG with its own input convolution is not ImageNet's original, for which the
            // paper's 1/12.75 was derived: its features have another size. (Files converted
            // before the scales were recorded trained an SRGAN with the wrong balance.)
            None if file.f32("normalize.weight")?.is_some() => {
                return crate::fail!(
                    "{} has its own input convolution but no {key}: convert it again with \
                     tools/convert_vgg_normalised.py, which records its loss scales",
                    path.display()
                )
            }
            None => {}
        }
        // A file may bring its own input convolution (the normalised VGG19 wants BGR in
        // 0-255 minus the Caffe mean); without one, ImageNet's mean and std are used.
        for (name, tensor, shape) in [
            (
                "normalize.weight",
                &vgg.normalize.0,
                [3usize, 3, 1, 1].as_slice(),
            ),
            ("normalize.bias", &vgg.normalize.1, [3usize].as_slice()),
        ] {
            match file.f32(name)? {
                Some((s, v)) if s == shape && v.iter().all(|x| x.is_finite()) => tensor.write(&v),
                Some(_) => {
                    return crate::fail!(
                        "{}: '{name}' is not a {shape:?} of numbers",
                        path.display()
                    )
                }
                None => {}
            }
        }
        Ok(vgg)
    }

    /// Features of images in [0, 1]. The weights are constants: gradients flow to the input
    /// only.
    pub fn forward(&self, t: &Tape, x: &Var) -> Var {
        let (w, b) = (
            t.constant(self.normalize.0.clone()),
            t.constant(self.normalize.1.clone()),
        );
        let mut h = ag::conv2d(t, x, &w, Some(&b), 1, 0);
        let last = self.layer.last_conv();
        for (i, conv) in &self.convs {
            let w = t.constant(conv.weight.value().clone());
            let b = conv.bias.as_ref().map(|b| t.constant(b.value().clone()));
            h = ag::conv2d(t, &h, &w, b.as_ref(), 1, 1);
            if !(self.layer == VggLayer::Conv5_4Pre && *i == last) {
                h = ag::relu(t, &h);
            }
            // φi,j is taken before the i-th pool: none after the last convolution.
            if POOL_AFTER.contains(i) && *i != last {
                h = ag::max_pool(t, &h, 2, 2);
            }
        }
        h
    }
}

impl Module for Vgg19 {
    fn entries(&self) -> Vec<Entry> {
        self.convs.iter().flat_map(|(_, c)| c.entries()).collect()
    }
}
