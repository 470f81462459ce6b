//! Upscaling as the command line does it, for a file or a whole folder: the checks that keep
//! inputs safe (never write over them, never take earlier outputs as inputs, check the output
//! format first), shards and skip-existing for array jobs, several GPUs sharing a folder, and
//! progress. `srgan-wgpu upscale` is a thin call of `upscale` here.

use crate::error::Result;
use crate::eval;
use crate::fail;
use crate::imaging::io;
use crate::upscale::{load_generator, Upscaler};
use crate::Gpu;
use std::path::{Path, PathBuf};

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
    let (input, output, tile) = (job.input.as_path(), job.output.clone(), job.tile);
    if gpus.is_empty() {
        return fail!("no GPU to upscale on");
    }
    if !input.exists() {
        return fail!("{} does not exist", input.display());
    }
    let gpu = &gpus[0];
    if input.is_file() {
        let output = output.unwrap_or_else(|| {
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
        return upscale_one(&Upscaler::new(&g, tile, gpu), input, &output, job.outscale);
    }
    let Some(out_dir) = output else {
        return fail!("upscaling a folder needs -o OUTPUT_FOLDER");
    };
    if same_place(input, &out_dir) {
        return fail!(
            "-o {} is the input folder: choose another, the originals would be overwritten",
            out_dir.display()
        );
    }
    // An output folder inside the input one holds earlier results: never take them as input.
    let outputs = std::fs::canonicalize(&out_dir).ok();
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
    // Outputs keep their relative paths; formats that are only read (WebP, TIFF) become PNG.
    let relative = |f: &Path| {
        let r = f.strip_prefix(input).unwrap_or(f).to_path_buf();
        if io::output_format(&r).is_ok() {
            r
        } else {
            r.with_extension("png")
        }
    };
    let files: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| {
            job.shard
                .is_none_or(|(k, n)| crate::upscale::shard_of(&relative(f), n) == k)
        })
        .filter(|f| !(job.skip_existing && out_dir.join(relative(f)).exists()))
        .collect();
    if files.is_empty() {
        println!("nothing to do: every image of this shard has its output");
        return Ok(());
    }
    // One worker thread per adapter, each with its own copy of the model, taking the next
    // image from a shared counter: a faster GPU simply takes more images.
    let generators = gpus
        .iter()
        .map(|gpu| load_generator(gpu, &job.model))
        .collect::<Result<Vec<_>>>()?;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failed = std::sync::atomic::AtomicUsize::new(0);
    let progress = std::sync::Mutex::new(crate::progress::Progress::new(
        "upscale",
        "images",
        0,
        files.len() as u64,
    ));
    std::thread::scope(|scope| {
        for (gpu, g) in gpus.iter().zip(&generators) {
            let (files, next, failed, progress) = (&files, &next, &failed, &progress);
            let relative = &relative;
            let out_dir = &out_dir;
            scope.spawn(move || {
                let up = Upscaler::new(g, tile, gpu);
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(f) = files.get(i) else { break };
                    let target = out_dir.join(relative(f));
                    let result = upscale_one(&up, f, &target, job.outscale);
                    let mut p = progress.lock().unwrap_or_else(|e| e.into_inner());
                    if let Err(e) = result {
                        p.println(&format!("warning: skipping {e}"));
                        failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    p.advance(
                        f.file_name()
                            .unwrap_or_default()
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
            });
        }
    });
    progress
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .finish();
    let failed = failed.into_inner();
    if failed > 0 {
        return fail!("{failed} image(s) could not be upscaled");
    }
    Ok(())
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
