//! An exponential moving average of the generator's weights (`train --ema`): after every
//! step each value of the average moves 1 - decay of the way to the generator's, so the
//! average weighs the last 1 / (1 - decay) steps most (1,000 at 0.999). A GAN's generator
//! keeps moving around a good solution instead of settling in it; the average sits nearer its
//! middle (Yazıcı et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training";
//! Real-ESRGAN keeps such an average at 0.999). The same idea as averaging late snapshots
//! (`tools/average_generators.py`), computed as the run goes, so that validation, the best
//! file and the snapshots are the average's.
//!
//! Batch norm's running statistics are averaged as the weights are (as the snapshot average
//! does); its step counters are copied from the generator in training.

use crate::models::Generator;
use crate::nn::{Entry, Module};
use crate::ops::elementwise::average_into;
use crate::{Gpu, Tensor};
use std::sync::atomic::Ordering::Relaxed;

pub struct Average {
    /// How much of the average each step keeps, in [0, 1).
    pub decay: f32,
    /// The average's weights, as a generator of the same architecture.
    pub generator: Generator,
}

impl Average {
    /// An average that starts as a copy of `live`.
    pub fn new(gpu: &Gpu, live: &Generator, decay: f32) -> Average {
        let average = Average {
            decay,
            // Any seed: every value is overwritten by the copy below.
            generator: Generator::new(gpu, live.config.clone(), 0),
        };
        average.each_pair(live, |a, x| a.copy_from(x));
        average
    }

    /// One step: every value moves 1 - decay of the way to `live`'s (one dispatch per
    /// tensor), the counters are copied.
    pub fn update(&self, live: &Generator) {
        self.each_pair(live, |a, x| average_into(a, x, 1.0 - self.decay));
    }

    /// `tensors(average's, live's)` for each tensor; counters are copied.
    fn each_pair(&self, live: &Generator, tensors: impl Fn(&Tensor, &Tensor)) {
        for (a, x) in self.generator.entries().iter().zip(live.entries()) {
            match (a, &x) {
                (Entry::Counter(_, a), Entry::Counter(_, x)) => a.store(x.load(Relaxed), Relaxed),
                _ => tensors(&a.tensor(), &x.tensor()),
            }
        }
    }
}
