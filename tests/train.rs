//! Training on tiny configurations: SRResNet and SRGAN lower their losses, and a run that is
//! interrupted and resumed logs exactly what an uninterrupted one does.

mod common;
use common::training::{config, photos, train, values};
use common::*;
use srgan_wgpu::models::{Vgg19, VggLayer};
use srgan_wgpu::nn::{io as nnio, Module};
use srgan_wgpu::rng::Rng;
use srgan_wgpu::train::{load_data, ContentLoss, GanLoss, Mode, TrainConfig, Trainer};
use std::path::{Path, PathBuf};

/// (content, discriminator) columns of log.csv, and the whole rows without the timing column.
fn log(dir: &Path) -> (Vec<f64>, Vec<f64>, Vec<String>) {
    let text = std::fs::read_to_string(dir.join("log.csv")).unwrap();
    let rows: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    let col = |i: usize| rows.iter().map(|r| r[i].parse().unwrap()).collect();
    let stable = rows
        .iter()
        .map(|r| [&r[..6], &r[7..]].concat().join(","))
        .collect();
    (col(3), col(5), stable)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn tiny_srresnet_lowers_its_loss() {
    let gpu = gpu();
    let (data, out) = (temp("data-a"), temp("run-a"));
    photos(&data);
    train(&gpu, config(Mode::Srresnet, &data, 60), &out);
    let (content, _, _) = log(&out);
    let (first, last) = (mean(&content[..5]), mean(&content[55..]));
    assert!(
        last < 0.6 * first,
        "content loss {first} -> {last}: {content:?}"
    );
    assert!(nnio::File::open(&out.join("generator.safetensors")).is_ok());
}

#[test]
fn a_discriminator_past_the_binding_limit_names_the_crop_that_fits() {
    let gpu = gpu();
    // The test discriminator's dense layer on 32-pixel crops: 32 x 2 x 2 inputs, 64 outputs,
    // 32 KiB; on 16-pixel crops 8 KiB.
    let (data, out) = (temp("data-limit"), temp("run-limit"));
    for (limit, expect) in [
        (
            16,
            "is 32 KiB, larger than this GPU's storage binding limit (16 KiB): take --crop 16",
        ),
        (4, "(4 KiB) at any crop: take a smaller --disc-width"),
    ] {
        gpu.set_test_limits(limit << 10, 65535);
        let err = Trainer::new(&gpu, config(Mode::Srgan, &data, 1), &out)
            .err()
            .expect("a discriminator past the limit must stop")
            .to_string();
        assert!(err.contains(expect), "{err}");
    }
}

#[test]
fn tiny_srgan_lowers_its_losses() {
    let gpu = gpu();
    let (data, out) = (temp("data-b"), temp("run-b"));
    photos(&data);
    train(&gpu, config(Mode::Srgan, &data, 60), &out);
    learned_as_an_srgan(&out, 60);
}

/// A 60-step SRGAN run's content and discriminator losses fell, and its D(HR) and D(SR),
/// logged as probabilities, drew apart: the discriminator learned to tell them apart.
fn learned_as_an_srgan(out: &Path, steps: usize) {
    let (content, disc, _) = log(out);
    let (first, last) = (..5, steps - 5..);
    assert!(
        mean(&content[last.clone()]) < 0.6 * mean(&content[first]),
        "content {content:?}"
    );
    assert!(
        mean(&disc[last.clone()]) < mean(&disc[first]),
        "discriminator {disc:?}"
    );
    let (real, fake) = (column(out, "d_real"), column(out, "d_fake"));
    assert_eq!((real.len(), fake.len()), (steps, steps));
    assert!(real.iter().chain(&fake).all(|p| (0.0..=1.0).contains(p)));
    assert!(
        mean(&real[last.clone()]) - mean(&fake[last]) > mean(&real[first]) - mean(&fake[first]),
        "D(HR) {real:?}\nD(SR) {fake:?}"
    );
}

/// `GanLoss::Relativistic` reaches both networks' steps (the first step's discriminator loss
/// differs from the standard one's on the same batch and weights), a tiny run with it lowers
/// its losses and its discriminator learns to tell HR from SR relative to each other, and
/// `--resume` keeps the setting.
#[test]
fn a_relativistic_srgan_learns_and_keeps_its_loss() {
    let gpu = gpu();
    let data = temp("data-ra");
    photos(&data);
    let first = |gan_loss| {
        let out = temp(&format!("run-ra-first-{gan_loss:?}"));
        let mut cfg = config(Mode::Srgan, &data, 1);
        cfg.gan_loss = gan_loss;
        train(&gpu, cfg, &out);
        (log(&out).1[0], column(&out, "adversarial")[0])
    };
    let (standard, relativistic) = (first(GanLoss::Standard), first(GanLoss::Relativistic));
    assert!(
        (standard.0 - relativistic.0).abs() > 1e-4 && (standard.1 - relativistic.1).abs() > 1e-4,
        "loss_d, adversarial: standard {standard:?}, relativistic {relativistic:?}"
    );

    let out = temp("run-ra");
    let mut cfg = config(Mode::Srgan, &data, 60);
    cfg.gan_loss = GanLoss::Relativistic;
    train(&gpu, cfg, &out);
    learned_as_an_srgan(&out, 60);
    let resumed = Trainer::resume(&gpu, &out, None, None).unwrap();
    assert_eq!(resumed.config.gan_loss, GanLoss::Relativistic);
}

/// The generator's side of the relativistic loss pulls the right way: with the
/// discriminator all but frozen and the adversarial term dominating, the generator learns to
/// make its images look more real than the average photograph (relative D(SR) rises) and
/// the photographs less real than its average image (relative D(HR) falls). Swapped
/// targets or a missing path to the generator would not.
#[test]
fn the_relativistic_generator_learns_to_look_real() {
    let gpu = gpu();
    let data = temp("data-rag");
    photos(&data);
    let out = temp("run-rag");
    let mut cfg = config(Mode::Srgan, &data, 20);
    cfg.gan_loss = GanLoss::Relativistic;
    cfg.disc_lr_factor = 1e-6;
    cfg.adversarial_weight = 10.0;
    train(&gpu, cfg, &out);
    let (real, fake) = (column(&out, "d_real"), column(&out, "d_fake"));
    assert!(
        mean(&fake[15..]) > mean(&fake[..3]) + 0.05 && mean(&real[15..]) < mean(&real[..3]) - 0.05,
        "relative D(HR) {real:?}\nrelative D(SR) {fake:?}"
    );
}

/// A log.csv column by name, its non-empty cells.
fn column(dir: &Path, name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(dir.join("log.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let i = header.iter().position(|h| *h == name).expect("the column");
    lines
        .filter_map(|l| l.split(',').nth(i).and_then(|v| v.parse().ok()))
        .collect()
}

/// Validation every 2 steps keeps the generator of the best one as best.safetensors (by
/// PSNR here: without LPIPS weights, and for an SRResNet in any case), and the checkpoint
/// remembers which it was.
#[test]
fn the_best_validation_keeps_its_generator() {
    let gpu = gpu();
    let (data, out) = (temp("data-best"), temp("run-best"));
    photos(&data);
    let mut cfg = config(Mode::Srresnet, &data, 6);
    cfg.validation = Some(data.clone());
    cfg.validate_every = 2;
    let set = load_data(&cfg).unwrap();
    let mut t = Trainer::new(&gpu, cfg, &out).unwrap();
    t.run(set, None).unwrap();
    let psnr = column(&out, "val_psnr");
    assert_eq!(psnr.len(), 3);
    let best = (0..3).max_by(|&a, &b| psnr[a].total_cmp(&psnr[b])).unwrap();
    let (step, score) = t.best.expect("a best validation");
    assert_eq!(step, 2 * (best as u64 + 1));
    assert!((score - psnr[best]).abs() < 1e-3, "{score} vs {psnr:?}");
    // The file holds the generator of that step: scoring it again gives its PSNR.
    let g = srgan_wgpu::upscale::load_generator(&gpu, &out.join("best.safetensors")).unwrap();
    let up = srgan_wgpu::upscale::Upscaler::new(&g, 0, &gpu);
    let how = srgan_wgpu::eval::LrResize::Matlab;
    let again = srgan_wgpu::eval::evaluate_with(&up, &data, how, None, false).unwrap();
    let again = again.iter().map(|s| s.psnr).sum::<f64>() / again.len() as f64;
    assert!((again - psnr[best]).abs() < 1e-3, "{again} vs {psnr:?}");
    drop(t);
    let resumed = Trainer::resume(&gpu, &out, None, None).unwrap();
    assert_eq!(resumed.best.map(|b| b.0), Some(step));
}

#[test]
fn snapshots_keep_the_generator_of_their_step() {
    let gpu = gpu();
    let (data, out) = (temp("data-keep"), temp("run-keep"));
    photos(&data);
    let mut cfg = config(Mode::Srresnet, &data, 4);
    cfg.keep_every = 2;
    train(&gpu, cfg, &out);
    let dir = out.join("snapshots");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "generator_0000002.safetensors",
            "generator_0000004.safetensors"
        ]
    );
    // The last step's snapshot is the run's final generator; the earlier one is not.
    let tensors = |p: PathBuf| {
        let f = nnio::File::open(&p).unwrap();
        let mut names = f.names();
        names.sort();
        names
            .iter()
            .filter_map(|n| f.f32(n).ok().flatten())
            .collect::<Vec<_>>()
    };
    let last = tensors(out.join("generator.safetensors"));
    assert!(!last.is_empty());
    assert!(
        tensors(dir.join(&names[1])) == last,
        "step 4's snapshot differs"
    );
    assert!(
        tensors(dir.join(&names[0])) != last,
        "step 2's snapshot is step 4's"
    );
    let resumed = Trainer::resume(&gpu, &out, Some(6), None).unwrap();
    assert_eq!(resumed.config.keep_every, 2);
}

#[test]
fn srgan_trains_with_a_vgg_content_loss() {
    let gpu = gpu();
    let (data, out) = (temp("data-d"), temp("run-d"));
    photos(&data);
    // VGG weights with torchvision's names, generated (the real ones cannot be fetched here).
    let vgg_path = out.join("vgg.safetensors");
    let vgg = Vgg19::new(&gpu, VggLayer::Conv2_2, 4, 0.0625);
    nnio::save_module(&vgg_path, &vgg.entries(), Default::default()).unwrap();
    let mut cfg = config(Mode::Srgan, &data, 3);
    cfg.content = ContentLoss::Vgg22;
    cfg.vgg_weights = vgg_path;
    train(&gpu, cfg, &out.join("run"));
    let (content, disc, _) = log(&out.join("run"));
    assert_eq!(content.len(), 3);
    assert!(
        content
            .iter()
            .chain(&disc)
            .all(|v| v.is_finite() && *v > 0.0),
        "{content:?} {disc:?}"
    );
}

/// Every content loss goes through its command-line name and a checkpoint's metadata.
#[test]
fn content_losses_survive_names_and_checkpoints() {
    for (name, loss) in [
        ("mse", ContentLoss::Mse),
        ("vgg22", ContentLoss::Vgg22),
        ("vgg54", ContentLoss::Vgg54),
        ("vgg54pre", ContentLoss::Vgg54Pre),
    ] {
        assert_eq!(name.parse::<ContentLoss>().unwrap(), loss);
        let mut cfg = config(Mode::Srgan, Path::new("photos"), 10);
        cfg.content = loss;
        let back = TrainConfig::from_metadata(&cfg.to_metadata()).unwrap();
        assert_eq!(back.content, loss, "{name}");
    }
    assert!("vgg45".parse::<ContentLoss>().is_err());
}

#[test]
fn an_interrupted_run_resumes_exactly() {
    let gpu = gpu();
    let data = temp("data-c");
    photos(&data);
    let cfg = config(Mode::Srgan, &data, 8);
    let set = load_data(&cfg).unwrap();
    let whole = temp("whole");
    train(&gpu, cfg.clone(), &whole);
    // Killed after step 5: the checkpoint holds step 3, steps 4 and 5 are lost and redone.
    let broken = temp("broken");
    Trainer::new(&gpu, cfg, &broken)
        .unwrap()
        .run(set.clone(), Some(5))
        .unwrap();
    // A write that died half way leaves a stray temporary file; the checkpoint is untouched.
    std::fs::write(broken.join("checkpoint.tmp"), b"half a checkpoint").unwrap();
    let mut resumed = Trainer::resume(&gpu, &broken, None, None).unwrap();
    assert_eq!(resumed.step, 3);
    resumed.run(set, None).unwrap();
    let (_, _, a) = log(&whole);
    let (_, _, b) = log(&broken);
    assert_eq!(a.len(), 8);
    assert_eq!(a, b, "the resumed run must log the same losses");
}

#[test]
fn srresnet_training_can_start_from_weights() {
    let gpu = gpu();
    let (data, first, second) = (temp("data-e"), temp("run-e1"), temp("run-e2"));
    photos(&data);
    train(&gpu, config(Mode::Srresnet, &data, 40), &first);
    // Same seed, so step 0 sees the same batch: from trained weights its loss is much lower.
    let mut again = config(Mode::Srresnet, &data, 1);
    again.init = Some(first.join("generator.safetensors"));
    train(&gpu, again, &second);
    let (fresh, _, _) = log(&first);
    let (started, _, _) = log(&second);
    assert!(
        started[0] < 0.6 * fresh[0],
        "step 0 from trained weights: {} vs {} from scratch",
        started[0],
        fresh[0]
    );
}

#[test]
fn weights_that_are_not_numbers_are_never_saved() {
    let gpu = gpu();
    let (data, out) = (temp("data-f"), temp("run-f"));
    photos(&data);
    let cfg = config(Mode::Srresnet, &data, 3);
    let set = load_data(&cfg).unwrap();
    let mut trainer = Trainer::new(&gpu, cfg, &out).unwrap();
    trainer.run(set, None).unwrap();
    let good = std::fs::read(out.join("checkpoint.safetensors")).unwrap();
    // What a diverged step leaves: one weight NaN.
    let p = &trainer.generator.params()[2];
    let mut v = p.value().to_vec();
    v[0] = f32::NAN;
    p.value().write(&v);
    let err = trainer.save().unwrap_err().to_string();
    assert!(err.contains("NaN or infinite"), "{err}");
    // Nor as a snapshot.
    let err = trainer.keep_snapshot().unwrap_err().to_string();
    assert!(err.contains("NaN or infinite"), "{err}");
    assert!(!out.join("snapshots").exists());
    assert_eq!(
        std::fs::read(out.join("checkpoint.safetensors")).unwrap(),
        good,
        "the last good checkpoint must stay"
    );
    assert!(
        Trainer::resume(&gpu, &out, None, None).is_err(),
        "the run still holds its folder"
    );
    drop(trainer);
    assert_eq!(Trainer::resume(&gpu, &out, None, None).unwrap().step, 3);
}

/// The training loop records step n + 1 before it reads step n's losses. Those must be step
/// n's own, the same as when every step waits for its losses; and after the first step a
/// step creates no GPU buffer (tensors and read-back buffers come from the pools).
#[test]
fn steps_recorded_ahead_read_their_own_losses_and_allocate_nothing() {
    use srgan_wgpu::train::data::Batch;
    let gpu = gpu();
    let mut rng = Rng::new(9);
    let batch = |k: u64| {
        let mut rng = Rng::new(k);
        Batch {
            lr: (0..3 * 3 * 8 * 8)
                .map(|_| rng.range(0.0, 1.0) as f32)
                .collect(),
            hr: (0..3 * 3 * 32 * 32)
                .map(|_| rng.range(-1.0, 1.0) as f32)
                .collect(),
            size: 3,
            crop: 32,
        }
    };
    let batches: Vec<Batch> = (0..5).map(|_| batch(rng.next_u64())).collect();
    let trainer = || {
        let mut cfg = config(Mode::Srgan, Path::new(""), 100);
        cfg.content = ContentLoss::Vgg22;
        let vgg = Vgg19::new(&gpu, VggLayer::Conv2_2, 4, 0.0625);
        Trainer::for_benchmark(&gpu, cfg, Some(vgg)).unwrap()
    };
    let mut one = trainer();
    let waited: Vec<_> = batches.iter().map(|b| one.train_step(b)).collect();
    drop(one);

    let mut two = trainer();
    let mut ahead = Vec::new();
    let mut created = Vec::new();
    let mut previous = None;
    for b in &batches {
        let recorded = two.record_step(b);
        if let Some(p) = previous.replace(recorded) {
            ahead.push(srgan_wgpu::train::PendingLosses::wait(p));
        }
        created.push((gpu.pool_stats().1, gpu.readback_cache().0));
    }
    ahead.push(previous.unwrap().wait());
    assert_eq!(waited, ahead, "losses read a step later differ");
    assert!(waited
        .iter()
        .all(|l| l.discriminator > 0.0 && l.content > 0.0));
    assert!(
        created[1..].iter().all(|c| *c == created[1]),
        "buffers created after each step, and read-back buffers kept: {created:?}"
    );
}

/// --disc-lr-factor scales the discriminator's learning rate, and a resumed run keeps it.
/// Adam's first steps move each weight by about the learning rate, so after 3 steps at lr
/// 2e-3 a weight has moved by up to ~6e-3 at factor 1 and ~6e-6 at factor 1e-3.
#[test]
fn the_discriminator_learns_at_its_own_rate() {
    use srgan_wgpu::models::Discriminator;
    let gpu = gpu();
    let data = temp("data-dlr");
    photos(&data);
    let name = "features.0.conv.weight";
    let mut moved = Vec::new();
    for factor in [1.0, 1e-3] {
        let out = temp(&format!("run-dlr-{factor}"));
        let mut cfg = config(Mode::Srgan, &data, 3);
        cfg.disc_lr_factor = factor;
        let start = Discriminator::new(&gpu, cfg.seed + 1, cfg.disc_width, cfg.crop);
        let before = start
            .entries()
            .iter()
            .find(|e| e.name() == name)
            .expect("the first convolution")
            .tensor()
            .to_vec();
        train(&gpu, cfg, &out);
        let file = nnio::File::open(&out.join("checkpoint.safetensors")).unwrap();
        let after = file
            .f32(&format!("discriminator.{name}"))
            .unwrap()
            .unwrap()
            .1;
        let most = before
            .iter()
            .zip(&after)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        moved.push(most);
        let resumed = Trainer::resume(&gpu, &out, None, None).unwrap();
        assert_eq!(resumed.config.disc_lr_factor, factor);
    }
    assert!(moved[0] > 1e-3 && moved[1] < 1e-4, "{moved:?}");
}

#[test]
fn a_light_checkpoint_resumes_with_a_warmed_up_discriminator() {
    use srgan_wgpu::models::Discriminator;
    let gpu = gpu();
    let data = temp("data-light");
    photos(&data);
    let mut cfg = config(Mode::Srgan, &data, 6);
    cfg.light_checkpoints = true;
    // Stored as 0 and changed on resuming, as `train --resume --disc-warmup 4` does.
    cfg.disc_warmup = 0;
    let set = load_data(&cfg).unwrap();
    let (light, full) = (temp("light"), temp("full"));
    let full_cfg = TrainConfig {
        light_checkpoints: false,
        ..cfg.clone()
    };
    for (c, dir) in [(cfg.clone(), &light), (full_cfg, &full)] {
        Trainer::new(&gpu, c, dir)
            .unwrap()
            .run(set.clone(), Some(3))
            .unwrap();
    }
    let path = |d: &Path| d.join("checkpoint.safetensors");
    let names = nnio::File::open(&path(&light)).unwrap().names();
    assert!(
        names.iter().any(|n| n.starts_with("generator.")),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains("discriminator")),
        "{names:?}"
    );
    let size = |d: &Path| std::fs::metadata(path(d)).unwrap().len();
    assert!(
        size(&light) < size(&full),
        "{} vs {}",
        size(&light),
        size(&full)
    );

    // Resumed, the discriminator is fresh and trained alone: the generator's weights and the
    // step stay as they were (its batch norm running statistics move, as in any step).
    let mut resumed = Trainer::resume(&gpu, &light, None, None).unwrap();
    assert_eq!((resumed.step, resumed.disc_warmup_left), (3, 0));
    assert!(resumed.set_disc_warmup(4), "the discriminator is fresh");
    assert_eq!(resumed.disc_warmup_left, 4);
    let weights = |t: &Trainer| -> Vec<Vec<f32>> {
        t.generator
            .params()
            .iter()
            .map(|p| p.value().to_vec())
            .collect()
    };
    let generator = weights(&resumed);
    let statistics = |t: &Trainer| -> Vec<(String, Vec<f32>)> {
        let all = values(&t.generator);
        all.into_iter()
            .filter(|(n, _)| n.contains("running"))
            .collect()
    };
    let running = statistics(&resumed);
    // Drawn as a restart at this step draws it (`Trainer::restart_discriminator`).
    let fresh = values(&Discriminator::new(
        &gpu,
        cfg.seed + 1 + 3,
        cfg.disc_width,
        cfg.crop,
    ));
    assert_eq!(values(resumed.discriminator().unwrap()), fresh);
    resumed.run(set.clone(), Some(3)).unwrap();
    assert_eq!((resumed.step, resumed.disc_warmup_left), (3, 0));
    assert_eq!(weights(&resumed), generator);
    // The generator ran in training mode, as the steps after the warm-up do.
    assert_ne!(
        statistics(&resumed),
        running,
        "the warm-up ran on running statistics"
    );
    let warmed = values(resumed.discriminator().unwrap());
    assert!(
        warmed
            .iter()
            .zip(&fresh)
            .any(|(a, b)| a.0.contains("weight") && a.1 != b.1),
        "the warm-up left the discriminator as it was"
    );
    // Then the run goes on to its end, and its log has every step once.
    resumed.run(set, None).unwrap();
    let (content, disc, _) = log(&light);
    assert_eq!(content.len(), 6);
    assert!(disc.iter().all(|d| d.is_finite() && *d > 0.0), "{disc:?}");
}

#[test]
fn the_discriminator_restarts_on_schedule() {
    use srgan_wgpu::models::Discriminator;
    let gpu = gpu();
    let data = temp("data-restart");
    photos(&data);
    let mut cfg = config(Mode::Srgan, &data, 5);
    (cfg.disc_warmup, cfg.checkpoint_every) = (1, 5);
    let set = load_data(&cfg).unwrap();
    // A restarts after steps 2 and 4; B is restarted by hand after step 2; C never.
    let every = TrainConfig {
        disc_restart_every: 2,
        ..cfg.clone()
    };
    let dirs = [
        temp("run-restart-a"),
        temp("run-restart-b"),
        temp("run-restart-c"),
    ];
    let mut a = Trainer::new(&gpu, every, &dirs[0]).unwrap();
    let mut b = Trainer::new(&gpu, cfg.clone(), &dirs[1]).unwrap();
    let mut c = Trainer::new(&gpu, cfg.clone(), &dirs[2]).unwrap();
    for t in [&mut a, &mut b, &mut c] {
        t.run(set.clone(), Some(2)).unwrap();
    }
    let disc = |t: &Trainer| values(t.discriminator().unwrap());
    let gen = |t: &Trainer| values(&t.generator);
    let fresh = |step: u64| {
        values(&Discriminator::new(
            &gpu,
            cfg.seed + 1 + step,
            cfg.disc_width,
            cfg.crop,
        ))
    };
    assert_eq!(disc(&a), disc(&c), "a restart before its step");

    // A fresh discriminator from seed + 1 + step, to be warmed up first.
    assert!(b.restart_discriminator());
    assert_eq!(b.disc_warmup_left, 1);
    assert_eq!(disc(&b), fresh(2));

    for t in [&mut a, &mut b, &mut c] {
        t.run(set.clone(), Some(3)).unwrap();
        assert_eq!((t.step, t.disc_warmup_left), (3, 0));
    }
    // A restarted after step 2 as B was restarted by hand, warm-up included; C went on.
    assert_eq!(disc(&a), disc(&b));
    assert_eq!(gen(&a), gen(&b));
    assert_ne!(disc(&a), disc(&c), "no restart after step 2");
    assert_ne!(gen(&a), gen(&c));

    // After step 4 again: A's discriminator and its Adam state are those of its last
    // restart, one warm-up step and one step old; C's are five steps old.
    for t in [&mut a, &mut c] {
        t.run(set.clone(), None).unwrap();
    }
    assert_ne!(
        disc(&a),
        fresh(4),
        "the restarted discriminator did not learn"
    );
    let adam_steps = |dir: &Path| {
        let file = nnio::File::open(&dir.join("checkpoint.safetensors")).unwrap();
        file.metadata()["discriminator.adam_step"].clone()
    };
    assert_eq!(adam_steps(&dirs[0]), "2");
    assert_eq!(adam_steps(&dirs[2]), "5");
}

#[test]
fn a_run_resumed_at_its_restarts_repeats_them() {
    let gpu = gpu();
    let data = temp("data-restart-resume");
    photos(&data);
    let mut cfg = config(Mode::Srgan, &data, 5);
    (
        cfg.checkpoint_every,
        cfg.disc_warmup,
        cfg.disc_restart_every,
    ) = (2, 1, 2);
    let srresnet = TrainConfig {
        mode: Mode::Srresnet,
        ..cfg.clone()
    };
    let err = srresnet.check().unwrap_err().to_string();
    assert!(err.contains("only an SRGAN"), "{err}");
    let set = load_data(&cfg).unwrap();
    let disc = |t: &Trainer| values(t.discriminator().unwrap());
    let whole = temp("run-restart-whole");
    let mut uninterrupted = Trainer::new(&gpu, cfg.clone(), &whole).unwrap();
    uninterrupted.run(set.clone(), None).unwrap();
    // Stopped after steps 2 and 4, where it restarts, and resumed from full checkpoints
    // (written before the restart) and from light ones (without a discriminator, made afresh
    // on resuming as the restart would have made it, and not once more after its warm-up).
    for light in [false, true] {
        let dir = temp(&format!("run-restart-resumed-{light}"));
        let first = TrainConfig {
            light_checkpoints: light,
            ..cfg.clone()
        };
        Trainer::new(&gpu, first, &dir)
            .unwrap()
            .run(set.clone(), Some(2))
            .unwrap();
        Trainer::resume(&gpu, &dir, None, None)
            .unwrap()
            .run(set.clone(), Some(4))
            .unwrap();
        let mut last = Trainer::resume(&gpu, &dir, None, None).unwrap();
        assert_eq!(last.config.disc_restart_every, 2);
        last.run(set.clone(), None).unwrap();
        assert_eq!(log(&dir).2, log(&whole).2, "light checkpoints: {light}");
        assert_eq!(
            disc(&last),
            disc(&uninterrupted),
            "light checkpoints: {light}"
        );
        assert_eq!(values(&last.generator), values(&uninterrupted.generator));
    }
}
