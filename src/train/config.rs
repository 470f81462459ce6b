//! What a training run is: every choice the CLI offers, stored in each checkpoint's metadata
//! so that `--resume` continues with exactly the same settings.

use crate::error::Result;
use crate::fail;
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// The generator alone with a content loss (the paper's SRResNet).
    Srresnet,
    /// Generator against discriminator (the paper's SRGAN), from an SRResNet.
    Srgan,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ContentLoss {
    /// Pixel MSE on HR scaled to [-1, 1].
    Mse,
    /// MSE of VGG19 φ2,2 features, scaled (1/12.75 in the paper; see `Vgg19::loss_scale`).
    Vgg22,
    /// MSE of VGG19 φ5,4 features, scaled (1/12.75 in the paper; see `Vgg19::loss_scale`).
    Vgg54,
    /// MSE of VGG19 φ5,4 features before their ReLU (ESRGAN's choice), scaled likewise.
    Vgg54Pre,
}

/// How an SRGAN's discriminator judges, and so what the generator's adversarial loss is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GanLoss {
    /// The paper's: D(x) is the probability that x is a photograph; the generator
    /// minimises -log D(G(LR)).
    Standard,
    /// Relativistic average (Jolicoeur-Martineau 2018; ESRGAN): D says whether a photograph
    /// looks more real than the average generated image, and the generator is trained on
    /// both terms (`autograd::relativistic_bce`).
    Relativistic,
}

impl std::str::FromStr for GanLoss {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<GanLoss> {
        match s {
            "standard" => Ok(GanLoss::Standard),
            "relativistic" => Ok(GanLoss::Relativistic),
            _ => fail!("'{s}' is not standard or relativistic"),
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Mode> {
        match s {
            "srresnet" => Ok(Mode::Srresnet),
            "srgan" => Ok(Mode::Srgan),
            _ => fail!("'{s}' is not srresnet or srgan"),
        }
    }
}

impl std::str::FromStr for ContentLoss {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<ContentLoss> {
        match s {
            "mse" => Ok(ContentLoss::Mse),
            "vgg22" => Ok(ContentLoss::Vgg22),
            "vgg54" => Ok(ContentLoss::Vgg54),
            "vgg54pre" => Ok(ContentLoss::Vgg54Pre),
            _ => fail!("'{s}' is not mse, vgg22, vgg54 or vgg54pre"),
        }
    }
}

/// Steps a fresh discriminator is trained alone when a run resumes without one (`train
/// --disc-warmup`'s default).
pub const DISC_WARMUP: u64 = 1000;

#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    pub mode: Mode,
    pub data: PathBuf,
    pub steps: u64,
    pub batch: usize,
    pub crop: usize,
    pub lr: f32,
    /// From this step on the learning rate is `lr_late` (the paper: 1e-5 after 1e5 steps).
    pub lr_late_from: u64,
    pub lr_late: f32,
    pub seed: u64,
    pub augment: bool,
    pub content: ContentLoss,
    pub vgg_weights: PathBuf,
    /// Generator weights a fresh run starts from (either mode); the optimizer starts afresh.
    pub init: Option<PathBuf>,
    pub blocks: usize,
    pub channels: usize,
    /// The generator's batch norm epsilon and output tanh: an `--init` file's, else the
    /// paper's (1e-5, true).
    pub bn_eps: f32,
    pub tanh: bool,
    pub disc_width: f32,
    /// The discriminator's learning rate as a multiple of the generator's (1: the paper's).
    pub disc_lr_factor: f32,
    pub adversarial_weight: f32,
    pub gan_loss: GanLoss,
    pub tv_weight: f32,
    pub validation: Option<PathBuf>,
    pub validate_every: u64,
    pub checkpoint_every: u64,
    /// Every this many steps the generator is also kept as `snapshots/generator_STEP.safetensors`,
    /// for averaging late generators (tools/average_generators.py); 0: never.
    pub keep_every: u64,
    /// An SRGAN's checkpoints leave out the discriminator and its Adam state (about 94% of
    /// the file). A run resumed from such a checkpoint starts a fresh discriminator and
    /// trains it alone for `disc_warmup` steps first (`Trainer::warm_up_discriminator`: the
    /// generator's weights stay, its batch norm running statistics move).
    pub light_checkpoints: bool,
    pub disc_warmup: u64,
    /// After each step that is a multiple of this, an SRGAN's discriminator and its Adam state
    /// are replaced by fresh ones and the fresh one is trained alone for `disc_warmup` steps,
    /// as on resuming from a light checkpoint; 0: never. weights/SRGAN.md compares a run with
    /// restarts against its twin without them.
    pub disc_restart_every: u64,
    /// The decay of the moving average of the generator's weights that the run validates and
    /// writes (`average::Average`); 0: none, the generator in training is written.
    pub ema: f32,
}

impl TrainConfig {
    /// The learning rate of a step: `lr`, then `lr_late` from `lr_late_from` on.
    pub fn lr_at(&self, step: u64) -> f32 {
        if step >= self.lr_late_from {
            self.lr_late
        } else {
            self.lr
        }
    }

    pub fn to_metadata(&self) -> HashMap<String, String> {
        let mode = format!("{:?}", self.mode).to_lowercase();
        let content = format!("{:?}", self.content).to_lowercase();
        let path = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or(String::new(), |p| p.display().to_string())
        };
        [
            ("mode", mode),
            ("data", self.data.display().to_string()),
            ("steps", self.steps.to_string()),
            ("batch", self.batch.to_string()),
            ("crop", self.crop.to_string()),
            ("lr", self.lr.to_string()),
            ("lr_late_from", self.lr_late_from.to_string()),
            ("lr_late", self.lr_late.to_string()),
            ("seed", self.seed.to_string()),
            ("augment", self.augment.to_string()),
            ("content", content),
            ("vgg_weights", self.vgg_weights.display().to_string()),
            ("init", path(&self.init)),
            ("blocks", self.blocks.to_string()),
            ("channels", self.channels.to_string()),
            ("bn_eps", self.bn_eps.to_string()),
            ("tanh", self.tanh.to_string()),
            ("disc_width", self.disc_width.to_string()),
            ("disc_lr_factor", self.disc_lr_factor.to_string()),
            ("adversarial_weight", self.adversarial_weight.to_string()),
            ("gan_loss", format!("{:?}", self.gan_loss).to_lowercase()),
            ("tv_weight", self.tv_weight.to_string()),
            ("validation", path(&self.validation)),
            ("validate_every", self.validate_every.to_string()),
            ("checkpoint_every", self.checkpoint_every.to_string()),
            ("keep_every", self.keep_every.to_string()),
            ("light_checkpoints", self.light_checkpoints.to_string()),
            ("disc_warmup", self.disc_warmup.to_string()),
            ("disc_restart_every", self.disc_restart_every.to_string()),
            ("ema", self.ema.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (format!("config.{k}"), v))
        .collect()
    }

    /// That every setting is one a run can use, whether it came from the flags or from a
    /// checkpoint (which could be damaged or written by hand): counts in range, a batch whose
    /// crops fit memory, rates that are numbers.
    pub fn check(&self) -> Result<()> {
        let whole = |name: &str, v: usize, most: usize| -> Result<()> {
            if (1..=most).contains(&v) {
                Ok(())
            } else {
                fail!("{name} {v}: a whole number from 1 to {most}")
            }
        };
        whole("batch", self.batch, 1024)?;
        whole("blocks", self.blocks, 256)?;
        whole("channels", self.channels, 1024)?;
        if !self.crop.is_multiple_of(16) || !(16..=1024).contains(&self.crop) {
            return fail!(
                "crop {}: a multiple of 16 from 16 to 1024 (the paper uses 96)",
                self.crop
            );
        }
        // The batch's HR crops in f32 on the host, and their LR.
        let bytes = (self.batch * 3 * self.crop * self.crop * 4) as u64 * 17 / 16;
        if bytes > 4 << 30 {
            return fail!(
                "batch {} of {}x{} crops takes {} MB on the host: at most 4096",
                self.batch,
                self.crop,
                self.crop,
                bytes >> 20
            );
        }
        let positive = |name: &str, v: f32| -> Result<()> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                fail!("{name} {v}: a positive number")
            }
        };
        positive("lr", self.lr)?;
        positive("lr_late", self.lr_late)?;
        positive("disc_lr_factor", self.disc_lr_factor)?;
        if !(self.disc_width.is_finite() && self.disc_width > 0.0 && self.disc_width <= 8.0) {
            return fail!(
                "disc_width {}: a number above 0 and at most 8",
                self.disc_width
            );
        }
        for (name, v) in [
            ("adversarial_weight", self.adversarial_weight),
            ("tv_weight", self.tv_weight),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return fail!("{name} {v}: a number of at least 0");
            }
        }
        if !(self.bn_eps.is_finite() && self.bn_eps > 0.0 && self.bn_eps < 1.0) {
            return fail!("bn_eps {}: a number between 0 and 1", self.bn_eps);
        }
        if self.disc_restart_every > 0 && self.mode != Mode::Srgan {
            return fail!(
                "disc_restart_every (--disc-restart-every) {}: only an SRGAN has a discriminator to restart",
                self.disc_restart_every
            );
        }
        if !(self.ema.is_finite() && (0.0..1.0).contains(&self.ema)) {
            return fail!(
                "ema (--ema) {}: a decay of at least 0 and below 1 (0.999 averages about the last 1,000 steps)",
                self.ema
            );
        }
        if self.steps == 0 || self.checkpoint_every == 0 {
            return fail!("steps and checkpoint_every must be at least 1");
        }
        Ok(())
    }

    pub fn from_metadata(m: &HashMap<String, String>) -> Result<TrainConfig> {
        let get = |k: &str| {
            m.get(&format!("config.{k}"))
                .cloned()
                .ok_or_else(|| crate::Error(format!("the checkpoint has no config.{k}")))
        };
        fn num<T: std::str::FromStr>(k: &str, v: String) -> Result<T> {
            v.parse()
                .map_err(|_| crate::Error(format!("bad config.{k} = {v} in the checkpoint")))
        }
        let opt = |v: String| (!v.is_empty()).then(|| PathBuf::from(v));
        // Mode, content and gan_loss are written by their command-line names (to_metadata).
        Ok(TrainConfig {
            mode: num("mode", get("mode")?)?,
            data: PathBuf::from(get("data")?),
            steps: num("steps", get("steps")?)?,
            batch: num("batch", get("batch")?)?,
            crop: num("crop", get("crop")?)?,
            lr: num("lr", get("lr")?)?,
            lr_late_from: num("lr_late_from", get("lr_late_from")?)?,
            lr_late: num("lr_late", get("lr_late")?)?,
            seed: num("seed", get("seed")?)?,
            augment: get("augment")? == "true",
            content: num("content", get("content")?)?,
            vgg_weights: PathBuf::from(get("vgg_weights")?),
            init: opt(get("init")?),
            blocks: num("blocks", get("blocks")?)?,
            channels: num("channels", get("channels")?)?,
            // Checkpoints written before these were recorded used the paper's values.
            bn_eps: get("bn_eps").map_or(Ok(1e-5), |v| num("bn_eps", v))?,
            tanh: get("tanh").map_or(true, |v| v == "true"),
            disc_width: num("disc_width", get("disc_width")?)?,
            // Older checkpoints trained the discriminator at the generator's rate.
            disc_lr_factor: get("disc_lr_factor").map_or(Ok(1.0), |v| num("disc_lr_factor", v))?,
            adversarial_weight: num("adversarial_weight", get("adversarial_weight")?)?,
            // Older checkpoints used the paper's loss.
            gan_loss: get("gan_loss").map_or(Ok(GanLoss::Standard), |v| num("gan_loss", v))?,
            tv_weight: num("tv_weight", get("tv_weight")?)?,
            validation: opt(get("validation")?),
            validate_every: num("validate_every", get("validate_every")?)?,
            checkpoint_every: num("checkpoint_every", get("checkpoint_every")?)?,
            // Older checkpoints kept no snapshots.
            keep_every: get("keep_every").map_or(Ok(0), |v| num("keep_every", v))?,
            // Older checkpoints always held the discriminator.
            light_checkpoints: get("light_checkpoints")
                .map_or(Ok(false), |v| num("light_checkpoints", v))?,
            disc_warmup: get("disc_warmup").map_or(Ok(DISC_WARMUP), |v| num("disc_warmup", v))?,
            // Older checkpoints never restarted it.
            disc_restart_every: get("disc_restart_every")
                .map_or(Ok(0), |v| num("disc_restart_every", v))?,
            // Older checkpoints kept no average.
            ema: get("ema").map_or(Ok(0.0), |v| num("ema", v))?,
        })
    }
}
