//! Training SRResNet and SRGAN (the paper's §3.2), one step at a time, with checkpoints that
//! hold everything needed to continue exactly: weights, batch norm statistics, both Adam
//! states, the step, the seed (batches are a function of seed and step) and the
//! configuration. A run lives in one folder:
//!
//! - `checkpoint.safetensors`: the above, written atomically every `checkpoint_every` steps;
//! - `generator.safetensors`: the generator alone, loadable by `upscale --model`;
//! - `best.safetensors`: the generator of the best validation (LPIPS for an SRGAN where its
//!   weights are at hand, else PSNR);
//! - with `--ema`, these files, the snapshots and the validation are the moving average of
//!   the generator's weights (`average`), which the checkpoint holds beside the generator;
//! - `log.csv`: one row per step (losses, learning rate, seconds since the previous row,
//!   D(HR) and D(SR), relative ones for the relativistic loss) and the validation's PSNR and
//!   LPIPS; `srgan-wgpu plot` draws it.

mod average;
mod config;
pub mod data;
mod folder;
mod run;

pub use average::Average;
pub use config::{ContentLoss, GanLoss, Mode, TrainConfig, DISC_WARMUP};

use crate::autograd::{self as ag, Tape, Var};
use crate::error::{Context, Result};
use crate::fail;
use crate::models::{
    discriminator, Discriminator, Generator, GeneratorConfig, Lpips, Vgg19, VggLayer,
};
use crate::nn::{io, Module};
use crate::optim::Adam;
use crate::{Gpu, Tensor};
use data::{Batch, Dataset};
use folder::{load_adam, truncate_log, RunLock};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Losses of one step, as logged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Losses {
    pub generator: f32,
    pub content: f32,
    pub adversarial: f32,
    pub discriminator: f32,
    /// The discriminator's mean output (a probability) on HR and on SR images; with the
    /// relativistic loss, the mean probability that an HR image looks more real than the
    /// average SR one, and that an SR image does than the average HR one.
    pub d_real: f32,
    pub d_fake: f32,
}

/// The losses of a recorded step, on their way back from the GPU (`Trainer::record_step`).
pub struct PendingLosses {
    values: crate::gpu::ReadBack,
    /// Whether the step had an adversarial part (the last four values).
    adversarial: bool,
}

impl PendingLosses {
    /// Waits for the step's losses (not for anything recorded after it).
    pub fn wait(self) -> Losses {
        let v = self.values.wait();
        let [adversarial, discriminator, d_real, d_fake] = if self.adversarial {
            [v[2], v[3], v[4], v[5]]
        } else {
            [0.0; 4]
        };
        Losses {
            generator: v[0],
            content: v[1],
            adversarial,
            discriminator,
            d_real,
            d_fake,
        }
    }
}

pub struct Trainer {
    pub config: TrainConfig,
    gpu: Gpu,
    pub generator: Generator,
    /// The moving average of the generator's weights (`--ema`), where the run keeps one
    /// (`set_ema`; the checkpoint's `config.ema` is written from it).
    average: Option<Average>,
    discriminator: Option<Discriminator>,
    vgg: Option<Vgg19>,
    adam_g: Adam,
    adam_d: Option<Adam>,
    pub step: u64,
    dir: PathBuf,
    /// Held while the trainer lives: one run per folder at a time.
    _lock: Option<RunLock>,
    /// LPIPS for validation, where weights/lpips_alex.safetensors exists.
    lpips: Option<Lpips>,
    /// The validation step and score of `best.safetensors`.
    pub best: Option<(u64, f64)>,
    /// Steps the discriminator is still to be trained alone before the next step: a run
    /// resumed from a light checkpoint, or whose discriminator was restarted, has a fresh one.
    pub disc_warmup_left: u64,
    /// The step at which the discriminator was last made afresh (`restart_discriminator`): on
    /// resuming from a light checkpoint, or by a restart within the run.
    fresh_discriminator_at: Option<u64>,
    /// The discriminator's targets for a batch, uploaded once (`Trainer::labels`).
    labels: Option<Labels>,
}

/// An SRGAN's targets for a batch of `size` images, [size, 1] each: "photograph" (1) and
/// "generated" (0).
#[derive(Clone)]
struct Labels {
    size: usize,
    ones: Tensor,
    zeros: Tensor,
}

const CHECKPOINT: &str = "checkpoint.safetensors";
/// Columns added later go at the end, so that older logs keep their meaning.
const LOG_HEADER: &str =
    "step,lr,loss_g,content,adversarial,loss_d,seconds,val_psnr,d_real,d_fake,val_lpips";
/// The generator of the best validation so far.
pub const BEST: &str = "best.safetensors";
/// The folder of `--keep-every`'s generators.
pub const SNAPSHOTS: &str = "snapshots";

impl Trainer {
    /// A fresh run in `dir` (created; an existing checkpoint there is an error: use resume).
    pub fn new(gpu: &Gpu, config: TrainConfig, dir: &Path) -> Result<Trainer> {
        config.check()?;
        std::fs::create_dir_all(dir).context(format!("cannot create {}", dir.display()))?;
        let lock = RunLock::take(dir)?;
        if dir.join(CHECKPOINT).exists() {
            return fail!(
                "{} already holds a run: resume it with --resume, or pick another --out",
                dir.display()
            );
        }
        if let Some(f) = ["generator.safetensors", "log.csv"]
            .iter()
            .find(|f| dir.join(f).exists())
        {
            return fail!(
                "{} holds results of an earlier run ({f}): pick another --out",
                dir.display()
            );
        }
        let mut t = Trainer::build(gpu, config, dir)?;
        t._lock = Some(lock);
        if let Some(init) = &t.config.init {
            io::File::open(init)?.load_into(&t.generator.entries(), true)?;
        }
        t.set_ema(t.config.ema);
        std::fs::write(dir.join("log.csv"), format!("{LOG_HEADER}\n"))
            .context("cannot write log.csv")?;
        Ok(t)
    }

    /// Continues the run in `dir` from its checkpoint; `steps` and `lr_late_from` (if given)
    /// move the end and the learning-rate drop.
    pub fn resume(
        gpu: &Gpu,
        dir: &Path,
        steps: Option<u64>,
        lr_late_from: Option<u64>,
    ) -> Result<Trainer> {
        let lock = RunLock::take(dir)?;
        let file = io::File::open(&dir.join(CHECKPOINT))?;
        let meta = file.metadata();
        let mut config = TrainConfig::from_metadata(&meta)?;
        config.steps = steps.unwrap_or(config.steps);
        config.lr_late_from = lr_late_from.unwrap_or(config.lr_late_from);
        let step: u64 = meta
            .get("step")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| crate::Error("the checkpoint has no step".into()))?;
        let mut t = Trainer::build(gpu, config, dir)?;
        t._lock = Some(lock);
        t.step = step;
        file.load_prefixed(&t.generator.entries(), "generator.", true)?;
        load_adam(&file, &mut t.adam_g, "generator", &meta)?;
        t.set_ema(t.config.ema);
        if let Some(average) = &t.average {
            if !file.names().iter().any(|n| n.starts_with("average.")) {
                return fail!("the checkpoint has no average of the generator, though its run keeps one (--ema): it may be damaged");
            }
            file.load_prefixed(&average.generator.entries(), "average.", true)?;
        }
        let has_discriminator = file.names().iter().any(|n| n.starts_with("discriminator."));
        let fresh = t.discriminator.is_some() && !has_discriminator;
        if fresh && !t.config.light_checkpoints {
            return fail!("the checkpoint has no discriminator, and its run did not ask for light checkpoints: it may be damaged");
        }
        if let (Some(d), Some(adam), false) = (&t.discriminator, &mut t.adam_d, fresh) {
            file.load_prefixed(&d.entries(), "discriminator.", true)?;
            load_adam(&file, adam, "discriminator", &meta)?;
        }
        if fresh {
            // Made as a restart within the run makes it, so that a light checkpoint written
            // at a restart's step (--disc-restart-every) goes on as the run would have.
            t.restart_discriminator();
        }
        t.best = meta
            .get("best")
            .and_then(|v| v.split_once(':'))
            .and_then(|(step, score)| Some((step.parse().ok()?, score.parse().ok()?)));
        truncate_log(&dir.join("log.csv"), t.step)?;
        Ok(t)
    }

    fn build(gpu: &Gpu, config: TrainConfig, dir: &Path) -> Result<Trainer> {
        config.check()?;
        if config.mode == Mode::Srgan {
            discriminator_fits(gpu, &config)?;
        }
        let layer = match config.content {
            ContentLoss::Mse => None,
            ContentLoss::Vgg22 => Some(VggLayer::Conv2_2),
            ContentLoss::Vgg54 => Some(VggLayer::Conv5_4),
            ContentLoss::Vgg54Pre => Some(VggLayer::Conv5_4Pre),
        };
        let vgg = layer
            .map(|l| Vgg19::load(gpu, l, &config.vgg_weights))
            .transpose()?;
        let mut t = Trainer::assemble(gpu, config, dir, vgg)?;
        let lpips = crate::upscale::shipped("lpips_alex.safetensors");
        if t.config.validation.is_some() && lpips.exists() {
            t.lpips = Some(Lpips::load(gpu, &lpips)?);
        }
        Ok(t)
    }

    /// A trainer that writes nothing, with the VGG given (random weights do for timing): what
    /// `bench --networks` times, so that it measures the step `train` runs.
    pub fn for_benchmark(gpu: &Gpu, config: TrainConfig, vgg: Option<Vgg19>) -> Result<Trainer> {
        config.check()?;
        Trainer::assemble(gpu, config, Path::new(""), vgg)
    }

    /// The networks and optimizers of a checked `config`.
    fn assemble(gpu: &Gpu, config: TrainConfig, dir: &Path, vgg: Option<Vgg19>) -> Result<Trainer> {
        let gconf = GeneratorConfig {
            blocks: config.blocks,
            channels: config.channels,
            bn_eps: config.bn_eps,
            tanh: config.tanh,
        };
        let generator = Generator::new(gpu, gconf, config.seed);
        let (discriminator, adam_d) = (config.mode == Mode::Srgan)
            .then(|| fresh_discriminator(gpu, &config, 0))
            .unzip();
        let adam_g = Adam::new(generator.params(), config.lr);
        Ok(Trainer {
            config,
            gpu: gpu.clone(),
            generator,
            average: None,
            discriminator,
            vgg,
            adam_g,
            adam_d,
            step: 0,
            dir: dir.to_path_buf(),
            _lock: None,
            lpips: None,
            best: None,
            disc_warmup_left: 0,
            fresh_discriminator_at: None,
            labels: None,
        })
    }

    /// Content loss between SR and HR, both in [-1, 1].
    fn content_loss(&self, t: &Tape, sr: &Var, hr: &Var) -> Var {
        match &self.vgg {
            None => ag::mse(t, sr, hr),
            Some(vgg) => {
                // VGG takes [0, 1]; its features are scaled as in the paper (1/12.75 there;
                // the weights file's own factor, derived the same way, for other VGGs).
                let f = |x: &Var| {
                    ag::scale(
                        t,
                        &vgg.forward(t, &ag::affine(t, x, 0.5, 0.5)),
                        vgg.loss_scale,
                    )
                };
                ag::mse(t, &f(sr), &f(hr))
            }
        }
    }

    /// One optimisation step on a batch; returns its losses.
    pub fn train_step(&mut self, batch: &Batch) -> Losses {
        self.record_step(batch).wait()
    }

    /// Records one step (discriminator, then generator) and submits it; its losses arrive
    /// through the returned handle while later work runs. Nothing in the step waits for the
    /// GPU: the host records the next step while this one runs.
    pub fn record_step(&mut self, batch: &Batch) -> PendingLosses {
        let c = self.config.clone();
        let lr_now = c.lr_at(self.step);
        self.adam_g.lr = lr_now;
        let (lr_img, hr_img) = self.upload(batch);
        let tape = Tape::new();
        let hr = tape.constant(hr_img.clone());
        let sr = self.generator.forward(&tape, &tape.constant(lr_img), true);
        let adversarial = self.discriminator_step(&tape, &sr, hr_img, lr_now);
        let content = self.content_loss(&tape, &sr, &hr);
        let mut total = content.clone();
        if let Some((adv, ..)) = &adversarial {
            total = ag::add(&tape, &total, &ag::scale(&tape, adv, c.adversarial_weight));
        }
        if c.tv_weight > 0.0 {
            total = ag::add(
                &tape,
                &total,
                &ag::scale(&tape, &ag::total_variation(&tape, &sr), c.tv_weight),
            );
        }
        let scale = loss_scale(sr.value.numel());
        tape.backward_scaled(&total, scale);
        self.adam_g.grad_scale = scale;
        self.adam_g.step();
        if let Some(average) = &self.average {
            average.update(&self.generator);
        }
        self.step += 1;
        let mut values = vec![&total.value, &content.value];
        if let Some((adv, d, (real, fake))) = &adversarial {
            values.extend([&adv.value, d, real, fake]);
        }
        PendingLosses {
            values: Tensor::read_later(&values),
            adversarial: adversarial.is_some(),
        }
    }

    /// Keeps a moving average of the generator's weights with this decay from now on (0:
    /// none). An average the run has keeps its values and takes the new decay; a new one
    /// starts as a copy of the generator. Returns the decay of the average there was, if any.
    pub fn set_ema(&mut self, decay: f32) -> Option<f32> {
        let before = self.average.as_ref().map(|a| a.decay);
        self.config.ema = decay;
        match &mut self.average {
            _ if decay == 0.0 => self.average = None,
            Some(average) => average.decay = decay,
            None => self.average = Some(Average::new(&self.gpu, &self.generator, decay)),
        }
        before
    }

    /// The moving average of the generator's weights, where the run keeps one.
    pub fn average(&self) -> Option<&Average> {
        self.average.as_ref()
    }

    /// The generator the run validates and writes: the moving average where it keeps one,
    /// else the generator in training.
    pub fn kept(&self) -> &Generator {
        self.average
            .as_ref()
            .map_or(&self.generator, |a| &a.generator)
    }

    /// A resumed run's new warm-up length, kept for its later resumes too; it applies now
    /// if this resume made the discriminator afresh. Returns whether it did.
    pub fn set_disc_warmup(&mut self, steps: u64) -> bool {
        self.config.disc_warmup = steps;
        let fresh = self.fresh_discriminator_at == Some(self.step);
        if fresh {
            self.disc_warmup_left = steps;
        }
        fresh
    }

    /// An SRGAN's discriminator.
    pub fn discriminator(&self) -> Option<&Discriminator> {
        self.discriminator.as_ref()
    }

    /// A batch's LR and HR crops on the GPU.
    fn upload(&self, batch: &Batch) -> (Tensor, Tensor) {
        let side = batch.crop / 4;
        (
            Tensor::from_slice(&self.gpu, &[batch.size, 3, side, side], &batch.lr),
            Tensor::from_slice(
                &self.gpu,
                &[batch.size, 3, batch.crop, batch.crop],
                &batch.hr,
            ),
        )
    }

    /// An SRGAN's discriminator step, on the generator's output cut off from the tape, and
    /// the generator's adversarial loss on its tape: (that loss, the discriminator's loss,
    /// D(HR) and D(SR) as probabilities averaged over the batch). None for an SRResNet.
    fn discriminator_step(
        &mut self,
        tape: &Tape,
        sr: &Var,
        hr: Tensor,
        lr_now: f32,
    ) -> Option<(Var, Tensor, (Tensor, Tensor))> {
        let labels = self.labels(hr.shape()[0]);
        let (loss, probabilities) = self.update_discriminator(sr, hr.clone(), &labels, lr_now)?;
        let d = self.discriminator.as_ref()?;
        // The generator's adversarial loss on its tape, with the discriminator's weights
        // frozen there: no gradient is computed for them.
        tape.freeze(&d.params());
        let fake = d.forward(tape, sr, true);
        let adversarial = match self.config.gan_loss {
            // -log D(G(LR))
            GanLoss::Standard => ag::bce_with_logits(tape, &fake, &labels.ones),
            // The discriminator's loss with the targets swapped; HR is a constant here, so
            // the gradient reaches the generator through both terms' SR logits.
            GanLoss::Relativistic => {
                let real = d.forward(tape, &tape.constant(hr), true);
                ag::relativistic_bce(tape, &real, &fake, &labels.zeros, &labels.ones)
            }
        };
        Some((adversarial, loss, probabilities))
    }

    /// The targets for a batch of `size`, made on the first step and kept: they are the same
    /// every step.
    fn labels(&mut self, size: usize) -> Labels {
        match &self.labels {
            Some(l) if l.size == size => l.clone(),
            _ => {
                let l = Labels {
                    size,
                    ones: Tensor::from_slice(&self.gpu, &[size, 1], &vec![1.0; size]),
                    zeros: Tensor::zeros(&self.gpu, &[size, 1]),
                };
                self.labels = Some(l.clone());
                l
            }
        }
    }

    /// One Adam step of the discriminator on HR against `sr` (cut off from its tape), with
    /// `Trainer::labels` of the batch: returns its loss, and D(HR) and D(SR) as probabilities
    /// averaged over the batch.
    fn update_discriminator(
        &mut self,
        sr: &Var,
        hr: Tensor,
        labels: &Labels,
        lr_now: f32,
    ) -> Option<(Tensor, (Tensor, Tensor))> {
        let (Some(d), Some(adam_d)) = (&self.discriminator, &mut self.adam_d) else {
            return None;
        };
        let size = hr.shape()[0];
        adam_d.lr = lr_now * self.config.disc_lr_factor;
        let dt = Tape::new();
        let real = d.forward(&dt, &dt.constant(hr), true);
        let fake = d.forward(&dt, &sr.detach(), true);
        let (ones, zeros) = (&labels.ones, &labels.zeros);
        let relativistic = self.config.gan_loss == GanLoss::Relativistic;
        // As the paper's equations have it, the gradient also runs through the other kind's
        // mean logit (ESRGAN's code cuts it off there); both are the discriminator's logits.
        let loss = if relativistic {
            ag::relativistic_bce(&dt, &real, &fake, ones, zeros)
        } else {
            ag::add(
                &dt,
                &ag::bce_with_logits(&dt, &real, ones),
                &ag::bce_with_logits(&dt, &fake, zeros),
            )
        };
        let scale = loss_scale(size);
        dt.backward_scaled(&loss, scale);
        adam_d.grad_scale = scale;
        adam_d.step();
        // The probabilities the loss scores: D's own, or for the relativistic loss those of
        // "more real than the average of the other kind".
        let it = Tape::inference();
        let (real, fake) = (
            it.constant(real.value.clone()),
            it.constant(fake.value.clone()),
        );
        let (real, fake) = if relativistic {
            ag::relative_logits(&it, &real, &fake)
        } else {
            (real, fake)
        };
        let p = |logits: &Var| ag::mean(&it, &ag::sigmoid(&it, logits)).value;
        Some((loss.value, (p(&real), p(&fake))))
    }
}

/// An SRGAN's discriminator and its Adam state as made at `step`: at the run's start (step 0)
/// and at each restart (`Trainer::restart_discriminator`), with seed seed + 1 + step, so that
/// each restart starts from other weights, and a repeat of the run, resumed or not, from the
/// same.
fn fresh_discriminator(gpu: &Gpu, c: &TrainConfig, step: u64) -> (Discriminator, Adam) {
    let seed = c.seed.wrapping_add(1).wrapping_add(step);
    let d = Discriminator::new(gpu, seed, c.disc_width, c.crop);
    let adam = Adam::new(d.params(), c.lr);
    (d, adam)
}

/// The loss scale for a loss averaged over `elements` values: a mean gives each of them a
/// gradient near 1/elements (under 1e-5 for a batch of SR images), which f16 operands of the
/// mixed-precision products would round to zero or few bits (its smallest normal is 6e-5).
/// Scaling by the element count, rounded down to a power of two so that it is exact, brings
/// them near 1, far from f16's ceiling of 65504. Adam divides it out again.
fn loss_scale(elements: usize) -> f32 {
    (elements.max(1) as f32).log2().floor().exp2()
}

/// Loads a training folder and checks it, and the validation folder, before any GPU work.
pub fn load_data(config: &TrainConfig) -> Result<Arc<Dataset>> {
    config.check()?;
    let data = Dataset::load(&config.data, config.crop)?;
    if let Some(v) = &config.validation {
        let usable = crate::eval::image_files(v)
            .map_err(|e| crate::Error(format!("--val: {e}")))?
            .iter()
            .filter_map(|f| crate::imaging::io::load_rgb(f).ok())
            .filter(|hr| hr.height >= 16 && hr.width >= 16)
            .count();
        if usable == 0 {
            return fail!("--val {}: no readable image of at least 16x16", v.display());
        }
    }
    Ok(Arc::new(data))
}

/// The discriminator's first dense layer is one matrix product over its whole weight, which
/// grows with the crop's area and must fit one storage binding: say which crop fits before
/// anything is loaded, rather than stop at the first step with the weight's shape.
fn discriminator_fits(gpu: &Gpu, config: &TrainConfig) -> Result<()> {
    let limit = gpu.max_binding();
    let bytes = |crop| {
        let (inputs, outputs) = discriminator::dense_size(config.disc_width, crop);
        (inputs as u64).saturating_mul(outputs as u64 * 4)
    };
    if bytes(config.crop) <= limit {
        return Ok(());
    }
    // KiB where a MiB would read as 0 (tests lower the limit to a few KiB).
    let size = |b: u64| match b >> 20 {
        0 => format!("{} KiB", b >> 10),
        mib => format!("{mib} MiB"),
    };
    let what = format!(
        "on {}-pixel crops the discriminator's dense layer is {}, larger than this GPU's storage binding limit ({})",
        config.crop,
        size(bytes(config.crop)),
        size(limit)
    );
    match (16..config.crop)
        .step_by(16)
        .rev()
        .find(|&c| bytes(c) <= limit)
    {
        Some(16) => fail!("{what}: take --crop 16"),
        Some(crop) => fail!("{what}: take --crop {crop} or less"),
        None => fail!("{what} at any crop: take a smaller --disc-width"),
    }
}
