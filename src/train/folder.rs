//! What a run folder holds besides the log (see the module above): the checkpoint and the
//! generator files, snapshots, the best validation's generator, and the lock that keeps a
//! second run out.

use super::{Mode, Trainer, BEST, CHECKPOINT, LOG_HEADER, SNAPSHOTS};
use crate::error::{Context, Result};
use crate::fail;
use crate::nn::{io, Module};
use crate::optim::Adam;
use crate::upscale::Upscaler;
use std::io::Write;
use std::path::{Path, PathBuf};

impl Trainer {
    /// Writes the checkpoint and the generator file, each atomically.
    pub fn save(&self) -> Result<()> {
        let mut records = io::records(&self.generator.entries(), "generator.");
        self.refuse_diverged(&records)?;
        records.extend(adam_records(&self.adam_g, "generator"));
        if let Some(average) = &self.average {
            records.extend(io::records(&average.generator.entries(), "average."));
        }
        if let (Some(d), Some(adam)) = (&self.discriminator, &self.adam_d) {
            if !self.config.light_checkpoints {
                records.extend(io::records(&d.entries(), "discriminator."));
                records.extend(adam_records(adam, "discriminator"));
            }
        }
        let mut meta = self.config.to_metadata();
        // From the average itself, so that a resume finds the average its config promises.
        let ema = self.average.as_ref().map_or(0.0, |a| a.decay);
        meta.insert("config.ema".into(), ema.to_string());
        meta.insert("step".into(), self.step.to_string());
        if let Some((step, score)) = self.best {
            meta.insert("best".into(), format!("{step}:{score}"));
        }
        meta.insert("generator.adam_step".into(), self.adam_g.step.to_string());
        if let Some(adam) = self
            .adam_d
            .as_ref()
            .filter(|_| !self.config.light_checkpoints)
        {
            meta.insert("discriminator.adam_step".into(), adam.step.to_string());
        }
        io::save(&self.dir.join(CHECKPOINT), &records, meta)?;
        self.save_kept("generator.safetensors")
    }

    /// Writes the generator the run keeps (`kept`) as the file `name` of the run folder.
    fn save_kept(&self, name: &str) -> Result<()> {
        let kept = self.kept();
        io::save_module(
            &self.dir.join(name),
            &kept.entries(),
            kept.config.to_metadata(),
        )
    }

    /// A diverged step leaves weights that are not numbers: they are never written, and the
    /// last good checkpoint stays.
    fn refuse_diverged(&self, records: &[io::Record]) -> Result<()> {
        match records.iter().find_map(|r| match r {
            io::Record::F32(name, _, v) if v.iter().any(|x| !x.is_finite()) => Some(name),
            _ => None,
        }) {
            Some(name) => fail!(
                "the weights became NaN or infinite ({name}) by step {}; the last checkpoint is kept. Try a lower learning rate",
                self.step
            ),
            None => Ok(()),
        }
    }

    /// Keeps the generator (`kept`: the moving average where the run has one) as
    /// `snapshots/generator_STEP.safetensors` (`--keep-every`): the late generators of a run,
    /// for averaging.
    pub fn keep_snapshot(&self) -> Result<()> {
        let records = io::records(&self.kept().entries(), "");
        self.refuse_diverged(&records)?;
        let dir = self.dir.join(SNAPSHOTS);
        std::fs::create_dir_all(&dir).context(format!("cannot create {}", dir.display()))?;
        let path = dir.join(format!("generator_{:07}.safetensors", self.step));
        io::save(&path, &records, self.kept().config.to_metadata())
    }

    /// Mean PSNR (Y, border 4) of the generator (`kept`) over the validation images, and mean
    /// LPIPS where its weights are at hand.
    pub fn validate(&self, dir: &Path) -> Result<(f64, Option<f64>)> {
        let up = Upscaler::new(self.kept(), 0, &self.gpu);
        let how = crate::eval::LrResize::Matlab;
        let scores = crate::eval::evaluate_with(&up, dir, how, self.lpips.as_ref(), false)?;
        let mean = crate::eval::mean(&scores);
        Ok((mean.psnr, mean.lpips))
    }

    /// Keeps the generator (`kept`) as `best.safetensors` if this validation is the best so
    /// far: by LPIPS for an SRGAN (lower is better) where it is measured, else by PSNR.
    /// Returns whether it was.
    pub fn keep_if_best(&mut self, psnr: f64, lpips: Option<f64>) -> Result<bool> {
        let score = match (self.config.mode, lpips) {
            (Mode::Srgan, Some(l)) => -l,
            _ => psnr,
        };
        if self.best.is_some_and(|(_, best)| best >= score) {
            return Ok(false);
        }
        self.best = Some((self.step, score));
        self.save_kept(BEST)?;
        Ok(true)
    }
}

fn adam_records(adam: &Adam, prefix: &str) -> Vec<io::Record> {
    adam.slots
        .iter()
        .flat_map(|s| {
            let shape = s.param.value().shape().to_vec();
            [
                io::Record::F32(
                    format!("optim.{prefix}.m.{}", s.param.name),
                    shape.clone(),
                    s.m.to_vec(),
                ),
                io::Record::F32(
                    format!("optim.{prefix}.v.{}", s.param.name),
                    shape,
                    s.v.to_vec(),
                ),
            ]
        })
        .collect()
}

pub(super) fn load_adam(
    file: &io::File,
    adam: &mut Adam,
    prefix: &str,
    meta: &std::collections::HashMap<String, String>,
) -> Result<()> {
    for s in &adam.slots {
        for (which, t) in [("m", &s.m), ("v", &s.v)] {
            let name = format!("optim.{prefix}.{which}.{}", s.param.name);
            match file.f32(&name)? {
                Some((shape, data)) if shape == t.shape() => t.write(&data),
                _ => return fail!("the checkpoint's optimizer state has no matching '{name}'"),
            }
        }
    }
    adam.step = meta
        .get(&format!("{prefix}.adam_step"))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(())
}

/// Drops log rows after `step` (written after the last checkpoint by a run that was killed).
pub(super) fn truncate_log(path: &Path, step: u64) -> Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|_| format!("{LOG_HEADER}\n"));
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.split(',')
                .next()
                .and_then(|s| s.parse::<u64>().ok())
                .is_none_or(|s| s <= step)
        })
        .collect();
    std::fs::write(path, kept.join("\n") + "\n").context("cannot write log.csv")
}

/// `run.lock` in a run folder, holding the owner's process id: a second `train` on the same
/// folder stops at once instead of mixing its steps into the first one's files. A lock left
/// by a process that no longer runs (killed) is taken over.
pub(super) struct RunLock {
    path: PathBuf,
}

impl RunLock {
    pub(super) fn take(dir: &Path) -> Result<RunLock> {
        let path = dir.join("run.lock");
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    write!(f, "{}", std::process::id()).context("cannot write run.lock")?;
                    return Ok(RunLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = std::fs::read_to_string(&path).unwrap_or_default();
                    if process_alive(owner.trim()) {
                        return fail!(
                            "{} is in use by another training run (process {}); wait for it or pick another --out",
                            dir.display(),
                            owner.trim()
                        );
                    }
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => return fail!("cannot create {}: {e}", path.display()),
            }
        }
        fail!("cannot take {}", path.display())
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether a process id names a running process. Where that cannot be told (no /proc), a
/// lock is assumed live only if it names this very process.
fn process_alive(pid: &str) -> bool {
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    if Path::new("/proc/self").exists() {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        pid == std::process::id()
    }
}
