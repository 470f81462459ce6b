//! `train --ema`: the moving average of the generator's weights follows the reference
//! recurrence step by step, is what the run validates and writes, survives an interruption
//! exactly, and can be started, changed or dropped on resuming.

mod common;
use common::cli::{assert_one_line_error, run, training_photos, TINY_TRAINING};
use common::training::{config, photos, train, values};
use common::*;
use srgan_wgpu::nn::io as nnio;
use srgan_wgpu::ops::elementwise as ew;
use srgan_wgpu::train::{load_data, Mode, Trainer};
use std::path::Path;

type Values = Vec<(String, Vec<f32>)>;

/// The tensors of a generator file, by name.
fn file(path: &Path) -> Values {
    let f = nnio::File::open(path).unwrap();
    let mut names = f.names();
    names.sort();
    names
        .into_iter()
        .filter_map(|n| Some((n.clone(), f.f32(&n).ok().flatten()?.1)))
        .collect()
}

/// `values` sorted by name and without the counters (which a file holds as integers), to
/// compare with `file`.
fn as_in_file(mut v: Values) -> Values {
    v.retain(|(n, _)| !n.ends_with("num_batches_tracked"));
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The largest difference between two sets of the same tensors.
fn most_apart(a: &Values, b: &Values) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .flat_map(|((na, va), (nb, vb))| {
            assert_eq!(na, nb);
            va.iter().zip(vb).map(|(x, y)| (x - y).abs() as f64)
        })
        .fold(0.0, f64::max)
}

/// A run from `--init` starts its average as that file. After each step every tensor of the
/// average (weights and batch norm's running statistics) is the f64 reference's average +
/// (1 - decay) (generator - average), within 1e-6 (a few f32 roundings a step, of values
/// below 2); counters are the generator's.
#[test]
fn the_average_follows_the_generator_step_by_step() {
    let gpu = gpu();
    let (data, before, out) = (temp("data-ema"), temp("run-ema-init"), temp("run-ema"));
    photos(&data);
    let set = load_data(&config(Mode::Srresnet, &data, 2)).unwrap();
    let init = before.join("generator.safetensors");
    train(&gpu, config(Mode::Srresnet, &data, 2), &before);
    let mut cfg = config(Mode::Srresnet, &data, 4);
    cfg.ema = 0.75;
    cfg.init = Some(init.clone());
    let mut t = Trainer::new(&gpu, cfg, &out).unwrap();
    assert_eq!(
        as_in_file(values(t.kept())),
        file(&init),
        "it starts as --init"
    );
    let as_f64 = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    let mut expected: Vec<(String, Vec<f64>)> = values(&t.generator)
        .into_iter()
        .map(|(n, v)| (n, as_f64(&v)))
        .collect();
    for step in 1..=4 {
        t.run(set.clone(), Some(step)).unwrap();
        for ((name, e), (_, w)) in expected.iter_mut().zip(values(&t.generator)) {
            if name.ends_with("num_batches_tracked") {
                *e = as_f64(&w);
            } else {
                ew::cpu::average_into(e, &as_f64(&w), 0.25);
            }
        }
        for ((name, e), (_, a)) in expected.iter().zip(values(t.kept())) {
            assert_close(&format!("step {step}: {name}"), &a, e, 0.0, 1e-6);
        }
    }
    let apart = most_apart(&values(t.kept()), &values(&t.generator));
    assert!(apart > 1e-3, "the average is the generator ({apart})");
}

/// An SRGAN with an average, killed after step 5 (its checkpoint holds step 3) and resumed,
/// ends with the very generator file and snapshots of the run that was not killed; that
/// file is the average, not the generator in training, and so is the last snapshot.
#[test]
fn an_interrupted_run_resumes_its_average_exactly() {
    let gpu = gpu();
    let data = temp("data-ema-resume");
    photos(&data);
    let mut cfg = config(Mode::Srgan, &data, 8);
    cfg.ema = 0.9;
    cfg.keep_every = 4;
    let set = load_data(&cfg).unwrap();
    let whole = temp("ema-whole");
    train(&gpu, cfg.clone(), &whole);
    let broken = temp("ema-broken");
    Trainer::new(&gpu, cfg, &broken)
        .unwrap()
        .run(set.clone(), Some(5))
        .unwrap();
    let mut resumed = Trainer::resume(&gpu, &broken, None, None).unwrap();
    assert_eq!((resumed.step, resumed.config.ema), (3, 0.9));
    resumed.run(set, None).unwrap();
    let written = file(&broken.join("generator.safetensors"));
    assert_eq!(written, file(&whole.join("generator.safetensors")));
    assert_eq!(written, as_in_file(values(resumed.kept())));
    let live = as_in_file(values(&resumed.generator));
    assert!(
        most_apart(&written, &live) > 1e-3,
        "the file is the generator in training"
    );
    let snapshot = |run: &Path, step: u32| {
        file(&run.join(format!("snapshots/generator_{step:07}.safetensors")))
    };
    assert_eq!(snapshot(&broken, 8), written);
    assert_eq!(snapshot(&broken, 4), snapshot(&whole, 4));
}

/// A run resumed with --ema that had no average starts one as a copy of its generator, which
/// then moves; its checkpoint keeps it and the decay, a later resume with 0 drops it, and
/// the files are the generator in training again.
#[test]
fn an_average_can_start_change_and_stop_on_resuming() {
    let gpu = gpu();
    let (data, out) = (temp("data-ema-start"), temp("run-ema-start"));
    photos(&data);
    let cfg = config(Mode::Srresnet, &data, 3);
    let set = load_data(&cfg).unwrap();
    train(&gpu, cfg, &out);
    let mut t = Trainer::resume(&gpu, &out, Some(5), None).unwrap();
    assert!(t.average().is_none());
    assert_eq!(t.set_ema(0.5), None);
    assert_eq!(values(t.kept()), values(&t.generator));
    t.run(set.clone(), None).unwrap();
    let average = values(t.kept());
    assert!(most_apart(&average, &values(&t.generator)) > 1e-3);
    drop(t);
    let mut t = Trainer::resume(&gpu, &out, Some(6), None).unwrap();
    assert_eq!(t.config.ema, 0.5);
    assert_eq!(values(t.kept()), average, "the checkpoint keeps it");
    assert_eq!(t.set_ema(0.9), Some(0.5));
    assert_eq!(values(t.kept()), average, "a new decay keeps the values");
    // One step at the new decay moves the average a tenth of the way.
    t.run(set.clone(), None).unwrap();
    let now = values(t.kept());
    for (((name, a), (_, w)), (_, now)) in average.iter().zip(values(&t.generator)).zip(&now) {
        if !name.ends_with("num_batches_tracked") {
            let mut e: Vec<f64> = a.iter().map(|&x| x as f64).collect();
            let w: Vec<f64> = w.iter().map(|&x| x as f64).collect();
            ew::cpu::average_into(&mut e, &w, 0.1);
            assert_close(&format!("decay 0.9: {name}"), now, &e, 0.0, 1e-6);
        }
    }
    drop(t);
    let mut t = Trainer::resume(&gpu, &out, Some(7), None).unwrap();
    assert_eq!(t.config.ema, 0.9);
    assert_eq!(t.set_ema(0.0), Some(0.9));
    assert!(t.average().is_none());
    t.run(set, None).unwrap();
    let written = file(&out.join("generator.safetensors"));
    assert_eq!(written, as_in_file(values(&t.generator)));
    let checkpoint = nnio::File::open(&out.join("checkpoint.safetensors")).unwrap();
    assert!(!checkpoint.names().iter().any(|n| n.starts_with("average.")));
    assert_eq!(checkpoint.metadata()["config.ema"], "0");
}

/// Validation scores the average: the last logged PSNR is the written file's, which is not the
/// generator in training's.
#[test]
fn validation_scores_the_average() {
    let gpu = gpu();
    let (data, out) = (temp("data-ema-val"), temp("run-ema-val"));
    photos(&data);
    let mut cfg = config(Mode::Srresnet, &data, 4);
    cfg.ema = 0.5;
    cfg.validation = Some(data.clone());
    cfg.validate_every = 4;
    let set = load_data(&cfg).unwrap();
    let mut t = Trainer::new(&gpu, cfg, &out).unwrap();
    t.run(set, None).unwrap();
    let log = std::fs::read_to_string(out.join("log.csv")).unwrap();
    let logged: f64 = log
        .lines()
        .last()
        .unwrap()
        .split(',')
        .nth(7)
        .unwrap()
        .parse()
        .unwrap();
    let written =
        srgan_wgpu::upscale::load_generator(&gpu, &out.join("generator.safetensors")).unwrap();
    let psnr = |g| {
        let up = srgan_wgpu::upscale::Upscaler::new(g, 0, &gpu);
        let how = srgan_wgpu::eval::LrResize::Matlab;
        let s = srgan_wgpu::eval::evaluate_with(&up, &data, how, None, false).unwrap();
        s.iter().map(|s| s.psnr).sum::<f64>() / s.len() as f64
    };
    let (average, live) = (psnr(&written), psnr(&t.generator));
    assert!((average - logged).abs() < 1e-3, "{average} vs {logged}");
    assert!(
        (live - logged).abs() > 1e-2,
        "{live} vs {logged}: cannot tell"
    );
    // The only validation is the best: best.safetensors is the average too.
    assert_eq!(
        file(&out.join("best.safetensors")),
        file(&out.join("generator.safetensors"))
    );
}

/// From the command line, with a light SRGAN checkpoint: each resume that starts, changes or
/// drops the average says so in one note, after the checks (a finished run is refused with
/// one line and no note); a bad decay is refused with one line and the checkpoint untouched.
#[test]
fn resuming_from_the_command_line_says_what_became_of_the_average() {
    let (data, runs) = (temp("data-ema-cli"), temp("run-ema-cli"));
    training_photos(&data);
    let r = runs.to_str().unwrap();
    let d = data.to_str().unwrap();
    let args = [
        &["train", "srgan", "--data", d, "--out", r, "--steps", "2"][..],
        &TINY_TRAINING,
        &["--content-loss", "mse", "--disc-width", "0.125"],
        &["--light-checkpoints", "--disc-warmup", "1", "--ema", "0.9"],
    ]
    .concat();
    let (code, err) = run(&args, &[]);
    assert_eq!(code, 0, "{err}");
    let resume = |steps: &str, ema: Option<&str>| {
        let mut args = vec!["train", "--resume", r, "--steps", steps];
        if let Some(e) = ema {
            args.extend(["--ema", e]);
        }
        let (code, err) = run(&args, &[]);
        assert_eq!(code, 0, "{args:?}: {err}");
        err.lines()
            .filter(|l| l.starts_with("note:"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert!(resume("3", None).is_empty());
    assert!(resume("4", Some("0.9")).is_empty());
    let notes = resume("5", Some("0.5"));
    assert!(
        notes.len() == 1 && notes[0].contains("decay 0.5 instead of 0.9"),
        "{notes:?}"
    );
    let notes = resume("6", Some("0"));
    assert!(
        notes.len() == 1 && notes[0].contains("is dropped"),
        "{notes:?}"
    );
    let notes = resume("7", Some("0.99"));
    assert!(
        notes.len() == 1 && notes[0].contains("starts at step 6"),
        "{notes:?}"
    );
    let checkpoint = runs.join("checkpoint.safetensors");
    let kept = std::fs::read(&checkpoint).unwrap();
    for (steps, ema, expect) in [
        ("7", "0.5", "is at step 7, the end of a run of 7 steps"),
        ("8", "1", "ema (--ema) 1: a decay of at least 0 and below 1"),
    ] {
        let args = ["train", "--resume", r, "--steps", steps, "--ema", ema];
        assert_one_line_error(&args, &[], expect);
        assert_eq!(std::fs::read(&checkpoint).unwrap(), kept);
    }
}
