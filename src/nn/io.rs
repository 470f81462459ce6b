//! Saving and loading modules as safetensors, under PyTorch's state_dict names. Files are
//! written atomically: to `NAME.tmp`, flushed to disk, then renamed over `NAME`, so a crash
//! mid-write leaves the previous file whole.

use super::Entry;
use crate::error::{Context, Result};
use crate::fail;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// One tensor to write: f32 values with a shape, or an int64 scalar (PyTorch's counters).
pub enum Record {
    F32(String, Vec<usize>, Vec<f32>),
    I64(String, i64),
}

/// The records of `entries`, their names behind `prefix` (e.g. "discriminator.").
pub fn records(entries: &[Entry], prefix: &str) -> Vec<Record> {
    entries
        .iter()
        .map(|e| {
            let name = format!("{prefix}{}", e.name());
            match e {
                Entry::Counter(_, c) => {
                    Record::I64(name, c.load(std::sync::atomic::Ordering::Relaxed) as i64)
                }
                _ => Record::F32(name, e.tensor().shape().to_vec(), e.tensor().to_vec()),
            }
        })
        .collect()
}

/// Writes the records and the string `metadata` to `path`, atomically.
pub fn save(path: &Path, records: &[Record], metadata: HashMap<String, String>) -> Result<()> {
    let bytes: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = records
        .iter()
        .map(|r| match r {
            Record::F32(n, shape, data) => (
                n.clone(),
                Dtype::F32,
                shape.clone(),
                bytemuck::cast_slice(data).to_vec(),
            ),
            Record::I64(n, v) => (n.clone(), Dtype::I64, vec![], v.to_le_bytes().to_vec()),
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(n, dtype, shape, data)| {
            Ok((
                n.as_str(),
                TensorView::new(*dtype, shape.clone(), data).context("safetensors")?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let out = safetensors::serialize(views, Some(metadata)).context("safetensors")?;
    write_atomically(path, &out)
}

/// Saves a module's entries under their own names.
pub fn save_module(
    path: &Path,
    entries: &[Entry],
    metadata: HashMap<String, String>,
) -> Result<()> {
    save(path, &records(entries, ""), metadata)
}

/// Writes `bytes` to a temporary file beside `path` (named after this process and call, so
/// that two writers never share one), flushes it to disk and renames it over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}-{n}.tmp", std::process::id()));
    let tmp = path.with_file_name(name);
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return fail!("cannot write {}: {e}", path.display());
    }
    Ok(())
}

/// The largest weights file read: 2 GiB, 20 times the VGG19 with its optimizer state.
const MAX_WEIGHTS_BYTES: u64 = 2 << 30;

/// A loaded safetensors file: raw bytes, parsed on demand.
pub struct File {
    bytes: Vec<u8>,
    name: String,
}

impl File {
    pub fn open(path: &Path) -> Result<File> {
        // Only regular files of bounded size: `/dev/zero` or a pipe would be read forever.
        let meta =
            std::fs::metadata(path).context(format!("cannot read weights {}", path.display()))?;
        if !meta.is_file() {
            return fail!("weights {} is not a regular file", path.display());
        }
        if meta.len() > MAX_WEIGHTS_BYTES {
            return fail!(
                "weights {} is {} MB, more than any model here ({} MB at most)",
                path.display(),
                meta.len() >> 20,
                MAX_WEIGHTS_BYTES >> 20
            );
        }
        let bytes =
            std::fs::read(path).context(format!("cannot read weights {}", path.display()))?;
        File::from_bytes(bytes, &path.display().to_string())
    }

    /// A weights file already in memory (a browser's download), called `name` in errors.
    pub fn from_bytes(bytes: Vec<u8>, name: &str) -> Result<File> {
        if bytes.len() as u64 > MAX_WEIGHTS_BYTES {
            return fail!("weights {name} are larger than any model here");
        }
        SafeTensors::deserialize(&bytes).context(format!("{name} is not a safetensors file"))?;
        Ok(File {
            bytes,
            name: name.to_string(),
        })
    }

    /// A file made by a conversion script (`tool`), which a missing file's error names, and
    /// the output channels of its first convolution `first`, by which the caller sizes its
    /// model (`what` names the model in the error of a file without it).
    pub fn open_converted(
        path: &Path,
        tool: &str,
        first: &str,
        what: &str,
    ) -> Result<(File, usize)> {
        if !path.exists() {
            return fail!(
                "the {what} weights {} are missing: make them with {tool} (its first lines say \
                 how to fetch the file)",
                path.display()
            );
        }
        let file = File::open(path)?;
        let channels = match file.f32(first)? {
            Some((shape, _)) => shape[0],
            None => return fail!("{} has no {first}: not {what} weights", path.display()),
        };
        Ok((file, channels))
    }

    /// The file's size in bytes.
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn parsed(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.bytes).expect("checked in open")
    }

    pub fn metadata(&self) -> HashMap<String, String> {
        SafeTensors::read_metadata(&self.bytes)
            .map(|(_, m)| m.metadata().clone().unwrap_or_default())
            .unwrap_or_default()
    }

    pub fn names(&self) -> Vec<String> {
        self.parsed()
            .names()
            .into_iter()
            .map(String::from)
            .collect()
    }

    /// An f32 tensor's shape and values, or None if absent.
    pub fn f32(&self, name: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>> {
        let st = self.parsed();
        let Ok(view) = st.tensor(name) else {
            return Ok(None);
        };
        if view.dtype() != Dtype::F32 {
            return fail!(
                "{}: '{name}' is {:?}, expected F32",
                self.name,
                view.dtype()
            );
        }
        let data = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(Some((view.shape().to_vec(), data)))
    }

    /// Loads every entry from the file, checking names and shapes first so that nothing is
    /// changed when the file does not fit. The error names the first mismatch. Counters
    /// (num_batches_tracked) may be missing; `allow_extra` accepts tensors the model lacks
    /// (a checkpoint's optimizer state).
    pub fn load_into(&self, entries: &[Entry], allow_extra: bool) -> Result<()> {
        self.load_prefixed(entries, "", allow_extra)
    }

    /// As `load_into`, reading entry NAME from tensor `prefix`NAME.
    pub fn load_prefixed(&self, entries: &[Entry], prefix: &str, allow_extra: bool) -> Result<()> {
        let st = self.parsed();
        let full = |e: &Entry| format!("{prefix}{}", e.name());
        for e in entries {
            let want = match e {
                Entry::Param(p) => p.value().shape().to_vec(),
                Entry::Buffer(_, t) => t.shape().to_vec(),
                Entry::Counter(..) => continue,
            };
            self.check_parsed(&st, &full(e), &want)?;
        }
        if !allow_extra {
            let known: Vec<String> = entries.iter().map(full).collect();
            if let Some(extra) = st
                .names()
                .into_iter()
                .find(|n| !known.iter().any(|k| k == n))
            {
                return fail!(
                    "{} does not match the model: it has '{extra}', which the model lacks",
                    self.name
                );
            }
        }
        for e in entries {
            match e {
                Entry::Param(_) | Entry::Buffer(..) => {
                    e.tensor().write(&self.f32(&full(e))?.expect("checked").1)
                }
                Entry::Counter(_, c) => {
                    if let Ok(v) = st.tensor(&full(e)) {
                        if v.dtype() == Dtype::I64 && v.data().len() == 8 {
                            c.store(
                                i64::from_le_bytes(v.data().try_into().expect("8 bytes")) as u64,
                                std::sync::atomic::Ordering::Relaxed,
                            );
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// That every tensor is f32 (counters aside, which are i64): this engine reads nothing
    /// else, and a file of f16 weights should say so, not that it is too small.
    pub fn check_f32(&self) -> Result<()> {
        let st = self.parsed();
        let mut names = st.names();
        names.sort();
        for name in names {
            let dtype = st.tensor(name).map(|t| t.dtype()).ok();
            if let Some(d) = dtype.filter(|d| !matches!(d, Dtype::F32 | Dtype::I64)) {
                return fail!(
                    "{} holds {d:?} tensors ('{name}' among them): this program reads F32 weights; convert the file to float32",
                    self.name
                );
            }
        }
        Ok(())
    }

    /// That the file has tensor `name` of shape `want`, in f32, all finite (and not negative
    /// for a running variance): weights that are not numbers give black images without any
    /// error.
    pub fn check_tensor(&self, name: &str, want: &[usize]) -> Result<()> {
        self.check_parsed(&self.parsed(), name, want)
    }

    fn check_parsed(&self, st: &SafeTensors, name: &str, want: &[usize]) -> Result<()> {
        let Ok(v) = st.tensor(name) else {
            return fail!("{} does not match the model: it has no '{name}'", self.name);
        };
        if v.shape() != want {
            return fail!(
                "{} does not match the model: '{name}' has shape {:?}, the model expects {want:?}",
                self.name,
                v.shape(),
            );
        }
        if v.dtype() != Dtype::F32 {
            return fail!("{}: '{name}' is {:?}, expected F32", self.name, v.dtype());
        }
        let values = v
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        if let Some(bad) = values.clone().find(|x| !x.is_finite()) {
            return fail!(
                "{}: '{name}' holds {bad}: the weights are damaged",
                self.name
            );
        }
        if name.ends_with("running_var") {
            if let Some(bad) = values.clone().find(|&x| x < 0.0) {
                return fail!(
                    "{}: '{name}' holds the negative variance {bad}: the weights are damaged",
                    self.name
                );
            }
        }
        Ok(())
    }
}
