//! The `srgan-wgpu` command line: parses arguments and calls the library.

use clap::{Parser, Subcommand};
use srgan_wgpu::eval::{self, LrResize};
use srgan_wgpu::gpu::{list_adapters, AdapterChoice, Precision};
use srgan_wgpu::imaging::io;
use srgan_wgpu::models::Lpips;
use srgan_wgpu::models::{Generator, GeneratorConfig};
use srgan_wgpu::nn::io as nn_io;
use srgan_wgpu::train::{load_data, ContentLoss, Mode, TrainConfig, Trainer};
use srgan_wgpu::upscale::{default_weights, load_generator, model_path, shipped, Upscaler};
use srgan_wgpu::{fail, Error, Gpu, Result};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "srgan-wgpu",
    version,
    about = "SRGAN 4x super-resolution on a GPU engine written in Rust and WGSL"
)]
struct Cli {
    /// Adapter to use: its number in `info`'s list, or part of its name or backend ("0",
    /// "vulkan", "H100", "llvmpipe"); default: $SRGAN_WGPU_ADAPTER, else the fastest-looking
    /// one. Several, comma-separated ("0,1"), share the images of a folder to upscale.
    #[arg(long, short = 'g', global = true)]
    adapter: Option<String>,
    /// Matrix products in f32, or mixed (f16 operands, f32 sums, on tensor cores); default:
    /// $SRGAN_WGPU_PRECISION, else mixed where the adapter has f16 cooperative matrices.
    #[arg(long, global = true)]
    precision: Option<Precision>,
    /// Largest image accepted, in pixels (width x height), checked before decoding.
    #[arg(long, global = true, default_value_t = io::DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    },
    /// One picture with HR, bicubic and each model's result side by side, plus zoomed crops.
    Compare {
        /// An HR image (its LR is made by x4 bicubic downscaling).
        hr: PathBuf,
        /// A shipped model by name (srresnet, srgan) or a generator file, one column each, in
        /// order (repeatable; default: srresnet).
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
struct TrainArgs {
    /// srresnet or srgan (not needed with --resume).
    #[arg(required_unless_present = "resume")]
    mode: Option<Mode>,
    /// Continue the run in this folder from its checkpoint, with its settings.
    #[arg(long, conflicts_with = "mode")]
    resume: Option<PathBuf>,
    /// Folder of training photos (PNG, JPEG, WebP, TIFF; searched recursively).
    #[arg(long, required_unless_present = "resume")]
    data: Option<PathBuf>,
    /// Run folder for checkpoints, the generator and log.csv.
    #[arg(long, default_value = "runs/latest")]
    out: PathBuf,
    /// Total steps (with --resume: a new end).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    steps: Option<u64>,
    #[arg(long, default_value_t = 16, value_parser = count)]
    batch: usize,
    /// HR crop side in pixels (LR is a quarter), a multiple of 16.
    #[arg(long, default_value_t = 96, value_parser = count)]
    crop: usize,
    #[arg(long, default_value_t = 1e-4, value_parser = positive)]
    lr: f32,
    /// Learning rate from --lr-late-from on.
    #[arg(long, default_value_t = 1e-5, value_parser = positive)]
    lr_late: f32,
    /// Step from which --lr-late applies (with --resume: a new step).
    #[arg(long)]
    lr_late_from: Option<u64>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// No random flips and rotations.
    #[arg(long)]
    no_augment: bool,
    /// Content loss: mse, vgg22 or vgg54 (default: mse for srresnet, vgg54 for srgan).
    #[arg(long)]
    content_loss: Option<ContentLoss>,
    /// VGG19 weights for the VGG content losses: the ImageNet VGG19 converted by
    /// tools/convert_vgg_normalised.py (weights/VGG19.md says how), or torchvision's by
    /// tools/convert_vgg19.py.
    #[arg(long, default_value = "weights/vgg19.safetensors")]
    vgg_weights: PathBuf,
    /// Generator weights to start from: the SRResNet an SRGAN starts from, or an SRResNet to
    /// train further (the optimizer starts afresh).
    #[arg(long)]
    init: Option<PathBuf>,
    #[arg(long, default_value_t = 16, value_parser = count)]
    blocks: usize,
    #[arg(long, default_value_t = 64, value_parser = count)]
    channels: usize,
    /// Scales the discriminator's channel counts (1 = the paper's).
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    disc_width: f32,
    /// The discriminator's learning rate as a multiple of the generator's, for a
    /// discriminator that wins too soon (D(SR) near 0 in `plot`); 1 is the paper's.
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    disc_lr_factor: f32,
    #[arg(long, default_value_t = 1e-3, value_parser = non_negative)]
    adversarial_weight: f32,
    /// Total variation weight (the paper mentions 2e-8).
    #[arg(long, default_value_t = 0.0, value_parser = non_negative)]
    tv_weight: f32,
    /// Folder of HR images for validation: PSNR, and LPIPS where
    /// weights/lpips_alex.safetensors exists. The best validation's generator is kept as
    /// best.safetensors (by LPIPS for an SRGAN, else PSNR).
    #[arg(long)]
    val: Option<PathBuf>,
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    val_every: u64,
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_every: u64,
    /// Also keep the generator of every N-th step as snapshots/generator_STEP.safetensors, for
    /// averaging late generators (tools/average_generators.py); 0: none.
    #[arg(long, default_value_t = 0)]
    keep_every: u64,
}

fn train(gpu: &Gpu, a: TrainArgs) -> Result<()> {
    let (mut trainer, data) = match (&a.resume, a.mode, &a.data) {
        (Some(dir), _, _) => {
            let trainer = Trainer::resume(gpu, dir, a.steps, a.lr_late_from)?;
            let data = load_data(&trainer.config)?;
            (trainer, data)
        }
        (None, Some(mode), Some(data)) => {
            if mode == Mode::Srgan && a.init.is_none() {
                eprintln!("warning: training an SRGAN from scratch; the paper starts from a trained SRResNet (--init)");
            }
            let content = a.content_loss.unwrap_or(if mode == Mode::Srgan {
                ContentLoss::Vgg54
            } else {
                ContentLoss::Mse
            });
            // A run from an init file trains that file's generator: its architecture, batch
            // norm epsilon and output tanh (a converted Keras model has eps 1e-3).
            let arch = match &a.init {
                Some(init) => GeneratorConfig::from_metadata(&nn_io::File::open(init)?.metadata())?,
                None => GeneratorConfig {
                    blocks: a.blocks,
                    channels: a.channels,
                    ..Default::default()
                },
            };
            if a.init.is_some()
                && (a.blocks, a.channels) != (16, 64)
                && (a.blocks, a.channels) != (arch.blocks, arch.channels)
            {
                return fail!(
                    "--blocks {} --channels {} do not match the --init file ({} blocks of {} channels)",
                    a.blocks,
                    a.channels,
                    arch.blocks,
                    arch.channels
                );
            }
            let config = TrainConfig {
                mode,
                data: data.clone(),
                steps: a.steps.unwrap_or(100_000),
                batch: a.batch,
                crop: a.crop,
                lr: a.lr,
                lr_late_from: a.lr_late_from.unwrap_or(u64::MAX),
                lr_late: a.lr_late,
                seed: a.seed,
                augment: !a.no_augment,
                content,
                vgg_weights: a.vgg_weights,
                init: a.init,
                blocks: arch.blocks,
                channels: arch.channels,
                bn_eps: arch.bn_eps,
                tanh: arch.tanh,
                disc_width: a.disc_width,
                disc_lr_factor: a.disc_lr_factor,
                adversarial_weight: a.adversarial_weight,
                tv_weight: a.tv_weight,
                validation: a.val,
                validate_every: a.val_every,
                checkpoint_every: a.checkpoint_every.max(1),
                keep_every: a.keep_every,
            };
            // The data and validation folders are checked before the run folder is touched.
            let data = load_data(&config)?;
            (Trainer::new(gpu, config, &a.out)?, data)
        }
        _ => return fail!("train needs a mode and --data, or --resume"),
    };
    eprintln!(
        "training on {} images from {}",
        data.len(),
        trainer.config.data.display()
    );
    trainer.run(data, None)
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

/// compare's models and, for the first of them, their column names.
struct Columns {
    models: Vec<PathBuf>,
    labels: Vec<String>,
}

fn compare(
    gpu: &Gpu,
    hr: &Path,
    Columns { models, labels }: Columns,
    region: Option<(usize, usize, usize)>,
    output: &Path,
    lpips: Option<&Lpips>,
) -> Result<()> {
    io::output_format(output)?;
    let models = if models.is_empty() {
        vec![PathBuf::from("srresnet")]
    } else {
        models
    };
    let generators = models
        .iter()
        .map(|m| load_generator(gpu, &model_path(m)))
        .collect::<Result<Vec<_>>>()?;
    let ups: Vec<Upscaler> = generators
        .iter()
        .map(|g| Upscaler::new(g, 0, gpu))
        .collect();
    let image = io::load_rgb(hr)?;
    if image.height < 16 || image.width < 16 {
        return fail!(
            "{} is {}x{}: compare needs an image of at least 16x16",
            hr.display(),
            image.width,
            image.height
        );
    }
    // A column is named by its label, else its model's name or file name without extension.
    let named: Vec<(String, &Upscaler)> = models
        .iter()
        .zip(&ups)
        .enumerate()
        .map(|(i, (m, up))| {
            let stem = || {
                let name = m.file_stem().unwrap_or(m.as_os_str());
                name.to_string_lossy().into_owned()
            };
            (labels.get(i).cloned().unwrap_or_else(stem), up)
        })
        .collect();
    let (figure, columns) = srgan_wgpu::compare::figure(&image, &named, region, lpips);
    io::save_rgb(output, &figure)?;
    println!(
        "{} (columns left to right, PSNR on Y{}):",
        output.display(),
        if lpips.is_some() { ", LPIPS" } else { "" }
    );
    for c in &columns {
        println!("  {:<40} {}", c.name, c.scores().join(", "));
    }
    if lpips.is_none() {
        no_lpips_note();
    }
    Ok(())
}

fn plot(run: &Path, output: Option<PathBuf>) -> Result<()> {
    let (log, folder) = if run.is_dir() {
        (run.join("log.csv"), run.to_path_buf())
    } else {
        (
            run.to_path_buf(),
            run.parent().unwrap_or(Path::new("")).to_path_buf(),
        )
    };
    let text = std::fs::read_to_string(&log)
        .map_err(|e| Error(format!("cannot read {}: {e}", log.display())))?;
    let parsed = srgan_wgpu::plot::Log::parse(&text)
        .map_err(|e| Error(format!("{}: {}", log.display(), e.0)))?;
    let name = folder
        .file_name()
        .map_or(String::from("training run"), |n| {
            n.to_string_lossy().into_owned()
        });
    let svg = srgan_wgpu::plot::svg(&parsed, &name)?;
    let out = output.unwrap_or_else(|| folder.join("curves.svg"));
    nn_io::write_atomically(&out, svg.as_bytes())?;
    println!("wrote {}", out.display());
    Ok(())
}

fn generator(gpu: &Gpu, model: Option<PathBuf>) -> Result<Generator> {
    load_generator(gpu, &model.map_or_else(default_weights, |m| model_path(&m)))
}

/// LPIPS for eval and compare: the given weights (which must load), else the default file
/// where it exists, else none.
fn lpips(gpu: &Gpu, weights: Option<PathBuf>) -> Result<Option<Lpips>> {
    match weights {
        Some(path) => Lpips::load(gpu, &path).map(Some),
        None => {
            let path = shipped("lpips_alex.safetensors");
            path.exists().then(|| Lpips::load(gpu, &path)).transpose()
        }
    }
}

/// Said after a table without LPIPS, so that errors stay one line.
fn no_lpips_note() {
    eprintln!(
        "note: no LPIPS: {} is missing (tools/convert_lpips_alex.py makes it)",
        shipped("lpips_alex.safetensors").display()
    );
}

/// Opens the chosen adapter with the chosen precision.
fn open(choice: &AdapterChoice, precision: Option<Precision>) -> Result<Gpu> {
    let gpu = Gpu::new(choice)?;
    if let Some(p) = precision {
        gpu.set_precision(p)?;
    }
    Ok(gpu)
}

fn run(cli: Cli) -> Result<()> {
    io::set_max_pixels(cli.max_pixels);
    let choices: Vec<AdapterChoice> = match AdapterChoice::from_flag_or_env(cli.adapter).0 {
        Some(list) => list
            .split(',')
            .map(|a| AdapterChoice(Some(a.trim().to_string())))
            .collect(),
        None => vec![AdapterChoice(None)],
    };
    let several = choices.len() > 1;
    let choice = choices[0].clone();
    let gpu = || {
        if several {
            return fail!("several adapters (--adapter a,b) are for upscaling a folder only");
        }
        open(&choice, cli.precision)
    };
    match cli.command {
        Command::Info => {
            println!("adapters (--adapter takes the number or part of the name):");
            for (i, (description, _)) in list_adapters()?.iter().enumerate() {
                println!("  {i}: {description}");
            }
            println!("{}", gpu()?.report());
        }
        Command::Bench {
            batch,
            reps,
            networks,
        } => {
            let gpu = gpu()?;
            let lines = if networks {
                srgan_wgpu::bench::networks(&gpu, reps as usize)?
            } else {
                srgan_wgpu::bench::kernels(&gpu, batch, reps)
            };
            for line in lines {
                println!("{line}");
            }
        }
        Command::Upscale {
            input,
            output,
            model,
            tile,
            shard,
            skip_existing,
            outscale,
        } => srgan_wgpu::jobs::upscale(
            &choices
                .iter()
                .map(|c| open(c, cli.precision))
                .collect::<Result<Vec<_>>>()?,
            &srgan_wgpu::jobs::UpscaleJob {
                input,
                output,
                model: model.map_or_else(default_weights, |m| model_path(&m)),
                tile,
                shard,
                skip_existing,
                outscale,
            },
        )?,
        Command::Compare {
            hr,
            model,
            label,
            region,
            output,
            lpips_weights,
        } => {
            if label.len() > model.len().max(1) {
                return fail!("{} labels for {} models", label.len(), model.len().max(1));
            }
            let gpu = gpu()?;
            let lpips = lpips(&gpu, lpips_weights)?;
            let columns = Columns {
                models: model,
                labels: label,
            };
            compare(&gpu, &hr, columns, region, &output, lpips.as_ref())?
        }
        Command::Train(args) => train(&gpu()?, args)?,
        Command::Plot { run, output } => plot(&run, output)?,
        Command::Eval {
            dir,
            model,
            lr_resize,
            csv,
            tile,
            lpips_weights,
        } => {
            if let Some(dir) = csv.as_ref().and_then(|p| p.parent()) {
                if !dir.as_os_str().is_empty() && !dir.is_dir() {
                    return fail!("--csv: the folder {} does not exist", dir.display());
                }
            }
            let gpu = gpu()?;
            let g = generator(&gpu, model)?;
            let up = Upscaler::new(&g, tile, &gpu);
            let lpips = lpips(&gpu, lpips_weights)?;
            let scores = eval::evaluate(&up, &dir, lr_resize, lpips.as_ref())?;
            print!("{}", eval::table(&scores));
            if lpips.is_none() {
                no_lpips_note();
            }
            if let Some(path) = csv {
                std::fs::write(&path, eval::csv(&scores))
                    .map_err(|e| Error(format!("cannot write {}: {e}", path.display())))?;
            }
        }
    }
    Ok(())
}

fn main() {
    // Mesa's Vulkan drivers look for a Wayland display as they start, and print an error
    // (twice) where XDG_RUNTIME_DIR is unset: containers, cron jobs, CI. Nothing here opens a
    // window; an empty place to look keeps them quiet. Set before any thread exists.
    #[cfg(target_os = "linux")]
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    // Errors found deep inside the engine (out of GPU memory, a shape an op cannot take)
    // unwind with a message; print it as one line, not as a crash report, unless a
    // backtrace was asked for.
    if std::env::var_os("RUST_BACKTRACE").is_none() {
        std::panic::set_hook(Box::new(|info| {
            let msg = match info.payload().downcast_ref::<Error>() {
                Some(e) => e.to_string(),
                None => info
                    .payload()
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default(),
            };
            eprintln!("error: {msg}");
        }));
    }
    let cli = Cli::parse();
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
        Err(_) => std::process::exit(1),
    }
}
