//! Upscaling as the command line does it, for a file or a whole folder: the checks that keep
//! inputs safe (never write over them, never take earlier outputs as inputs, check the output
//! format first), shards and skip-existing for array jobs, several GPUs sharing a folder, and
//! progress. `srgan-wgpu upscale` is a thin call of `upscale` here.

use crate::error::Result;
use crate::eval;
use crate::fail;
use crate::imaging::io;
use crate::paths::same_place;
use crate::progress::Progress;
use crate::upscale::{load_generator, Upscaler};
use crate::Gpu;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

/// Upscales one image; `progress`: shows how far its convolutions are (for a single image,
/// whose one pass can take minutes on a slow adapter).
fn upscale_one(
    up: &Upscaler,
    input: &Path,
    output: &Path,
    outscale: f32,
    progress: bool,
) -> Result<()> {
    let pic = io::load(input)?;
    let (h, w) = (pic.rgb.height, pic.rgb.width);
    crate::upscale::check_output(h, w, outscale, up.is_self_ensemble())?;
    let mut out = if progress {
        let total = up.reports(h, w);
        let mut bar = Progress::new("upscale", "layers", 0, total as u64);
        let name = input.file_name().unwrap_or_default().to_string_lossy();
        let mut report = |_done: usize, _total: usize| bar.advance(name.to_string());
        let out = up.upscale_picture_observed(&pic, Some(&mut report));
        bar.finish();
        out
    } else {
        up.upscale_picture(&pic)
    };
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
    /// Average the eight orientations' results (`Upscaler::with_self_ensemble`).
    pub self_ensemble: bool,
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
    if work.pairs.is_empty() {
        match job.shard {
            Some((k, n)) if work.in_shard == 0 => println!(
                "nothing to do: none of the {} images falls in shard {k}/{n}",
                work.images
            ),
            _ => println!(
                "nothing to do: each of the {} images has its output",
                work.in_shard
            ),
        }
        return Ok(());
    }
    upscale_all(gpus, job, &work.pairs)
}

fn upscale_file(gpu: &Gpu, job: &UpscaleJob) -> Result<()> {
    let input = job.input.as_path();
    let default_name = || {
        let stem = input.file_stem().unwrap_or_default().to_string_lossy();
        format!("{stem}_x4.png")
    };
    let output = match &job.output {
        // Into a folder (one that exists, or a name ending in a slash): NAME_x4.png there.
        Some(dir) if dir.is_dir() || dir.to_string_lossy().ends_with(['/', '\\']) => {
            dir.join(default_name())
        }
        Some(file) => file.clone(),
        None => input.with_file_name(default_name()),
    };
    if job.skip_existing && io::is_whole_output(&output) {
        println!("{} exists: skipped", output.display());
        return Ok(());
    }
    if same_place(input, &output) {
        return fail!(
            "-o {} is the input image: choose another name, the original would be lost",
            output.display()
        );
    }
    io::check_output_place(&output)?;
    let g = load_generator(gpu, &job.model)?;
    let up = Upscaler::new(&g, job.tile, gpu).with_self_ensemble(job.self_ensemble);
    upscale_one(&up, input, &output, job.outscale, true)
}

/// A folder's images to upscale, (input, output) each, and what `folder_work` left out.
struct FolderWork {
    pairs: Vec<(PathBuf, PathBuf)>,
    /// Images in the folder, and of those in the job's shard.
    images: usize,
    in_shard: usize,
}

/// The (input, output) pairs of a folder: its images, not those under the output folder,
/// of the job's shard, without a whole output already where skipping them. Outputs keep
/// their relative paths; formats that are only read (WebP, TIFF) become PNG, and where that
/// would give two inputs one output (a.webp beside a.png) the converted one keeps its
/// extension in the name (a.webp.png). The mapping depends on the folder alone, so every
/// shard of an array job makes the same.
fn folder_work(job: &UpscaleJob, out_dir: &Path) -> Result<FolderWork> {
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
    let targets = output_names(input, &files)?;
    let images = files.len();
    let in_shard: Vec<(PathBuf, PathBuf)> = files
        .into_iter()
        .zip(targets)
        .filter(|(_, rel)| {
            job.shard
                .is_none_or(|(k, n)| crate::upscale::shard_of(rel, n) == k)
        })
        .map(|(f, rel)| (f, out_dir.join(rel)))
        .collect();
    let count = in_shard.len();
    let pairs: Vec<_> = in_shard
        .into_iter()
        .filter(|(_, target)| !(job.skip_existing && io::is_whole_output(target)))
        .collect();
    if !pairs.is_empty() {
        io::check_writable_folder(out_dir)?;
    }
    Ok(FolderWork {
        pairs,
        images,
        in_shard: count,
    })
}

/// Each image's output path relative to the output folder (see `folder_work`); an error if
/// two would still be one.
fn output_names(input: &Path, files: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let relative = |f: &Path| f.strip_prefix(input).unwrap_or(f).to_path_buf();
    let converted = |r: &Path| io::output_format(r).is_err();
    let plain = |r: PathBuf| {
        if converted(&r) {
            r.with_extension("png")
        } else {
            r
        }
    };
    let mut count = std::collections::HashMap::new();
    for f in files {
        *count.entry(plain(relative(f))).or_insert(0) += 1;
    }
    let names: Vec<PathBuf> = files
        .iter()
        .map(|f| {
            let r = relative(f);
            if converted(&r) && count[&plain(r.clone())] > 1 {
                let mut name = r.into_os_string();
                name.push(".png");
                PathBuf::from(name)
            } else {
                plain(r)
            }
        })
        .collect();
    let mut seen = std::collections::HashMap::new();
    for (f, name) in files.iter().zip(&names) {
        if let Some(other) = seen.insert(name, f) {
            return fail!(
                "{} and {} would both be written to {}: rename one",
                other.display(),
                f.display(),
                name.display()
            );
        }
    }
    Ok(names)
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
                let up = Upscaler::new(g, job.tile, gpu).with_self_ensemble(job.self_ensemble);
                while let Some((input, output)) = work.get(next.fetch_add(1, Relaxed)) {
                    let result = upscale_one(&up, input, output, job.outscale, false);
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
