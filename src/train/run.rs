//! The training loop: steps recorded one ahead of their losses, so the GPU never waits for the
//! host; logging, validation, checkpoints and snapshots on schedule.

use super::data::{self, Dataset};
use super::{fresh_discriminator, PendingLosses, Trainer};
use crate::error::{Context, Result};
use crate::fail;
use crate::progress::Progress;
use crate::Tensor;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// A recorded step whose losses have not been read yet.
struct Recorded {
    step: u64,
    lr: f32,
    losses: PendingLosses,
}

impl Trainer {
    /// Trains until `config.steps` (or `stop_after`, which tests use to simulate a kill),
    /// logging each step, checkpointing and validating on schedule.
    ///
    /// Step n + 1 is recorded and submitted before step n's losses are read, so the host
    /// records while the GPU computes. A step that ends with a validation or a checkpoint
    /// waits for its own losses first: what is saved has been checked to be finite.
    pub fn run(&mut self, data: Arc<Dataset>, stop_after: Option<u64>) -> Result<()> {
        let c = self.config.clone();
        if self.disc_warmup_left > 0 {
            self.warm_up_discriminator(data.clone(), None)?;
        }
        let end = stop_after.map_or(c.steps, |s| s.min(c.steps));
        let mut batches = data::prefetch(
            data.clone(),
            c.seed,
            self.step,
            end,
            c.batch,
            c.crop,
            c.augment,
        );
        let mut log = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.join("log.csv"))
            .context("cannot open log.csv")?;
        let mut progress = Progress::new("train", "steps", self.step, c.steps);
        let mut logger = Logger {
            log: &mut log,
            progress: &mut progress,
            last: Instant::now(),
        };
        let mut waiting: Option<Recorded> = None;
        while self.step < end {
            if self.restart_due() {
                // The step before is logged first, so that its seconds leave the warm-up out.
                if let Some(previous) = waiting.take() {
                    logger.write(previous)?;
                }
                self.restart_discriminator();
                logger
                    .progress
                    .println(&format!("step {}: a fresh discriminator", self.step));
                self.warm_up_discriminator(data.clone(), Some(&mut *logger.progress))?;
                logger.progress.restart_rate();
                logger.last = Instant::now();
            }
            let batch = batches
                .recv()
                .map_err(|_| crate::Error("the data loader stopped".into()))?;
            let lr = c.lr_at(self.step);
            let losses = self.record_step(&batch);
            let this = Recorded {
                step: self.step,
                lr,
                losses,
            };
            // The previous step's losses, read while this one runs.
            if let Some(previous) = waiting.take() {
                logger.write(previous)?;
            }
            let validate = c
                .validation
                .as_ref()
                .filter(|_| c.validate_every > 0 && self.step.is_multiple_of(c.validate_every));
            let checkpoint = self.step.is_multiple_of(c.checkpoint_every) || self.step == c.steps;
            let keep = c.keep_every > 0 && self.step.is_multiple_of(c.keep_every);
            if validate.is_none() && !checkpoint && !keep {
                waiting = Some(this);
                continue;
            }
            let losses = this.losses.wait();
            logger.check(this.step, losses.generator)?;
            let val = match validate {
                Some(dir) => self.validation_columns(dir, &mut logger)?,
                None => (String::new(), String::new()),
            };
            logger.line(this.step, this.lr, &losses, &val)?;
            if checkpoint {
                logger.log.flush().context("cannot write log.csv")?;
                self.save()?;
            }
            if keep {
                self.keep_snapshot()?;
            }
        }
        if let Some(previous) = waiting.take() {
            logger.write(previous)?;
        }
        progress.finish();
        Ok(())
    }

    /// Trains a fresh discriminator alone for `disc_warmup_left` steps against the generator
    /// as it is, so that the generator goes on against a discriminator that already tells
    /// its images from photographs, not a random one. The generator's weights and the run's
    /// step do not move. The generator runs in training mode (batch statistics), as in the
    /// steps that follow, so its batch norm running statistics move as in any step;
    /// weights/SRGAN.md says what a warm-up in inference mode did. The batches are those of
    /// the next steps drawn with seed + 1, not the ones the run will train on. Within a run
    /// (a restart) it reports its end through the run's `outer` progress, with no bar of
    /// its own.
    fn warm_up_discriminator(
        &mut self,
        data: Arc<Dataset>,
        outer: Option<&mut Progress>,
    ) -> Result<()> {
        let (c, first, steps) = (self.config.clone(), self.step, self.disc_warmup_left);
        let lr = c.lr_at(first);
        let mut batches = data::prefetch(
            data,
            c.seed.wrapping_add(1),
            first,
            first + steps,
            c.batch,
            c.crop,
            c.augment,
        );
        // Alone it counts on a bar of its own; within a run it shows as the run's message.
        let nested = outer.is_some();
        let mut own = None;
        let progress: &mut Progress = match outer {
            Some(p) => p,
            None => own.insert(Progress::new("discriminator warm-up", "steps", 0, steps)),
        };
        let show = |p: &mut Progress, done: u64, line: String| {
            if nested {
                p.note(format!("discriminator warm-up {done}/{steps}: {line}"));
            } else {
                p.advance(line);
            }
        };
        let labels = self.labels(c.batch);
        let mut waiting: Option<crate::gpu::ReadBack> = None;
        for _ in 0..steps {
            let batch = batches
                .recv()
                .map_err(|_| crate::Error("the data loader stopped".into()))?;
            let (lr_img, hr_img) = self.upload(&batch);
            let tape = crate::autograd::Tape::inference();
            let sr = self.generator.forward(&tape, &tape.constant(lr_img), true);
            let Some((loss, (real, fake))) = self.update_discriminator(&sr, hr_img, &labels, lr)
            else {
                return fail!("only an SRGAN has a discriminator to warm up");
            };
            // The previous step's values, read while this one runs.
            if let Some(previous) = waiting.replace(Tensor::read_later(&[&loss, &real, &fake])) {
                let line = warm_up_line(&previous.wait());
                show(progress, steps - self.disc_warmup_left, line);
            }
            self.disc_warmup_left -= 1;
        }
        if let Some(last) = waiting {
            let line = warm_up_line(&last.wait());
            let summary = format!("discriminator warm-up, {steps} steps: {line}");
            show(progress, steps, line);
            progress.println(&summary);
        }
        if let Some(p) = own {
            p.finish();
        }
        Ok(())
    }

    /// Replaces an SRGAN's discriminator and its Adam state with fresh ones
    /// (`fresh_discriminator`, as made at this step), to be trained alone for `disc_warmup`
    /// steps before the next step (`run` does that); false for an SRResNet, which has none.
    pub fn restart_discriminator(&mut self) -> bool {
        if self.discriminator.is_none() {
            return false;
        }
        // The old ones go first, so that the new ones take their buffers.
        (self.discriminator, self.adam_d) = (None, None);
        let (d, adam) = fresh_discriminator(&self.gpu, &self.config, self.step);
        (self.discriminator, self.adam_d) = (Some(d), Some(adam));
        self.disc_warmup_left = self.config.disc_warmup;
        self.fresh_discriminator_at = Some(self.step);
        true
    }

    /// Whether `run` restarts the discriminator before the next step: after each step that
    /// is a positive multiple of `disc_restart_every`, unless it is fresh already (a run
    /// resumed there from a light checkpoint).
    fn restart_due(&self) -> bool {
        let every = self.config.disc_restart_every;
        every > 0
            && self.step > 0
            && self.step.is_multiple_of(every)
            && self.fresh_discriminator_at != Some(self.step)
    }

    /// Validates on the photos of `dir`, keeps the generator if it is the best so far, says
    /// so above the progress bar, and returns log.csv's PSNR and LPIPS columns.
    fn validation_columns(&mut self, dir: &Path, logger: &mut Logger) -> Result<(String, String)> {
        let (psnr, lpips) = self.validate(dir)?;
        let best = self.keep_if_best(psnr, lpips)?;
        logger.progress.println(&format!(
            "step {}: validation PSNR {psnr:.2} dB{}{}",
            self.step,
            lpips.map_or(String::new(), |l| format!(", LPIPS {l:.4}")),
            if best {
                " (best so far: best.safetensors)"
            } else {
                ""
            }
        ));
        Ok((
            format!("{psnr:.3}"),
            lpips.map_or(String::new(), |l| format!("{l:.4}")),
        ))
    }
}

/// The progress line of a warm-up step: its loss, D(HR) and D(SR).
fn warm_up_line(v: &[f32]) -> String {
    format!("loss_d {:.4} D(HR) {:.3} D(SR) {:.3}", v[0], v[1], v[2])
}

/// Writes `log.csv` and the progress line.
struct Logger<'a> {
    log: &'a mut std::fs::File,
    progress: &'a mut Progress,
    /// When the last step was logged: a step's seconds are the time between two log lines,
    /// what a step costs when the next one is recorded while it runs.
    last: Instant,
}

impl Logger<'_> {
    /// Waits for a step's losses and logs them.
    fn write(&mut self, r: Recorded) -> Result<()> {
        let losses = r.losses.wait();
        self.check(r.step, losses.generator)?;
        self.line(r.step, r.lr, &losses, &Default::default())
    }

    fn check(&self, step: u64, loss: f32) -> Result<()> {
        if !loss.is_finite() {
            return fail!("the loss became {loss} at step {step}; try a lower learning rate");
        }
        Ok(())
    }

    /// One row; `val` is the validation's PSNR and LPIPS, empty where there was none.
    fn line(
        &mut self,
        step: u64,
        lr: f32,
        l: &super::Losses,
        (psnr, lpips): &(String, String),
    ) -> Result<()> {
        let now = Instant::now();
        let secs = (now - self.last).as_secs_f64();
        self.last = now;
        writeln!(
            self.log,
            "{step},{lr},{},{},{},{},{secs:.4},{psnr},{},{},{lpips}",
            l.generator, l.content, l.adversarial, l.discriminator, l.d_real, l.d_fake
        )
        .context("cannot write log.csv")?;
        self.progress.advance(format!(
            "loss_g {:.5} content {:.5} adv {:.4} loss_d {:.4}",
            l.generator, l.content, l.adversarial, l.discriminator
        ));
        Ok(())
    }
}
