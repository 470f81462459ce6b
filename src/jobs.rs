//! Upscaling as the command line does it, for a file or a whole folder: the checks that keep
//! inputs safe (never write over them, never take earlier outputs as inputs, check the output
//! format first), shards and skip-existing for array jobs, several GPUs sharing a folder, and
//! progress. `srgan-wgpu upscale` is a thin call of `upscale` here.

use crate::error::Result;
use crate::eval;
use crate::fail;
use crate::imaging::io;
use crate::progress::Progress;
use crate::upscale::{load_generator, Upscaler};
use crate::Gpu;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

fn upscale_one(up: &Upscaler, input: &Path, output: &Path, outscale: f32) -> Result<()> {
    let pic = io::load(input)?;
    crate::upscale::check_host_memory(pic.rgb.height, pic.rgb.width)?;
    let mut out = up.upscale_picture(&pic);
    if outscale != 4.0 {
        out = crate::upscale::rescale(&out, &pic, outscale);
    }
    io::save(output, &out)?;
    println!(
        "{} -> {} ({}x{} -> {}x{})",
        input.display(),
        output.display(),
        pic.rgb.width,
        pic.rgb.height,
        out.rgb.width,
        out.rgb.height
    );
    Ok(())
}

/// What `srgan-wgpu upscale` is asked to do.
pub struct UpscaleJob {
    /// An image, or a folder searched recursively.
    pub input: PathBuf,
    /// For an image, the output file (default NAME_x4.png beside it); for a folder, the
    /// output folder (required).
    pub output: Option<PathBuf>,
    /// Generator weights.
    pub model: PathBuf,
    /// Tile side in LR pixels; 0 picks it from the GPU's limits.
    pub tile: usize,
    /// Only shard K of N of a folder (`shard_of`).
    pub shard: Option<(u64, u64)>,
    /// Leave images whose output exists.
    pub skip_existing: bool,
    /// The final scale (4: the network's own).
    pub outscale: f32,
}

/// Runs `job` on `gpus` (at least one; a folder's images are shared among them, one worker
/// thread per GPU, each taking the next image). Checks everything that can be checked before
/// any GPU work; prints a line per image written (stdout) and progress (stderr).
pub fn upscale(gpus: &[Gpu], job: &UpscaleJob) -> Result<()> {
    if gpus.is_empty() {
        return fail!("no GPU to upscale on");
    }
    if !job.input.exists() {
        return fail!("{} does not exist", job.input.display());
    }
    if job.input.is_file() {
        return upscale_file(&gpus[0], job);
    }
    let Some(out_dir) = &job.output else {
        return fail!("upscaling a folder needs -o OUTPUT_FOLDER");
    };
    let work = folder_work(job, out_dir)?;
    if work.is_empty() {
        println!("nothing to do: every image of this shard has its output");
        return Ok(());
    }
    upscale_all(gpus, job, &work)
}

fn upscale_file(gpu: &Gpu, job: &UpscaleJob) -> Result<()> {
    let input = job.input.as_path();
    let output = job.output.clone().unwrap_or_else(|| {
        let stem = input.file_stem().unwrap_or_default().to_string_lossy();
        input.with_file_name(format!("{stem}_x4.png"))
    });
    io::output_format(&output)?;
    if job.skip_existing && output.exists() {
        println!("{} exists: skipped", output.display());
        return Ok(());
    }
    if same_place(input, &output) {
        return fail!(
            "-o {} is the input image: choose another name, the original would be lost",
            output.display()
        );
    }
    let g = load_generator(gpu, &job.model)?;
    upscale_one(
        &Upscaler::new(&g, job.tile, gpu),
        input,
        &output,
        job.outscale,
    )
}

/// The (input, output) pairs of a folder: its images, not those under the output folder,
/// of the job's shard, without an output already where skipping them. Outputs keep their
/// relative paths; formats that are only read (WebP, TIFF) become PNG.
fn folder_work(job: &UpscaleJob, out_dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    let input = job.input.as_path();
    if same_place(input, out_dir) {
        return fail!(
            "-o {} is the input folder: choose another, the originals would be overwritten",
            out_dir.display()
        );
    }
    // An output folder inside the input one holds earlier results: never take them as input.
    let outputs = std::fs::canonicalize(out_dir).ok();
    let files: Vec<PathBuf> = eval::image_files(input)?
        .into_iter()
        .filter(|f| {
            let real = std::fs::canonicalize(f).ok();
            outputs
                .as_ref()
                .is_none_or(|o| !real.is_some_and(|r| r.starts_with(o)))
        })
        .collect();
    if files.is_empty() {
        return fail!("no image (PNG, JPEG, WebP or TIFF) in {}", input.display());
    }
    let relative = |f: &Path| {
        let r = f.strip_prefix(input).unwrap_or(f).to_path_buf();
        if io::output_format(&r).is_ok() {
            r
        } else {
            r.with_extension("png")
        }
    };
    Ok(files
        .into_iter()
        .filter(|f| {
            job.shard
                .is_none_or(|(k, n)| crate::upscale::shard_of(&relative(f), n) == k)
        })
        .map(|f| {
            let target = out_dir.join(relative(&f));
            (f, target)
        })
        .filter(|(_, target)| !(job.skip_existing && target.exists()))
        .collect())
}

/// Upscales `work` with one worker thread per GPU, each with its own copy of the model,
/// taking the next image from a shared counter: a faster GPU simply takes more images.
fn upscale_all(gpus: &[Gpu], job: &UpscaleJob, work: &[(PathBuf, PathBuf)]) -> Result<()> {
    let generators = gpus
        .iter()
        .map(|gpu| load_generator(gpu, &job.model))
        .collect::<Result<Vec<_>>>()?;
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let total = work.len() as u64;
    let progress = Mutex::new(Progress::new("upscale", "images", 0, total));
    std::thread::scope(|scope| {
        for (gpu, g) in gpus.iter().zip(&generators) {
            let (next, failed, progress) = (&next, &failed, &progress);
            scope.spawn(move || {
                let up = Upscaler::new(g, job.tile, gpu);
                while let Some((input, output)) = work.get(next.fetch_add(1, Relaxed)) {
                    let result = upscale_one(&up, input, output, job.outscale);
                    let mut p = progress.lock().unwrap_or_else(|e| e.into_inner());
                    if let Err(e) = result {
                        p.println(&format!("warning: skipping {e}"));
                        failed.fetch_add(1, Relaxed);
                    }
                    let name = input.file_name().unwrap_or_default();
                    p.advance(name.to_string_lossy().into_owned());
                }
            });
        }
    });
    progress
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .finish();
    match failed.into_inner() {
        0 => Ok(()),
        n => fail!("{n} image(s) could not be upscaled"),
    }
}

/// Whether two paths name the same file or folder (the second may not exist yet).
fn same_place(a: &Path, b: &Path) -> bool {
    let real = |p: &Path| {
        std::fs::canonicalize(p).ok().or_else(|| {
            let parent = p.parent().filter(|d| !d.as_os_str().is_empty())?;
            Some(std::fs::canonicalize(parent).ok()?.join(p.file_name()?))
        })
    };
    match (real(a), real(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}
