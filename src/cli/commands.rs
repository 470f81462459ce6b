//! What each command does beyond calling the library: opening GPUs, printing results.

use crate::args::{Command, TrainArgs};
use srgan_wgpu::eval::{self, LrResize};
use srgan_wgpu::gpu::{list_adapters, AdapterChoice, Kernels};
use srgan_wgpu::imaging::io;
use srgan_wgpu::models::Lpips;
use srgan_wgpu::models::{Generator, GeneratorConfig};
use srgan_wgpu::nn::io as nn_io;
use srgan_wgpu::progress::Progress;
use srgan_wgpu::train::{load_data, ContentLoss, GanLoss, Mode, TrainConfig, Trainer, DISC_WARMUP};
use srgan_wgpu::upscale::{default_weights, load_generator, model_path, shipped, Upscaler};
use srgan_wgpu::{fail, Error, Gpu, Result};
use std::path::{Path, PathBuf};

/// Opens the chosen adapter with the chosen kernels.
fn open(choice: &AdapterChoice, kernels: Option<Kernels>) -> Result<Gpu> {
    let gpu = Gpu::new(choice)?;
    if let Some(k) = kernels {
        gpu.set_kernels(k)?;
    }
    Ok(gpu)
}

/// The adapters `--adapter` (or `SRGAN_WGPU_ADAPTER`) names, comma-separated, each once
/// (every one gets a copy of the model), at most as many as the machine has; one default.
fn adapter_choices(flag: Option<String>) -> Result<Vec<AdapterChoice>> {
    let Some(list) = AdapterChoice::from_flag_or_env(flag).0 else {
        return Ok(vec![AdapterChoice(None)]);
    };
    let mut names: Vec<String> = Vec::new();
    for name in list.split(',').map(str::trim) {
        if name.is_empty() {
            return fail!(
                "--adapter '{list}' has an empty name: numbers or names, comma-separated"
            );
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    if names.len() > 1 {
        let found = list_adapters()?.len();
        if names.len() > found {
            return fail!(
                "--adapter names {} adapters; this machine has {found} (`srgan-wgpu info`)",
                names.len()
            );
        }
    }
    Ok(names.into_iter().map(|n| AdapterChoice(Some(n))).collect())
}

/// Runs `command` on the adapters named (see `adapter_choices`) with the chosen kernels.
pub fn run(command: Command, adapter: Option<String>, kernels: Option<Kernels>) -> Result<()> {
    let choices = adapter_choices(adapter)?;
    // Every command but upscale runs on one GPU.
    let gpu = || {
        if choices.len() > 1 {
            return fail!("several adapters (--adapter a,b) are for upscaling a folder only");
        }
        open(&choices[0], kernels)
    };
    match command {
        Command::Info => info(&gpu()?),
        Command::Bench {
            batch,
            reps,
            networks,
        } => bench(&gpu()?, batch, reps, networks),
        Command::Upscale {
            input,
            output,
            model,
            tile,
            shard,
            skip_existing,
            outscale,
            self_ensemble,
        } => {
            let gpus = choices
                .iter()
                .map(|c| open(c, kernels))
                .collect::<Result<Vec<_>>>()?;
            let job = srgan_wgpu::jobs::UpscaleJob {
                input,
                output,
                model: model.map_or_else(|| Ok(default_weights()), |m| model_path(&m))?,
                tile,
                shard,
                skip_existing,
                outscale,
                self_ensemble,
            };
            srgan_wgpu::jobs::upscale(&gpus, &job)
        }
        Command::Compare {
            hr,
            model,
            label,
            region,
            output,
            lpips_weights,
            self_ensemble,
        } => {
            if label.len() > model.len().max(1) {
                return fail!("{} labels for {} models", label.len(), model.len().max(1));
            }
            let gpu = gpu()?;
            let lpips = lpips(&gpu, lpips_weights)?;
            let columns = Columns {
                models: model,
                labels: label,
                self_ensemble,
            };
            compare(&gpu, &hr, columns, region, &output, lpips.as_ref())
        }
        Command::Train(args) => train(&gpu()?, args),
        Command::Plot { run, output } => plot(&run, output),
        Command::Eval {
            dir,
            model,
            lr_resize,
            csv,
            tile,
            lpips_weights,
            self_ensemble,
        } => {
            if let Some(path) = &csv {
                check_csv(path, &dir)?;
            }
            let gpu = gpu()?;
            let g = generator(&gpu, model)?;
            let up = Upscaler::new(&g, tile, &gpu).with_self_ensemble(self_ensemble);
            let lpips = lpips(&gpu, lpips_weights)?;
            evaluate(&up, &dir, lr_resize, lpips.as_ref(), csv)
        }
    }
}

fn info(gpu: &Gpu) -> Result<()> {
    println!("adapters (--adapter takes the number or part of the name):");
    for (i, (description, _)) in list_adapters()?.iter().enumerate() {
        println!("  {i}: {description}");
    }
    println!("{}", gpu.report());
    Ok(())
}

fn bench(gpu: &Gpu, batch: usize, reps: u32, networks: bool) -> Result<()> {
    let lines = if networks {
        srgan_wgpu::bench::networks(gpu, reps as usize)?
    } else {
        srgan_wgpu::bench::kernels(gpu, batch, reps)
    };
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

/// That eval's `--csv` can be written and is none of its images.
fn check_csv(path: &Path, dir: &Path) -> Result<()> {
    if let Some(folder) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !folder.is_dir() {
            return fail!("--csv: the folder {} does not exist", folder.display());
        }
    }
    if path.is_dir() {
        return fail!("--csv {} is a folder", path.display());
    }
    let images = eval::image_files(dir)?;
    let inputs: Vec<&Path> = std::iter::once(dir)
        .chain(images.iter().map(PathBuf::as_path))
        .collect();
    srgan_wgpu::paths::refuse_input("--csv", path, &inputs)
}

/// eval's table (and CSV): the model and bicubic on every image of `dir`.
fn evaluate(
    up: &Upscaler,
    dir: &Path,
    lr_resize: LrResize,
    lpips: Option<&Lpips>,
    csv: Option<PathBuf>,
) -> Result<()> {
    let scores = eval::evaluate(up, dir, lr_resize, lpips)?;
    print!("{}", eval::table(&scores));
    if lpips.is_none() {
        no_lpips_note();
    }
    if let Some(path) = csv {
        nn_io::write_atomically(&path, eval::csv(&scores).as_bytes())?;
    }
    Ok(())
}

fn train(gpu: &Gpu, a: TrainArgs) -> Result<()> {
    let (mut trainer, data) = match (&a.resume, a.mode, a.data.clone()) {
        (Some(dir), _, _) => {
            let mut trainer = Trainer::resume(gpu, dir, a.steps, a.lr_late_from)?;
            if a.light_checkpoints {
                trainer.config.light_checkpoints = true;
            }
            if let Some(g) = a.gan_loss.filter(|g| *g != trainer.config.gan_loss) {
                let name = |g: GanLoss| format!("{g:?}").to_lowercase();
                eprintln!(
                    "note: --gan-loss {} is for new runs; this one keeps its {} loss, with which its discriminator was trained",
                    name(g),
                    name(trainer.config.gan_loss)
                );
            }
            // Checked with the rest of the configuration by `load_data` below.
            if let Some(n) = a.disc_restart_every {
                trainer.config.disc_restart_every = n;
            }
            let ema_before = a.ema.map(|decay| trainer.set_ema(decay));
            if let Some(n) = a.disc_warmup {
                let now = trainer.set_disc_warmup(n);
                if trainer.config.mode != Mode::Srgan {
                    eprintln!(
                        "note: an SRResNet has no discriminator: --disc-warmup changes nothing"
                    );
                } else if !now && trainer.config.disc_restart_every == 0 {
                    eprintln!("note: this checkpoint holds its discriminator: --disc-warmup applies from a later resume of a light checkpoint, or with --disc-restart-every");
                }
            }
            let (step, steps) = (trainer.step, trainer.config.steps);
            if step >= steps {
                return fail!(
                    "{} is at step {step}, the end of a run of {steps} steps: --steps with a larger number goes on",
                    dir.display()
                );
            }
            let data = load_data(&trainer.config)?;
            if let Some(before) = ema_before {
                ema_note(before, trainer.config.ema, trainer.step);
            }
            (trainer, data)
        }
        (None, Some(mode), Some(data)) => {
            let out = a.out.clone();
            let config = train_config(mode, data, a)?;
            // The data and validation folders are checked before the run folder is touched.
            let data = load_data(&config)?;
            (Trainer::new(gpu, config, &out)?, data)
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

/// Says what `--ema` on resuming did to the run's average (once the resume is known to go on).
fn ema_note(before: Option<f32>, now: f32, step: u64) {
    let note = match before {
        None if now > 0.0 => format!("the moving average of the generator's weights (--ema {now}) starts at step {step} as a copy of the generator"),
        Some(b) if now == 0.0 => format!("--ema 0: the run's moving average (decay {b}) is dropped; from now on the generator in training is validated and written"),
        Some(b) if b != now => format!("the moving average goes on with decay {now} instead of {b}"),
        _ => return,
    };
    eprintln!("note: {note}");
}

/// The configuration of a new run from the flags.
fn train_config(mode: Mode, data: PathBuf, a: TrainArgs) -> Result<TrainConfig> {
    if mode == Mode::Srresnet && a.light_checkpoints {
        eprintln!("note: --light-checkpoints changes only an SRGAN's checkpoints; an SRResNet's are already light");
    }
    let gan_loss = a.gan_loss.unwrap_or(GanLoss::Standard);
    if mode == Mode::Srresnet && gan_loss != GanLoss::Standard {
        eprintln!("note: --gan-loss changes only an SRGAN; an SRResNet has no adversarial loss");
    }
    if mode == Mode::Srgan && a.init.is_none() {
        eprintln!("warning: training an SRGAN from scratch; the paper starts from a trained SRResNet (--init)");
    }
    let content = a.content_loss.unwrap_or(if mode == Mode::Srgan {
        ContentLoss::Vgg54
    } else {
        ContentLoss::Mse
    });
    // A run from an init file trains that file's generator: its architecture, batch norm
    // epsilon and output tanh (a converted Keras model has eps 1e-3).
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
    Ok(TrainConfig {
        mode,
        data,
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
        gan_loss,
        tv_weight: a.tv_weight,
        validation: a.val,
        validate_every: a.val_every,
        checkpoint_every: a.checkpoint_every.max(1),
        keep_every: a.keep_every,
        light_checkpoints: a.light_checkpoints,
        disc_warmup: a.disc_warmup.unwrap_or(DISC_WARMUP),
        disc_restart_every: a.disc_restart_every.unwrap_or(0),
        ema: a.ema.unwrap_or(0.0),
    })
}

/// compare's columns: the models as given, their labels, and whether every model runs as its
/// self-ensemble (else only those given as "NAME+").
struct Columns {
    models: Vec<PathBuf>,
    labels: Vec<String>,
    self_ensemble: bool,
}

/// A compare column's model, and whether it runs as its self-ensemble: every one with `all`
/// (--self-ensemble), else one given as "NAME+" where no file of that name exists.
fn column_model(m: &Path, all: bool) -> (PathBuf, bool) {
    match m.to_str().and_then(|s| s.strip_suffix('+')) {
        Some(base) if !m.exists() => (PathBuf::from(base), true),
        _ => (m.to_path_buf(), all),
    }
}

fn compare(
    gpu: &Gpu,
    hr: &Path,
    Columns {
        models,
        labels,
        self_ensemble,
    }: Columns,
    region: Option<(usize, usize, usize)>,
    output: &Path,
    lpips: Option<&Lpips>,
) -> Result<()> {
    srgan_wgpu::paths::refuse_input("-o", output, &[hr])?;
    io::check_output_place(output)?;
    let image = io::load_rgb(hr)?;
    if image.height < 16 || image.width < 16 {
        return fail!(
            "{} is {}x{}: compare needs an image of at least 16x16",
            hr.display(),
            image.width,
            image.height
        );
    }
    if let Some((y, x, side)) = region {
        if y + side > image.height || x + side > image.width {
            return fail!(
                "--region {y},{x},{side} does not fit the {}x{} image: the square must lie inside it",
                image.width,
                image.height
            );
        }
    }
    let models: Vec<(PathBuf, bool)> = if models.is_empty() {
        vec![(PathBuf::from("srresnet"), self_ensemble)]
    } else {
        models
            .iter()
            .map(|m| column_model(m, self_ensemble))
            .collect()
    };
    let ensembles = models.iter().any(|(_, e)| *e);
    srgan_wgpu::compare::check_memory(image.height, image.width, models.len(), ensembles)?;
    let generators = models
        .iter()
        .map(|(m, _)| load_generator(gpu, &model_path(m)?))
        .collect::<Result<Vec<_>>>()?;
    let ups: Vec<Upscaler> = generators
        .iter()
        .zip(&models)
        .map(|(g, (_, ensemble))| Upscaler::new(g, 0, gpu).with_self_ensemble(*ensemble))
        .collect();
    // A column is named by its label, else its model's name or file name without extension,
    // with a "+" for a self-ensemble.
    let named: Vec<(String, &Upscaler)> = models
        .iter()
        .zip(&ups)
        .enumerate()
        .map(|(i, ((m, ensemble), up))| {
            let stem = || {
                let name = m.file_stem().unwrap_or(m.as_os_str()).to_string_lossy();
                format!("{name}{}", if *ensemble { "+" } else { "" })
            };
            (labels.get(i).cloned().unwrap_or_else(stem), up)
        })
        .collect();
    let total = srgan_wgpu::compare::reports(image.height, image.width, &named);
    let mut bar = Progress::new("compare", "layers", 0, total as u64);
    let (figure, columns) =
        srgan_wgpu::compare::figure(&image, &named, region, lpips, &mut |name| {
            bar.advance(name.to_string())
        });
    bar.finish();
    io::save_rgb(output, &figure)?;
    println!(
        "{} (columns left to right, PSNR on Y{}):",
        output.display(),
        if columns.iter().any(|c| c.lpips.is_some()) {
            ", LPIPS"
        } else {
            ""
        }
    );
    for c in &columns {
        let ensemble = if c.self_ensemble {
            " (self-ensemble)"
        } else {
            ""
        };
        println!("  {:<40} {}{ensemble}", c.name, c.scores().join(", "));
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
    let out = output.unwrap_or_else(|| folder.join("curves.svg"));
    srgan_wgpu::paths::refuse_input("-o", &out, &[&log])?;
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
    nn_io::write_atomically(&out, svg.as_bytes())?;
    println!("wrote {}", out.display());
    Ok(())
}

fn generator(gpu: &Gpu, model: Option<PathBuf>) -> Result<Generator> {
    let path = model.map_or_else(|| Ok(default_weights()), |m| model_path(&m))?;
    load_generator(gpu, &path)
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
