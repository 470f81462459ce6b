//! The command line's arguments (clap): what each command and flag means, and the checks of
//! single values. Everything else is library code that `commands.rs` calls.

use clap::{Parser, Subcommand};
use srgan_wgpu::eval::LrResize;
use srgan_wgpu::gpu::Kernels;
use srgan_wgpu::imaging::io;
use srgan_wgpu::train::{ContentLoss, GanLoss, Mode};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "srgan-wgpu",
    version,
    about = "SRGAN 4x super-resolution on a GPU engine written in Rust and WGSL"
)]
pub struct Cli {
    /// Adapter to use: its number in `info`'s list, or part of its name or backend ("0",
    /// "vulkan", "H100", "llvmpipe"); default: $SRGAN_WGPU_ADAPTER, else the fastest-looking
    /// one. Several, comma-separated ("0,1"), share the images of a folder to upscale.
    #[arg(long, short = 'g', global = true)]
    pub adapter: Option<String>,
    /// Kernels of convolutions and matrix products: naive (one invocation per output value,
    /// slow), f32, half (f16 multiply-adds, f32 sums across K steps; needs shader-f16) or
    /// mixed (f16 operands, f32 sums, on tensor cores); default: $SRGAN_WGPU_KERNELS, else
    /// mixed where the adapter has f16 cooperative matrices, else half on a GPU with
    /// shader-f16, else f32.
    #[arg(long, global = true, visible_alias = "precision")]
    pub kernels: Option<Kernels>,
    /// Largest image accepted, in pixels (width x height), checked before decoding.
    #[arg(long, global = true, default_value_t = io::DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// List the GPU adapters, the chosen one, its limits and features.
    Info,
    /// Time every kernel at SRGAN's shapes.
    Bench {
        /// Batch size (SRGAN trains with 16).
        #[arg(long, default_value_t = 16)]
        batch: usize,
        /// Repetitions per kernel.
        #[arg(long, default_value_t = 10)]
        reps: u32,
        /// Time whole networks (the peer benchmark's workloads) instead of kernels.
        #[arg(long)]
        networks: bool,
    },
    /// Upscale an image, or every image in a folder (recursively, names kept), by 4.
    Upscale {
        /// An image (PNG, JPEG, WebP, TIFF) or a folder of them.
        input: PathBuf,
        /// Output file (for one image; default NAME_x4.png beside it) or folder.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// A shipped model by name (srresnet, srgan) or a generator file; default: srresnet.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Tile side in LR pixels (0: the largest the GPU's limits allow; else at least 8).
        #[arg(long, default_value_t = 0, value_parser = tile_side)]
        tile: usize,
        /// Only the images of shard K of N (0 <= K < N) of a folder: the ones whose relative
        /// path hashes to K (FNV-1a 64 modulo N). Stable when the folder changes; the N shards
        /// together are the whole folder once. For array jobs (Slurm, Kubernetes).
        #[arg(long, value_parser = parse_shard)]
        shard: Option<(u64, u64)>,
        /// Leave images whose output already exists (outputs are written whole or not at all),
        /// so that a re-run finishes only what is missing.
        #[arg(long)]
        skip_existing: bool,
        /// Final scale: the 4x result resized (bicubic, antialiased) to this factor of the
        /// input, e.g. 2 or 3.5.
        #[arg(long, default_value_t = 4.0, value_parser = positive)]
        outscale: f32,
        /// Upscale each image in its eight orientations (rotated, mirrored) and average the
        /// results turned back (self-ensemble): eight times the work; +0.13 dB PSNR with
        /// srresnet on the validation crops, a blur with the GAN models
        /// (weights/MODEL_CARD.md).
        #[arg(long)]
        self_ensemble: bool,
    },
    /// PSNR and SSIM (Y channel, 4-pixel border) of a model and of bicubic over HR images.
    Eval {
        /// Folder of HR images (or one image).
        dir: PathBuf,
        /// A shipped model by name (srresnet, srgan) or a generator file; default: srresnet.
        #[arg(long)]
        model: Option<PathBuf>,
        /// How LR images are made from the HR ones.
        /// matlab (the SR literature's) or pil.
        #[arg(long, default_value = "matlab")]
        lr_resize: LrResize,
        /// Also write the table as CSV here.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// LPIPS (AlexNet) weights made by tools/convert_lpips_alex.py; default:
        /// weights/lpips_alex.safetensors, LPIPS left out where it is missing.
        #[arg(long)]
        lpips_weights: Option<PathBuf>,
        /// Tile side in LR pixels, as for upscale.
        #[arg(long, default_value_t = 0, value_parser = tile_side)]
        tile: usize,
        /// Score the self-ensemble of the model, as for upscale.
        #[arg(long)]
        self_ensemble: bool,
    },
    /// One picture with HR, bicubic and each model's result side by side, plus zoomed crops.
    Compare {
        /// An HR image (its LR is made by x4 bicubic downscaling).
        hr: PathBuf,
        /// A shipped model by name (srresnet, srgan) or a generator file, one column each, in
        /// order (repeatable; default: srresnet); with a "+" after it, its self-ensemble.
        #[arg(long)]
        model: Vec<PathBuf>,
        /// Column names for the models, in order (repeatable; default: each model's name or
        /// file name).
        #[arg(long)]
        label: Vec<String>,
        /// Zoomed region as Y,X,SIDE in HR pixels (default: a square around the centre).
        #[arg(long, value_parser = parse_region)]
        region: Option<(usize, usize, usize)>,
        #[arg(short, long, default_value = "compare.png")]
        output: PathBuf,
        /// LPIPS weights, as for eval.
        #[arg(long)]
        lpips_weights: Option<PathBuf>,
        /// Every model's column is its self-ensemble: eight orientations averaged, eight times
        /// the work; it blurs the GAN models (see upscale --help). For one column only, give
        /// its model as NAME+ (e.g. --model srresnet --model srresnet+). Unlabelled, such a
        /// column is named with the "+".
        #[arg(long)]
        self_ensemble: bool,
    },
    /// Train an SRResNet (content loss only) or an SRGAN (from an SRResNet), or resume.
    Train(TrainArgs),
    /// Draw a training run's log.csv as an SVG picture: losses, D(HR) and D(SR), validation
    /// PSNR and LPIPS against the step.
    Plot {
        /// A run folder (its log.csv is read) or a log.csv.
        run: PathBuf,
        /// The picture (default: curves.svg in the run folder).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
pub struct TrainArgs {
    /// srresnet or srgan (not needed with --resume).
    #[arg(required_unless_present = "resume")]
    pub mode: Option<Mode>,
    /// Continue the run in this folder from its checkpoint, with its settings.
    #[arg(long, conflicts_with = "mode")]
    pub resume: Option<PathBuf>,
    /// Folder of training photos (PNG, JPEG, WebP, TIFF; searched recursively).
    #[arg(long, required_unless_present = "resume")]
    pub data: Option<PathBuf>,
    /// Run folder for checkpoints, the generator and log.csv.
    #[arg(long, default_value = "runs/latest")]
    pub out: PathBuf,
    /// Total steps (with --resume: a new end).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: Option<u64>,
    #[arg(long, default_value_t = 16, value_parser = count)]
    pub batch: usize,
    /// HR crop side in pixels (LR is a quarter), a multiple of 16.
    #[arg(long, default_value_t = 96, value_parser = count)]
    pub crop: usize,
    #[arg(long, default_value_t = 1e-4, value_parser = positive)]
    pub lr: f32,
    /// Learning rate from --lr-late-from on.
    #[arg(long, default_value_t = 1e-5, value_parser = positive)]
    pub lr_late: f32,
    /// Step from which --lr-late applies (with --resume: a new step).
    #[arg(long)]
    pub lr_late_from: Option<u64>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// No random flips and rotations.
    #[arg(long)]
    pub no_augment: bool,
    /// Content loss: mse, vgg22, vgg54 or vgg54pre (default: mse for srresnet, vgg54 for
    /// srgan). vgg54pre takes conv5_4's output before its ReLU, as ESRGAN does.
    #[arg(long)]
    pub content_loss: Option<ContentLoss>,
    /// VGG19 weights for the VGG content losses: the ImageNet VGG19 converted by
    /// tools/convert_vgg_normalised.py (weights/VGG19.md says how), or torchvision's by
    /// tools/convert_vgg19.py (not for vgg54pre, whose loss scale it lacks).
    #[arg(long, default_value = "weights/vgg19.safetensors")]
    pub vgg_weights: PathBuf,
    /// Generator weights to start from: the SRResNet an SRGAN starts from, or an SRResNet to
    /// train further (the optimizer starts afresh).
    #[arg(long)]
    pub init: Option<PathBuf>,
    #[arg(long, default_value_t = 16, value_parser = count)]
    pub blocks: usize,
    #[arg(long, default_value_t = 64, value_parser = count)]
    pub channels: usize,
    /// Scales the discriminator's channel counts (1 = the paper's).
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    pub disc_width: f32,
    /// The discriminator's learning rate as a multiple of the generator's, for a
    /// discriminator that wins too soon (D(SR) near 0 in `plot`); 1 is the paper's.
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    pub disc_lr_factor: f32,
    #[arg(long, default_value_t = 1e-3, value_parser = non_negative)]
    pub adversarial_weight: f32,
    /// The adversarial loss: standard (the paper's, -log D(SR)) or relativistic (ESRGAN's
    /// relativistic average: D judges whether a photograph looks more real than the average
    /// SR image and the other way round; the generator's loss has both terms, and
    /// --adversarial-weight weighs their sum) [default: standard; a resumed run keeps its own].
    #[arg(long)]
    pub gan_loss: Option<GanLoss>,
    /// Total variation weight (the paper mentions 2e-8).
    #[arg(long, default_value_t = 0.0, value_parser = non_negative)]
    pub tv_weight: f32,
    /// Folder of HR images for validation: PSNR, and LPIPS where
    /// weights/lpips_alex.safetensors exists. The best validation's generator is kept as
    /// best.safetensors (by LPIPS for an SRGAN, else PSNR).
    #[arg(long)]
    pub val: Option<PathBuf>,
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub val_every: u64,
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: u64,
    /// Also keep the generator (with --ema, the average) of every N-th step as
    /// snapshots/generator_STEP.safetensors, for averaging late generators
    /// (tools/average_generators.py); 0: none.
    #[arg(long, default_value_t = 0)]
    pub keep_every: u64,
    /// SRGAN: checkpoints without the discriminator and its optimizer state (about 19 MB, 25
    /// with --ema, instead of 300 at --crop 96). A run resumed from one starts a fresh
    /// discriminator and trains it alone for --disc-warmup steps before the generator goes
    /// on. With --resume: the run's checkpoints are light from now on.
    #[arg(long)]
    pub light_checkpoints: bool,
    /// Steps a fresh discriminator is trained alone when a run resumes from a light
    /// checkpoint or restarts it (--disc-restart-every); the generator's weights and the step
    /// stay [default: 1000; with --resume: a new count, kept for later resumes too].
    #[arg(long)]
    pub disc_warmup: Option<u64>,
    /// SRGAN: after each step that is a multiple of N (counted from the run's start), a fresh
    /// discriminator, with a fresh optimizer state, replaces the one in training and is
    /// trained alone for --disc-warmup steps, as on resuming from a light checkpoint; 0: never
    /// [default: 0; with --resume: a new interval, kept for later resumes too].
    #[arg(long)]
    pub disc_restart_every: Option<u64>,
    /// Keep an exponential moving average of the generator's weights, updated after every
    /// step with this decay (0.999 weighs about the last 1,000 steps), and validate and write
    /// (generator.safetensors, best.safetensors, snapshots) the average instead of the
    /// generator in training; 0: none. The average starts as a copy of the generator, so early
    /// validations still carry the weights it started from [default: 0; with --resume: a new
    /// decay, kept for later resumes too; a run that had no average starts one as a copy of
    /// its generator].
    #[arg(long)]
    pub ema: Option<f32>,
}

/// K/N with 0 <= K < N.
fn parse_shard(s: &str) -> std::result::Result<(u64, u64), String> {
    let bad = || format!("'{s}' is not K/N with 0 <= K < N (e.g. 0/4)");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    match (k.trim().parse::<u64>(), n.trim().parse::<u64>()) {
        (Ok(k), Ok(n)) if k < n => Ok((k, n)),
        _ => Err(bad()),
    }
}

/// A count that must be at least 1 (batch, channels, blocks, crop).
fn count(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("'{s}' is not a whole number of at least 1")),
    }
}

fn tile_side(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n == 0 || n >= 8 => Ok(n),
        _ => Err(format!(
            "'{s}' is not 0 (automatic) or a tile side of at least 8"
        )),
    }
}

fn positive(s: &str) -> std::result::Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a positive number")),
    }
}

fn non_negative(s: &str) -> std::result::Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a number of at least 0")),
    }
}

fn parse_region(s: &str) -> std::result::Result<(usize, usize, usize), String> {
    let v: Vec<usize> = s
        .split(',')
        .map(|p| {
            p.trim()
                .parse()
                .map_err(|_| format!("'{s}' is not Y,X,SIDE"))
        })
        .collect::<std::result::Result<_, _>>()?;
    match v[..] {
        [y, x, side] if side > 0 => Ok((y, x, side)),
        _ => Err(format!("'{s}' is not Y,X,SIDE")),
    }
}
