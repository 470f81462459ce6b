//! What commands check of the paths they are given before they write: that an output is not
//! one of their inputs.

use crate::error::Result;
use std::path::Path;

/// Whether two paths name the same file or folder (the second may not exist yet).
pub fn same_place(a: &Path, b: &Path) -> bool {
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

/// Refuses to write `output` (named by `flag`) over any of `inputs`: the user's file would be
/// lost.
pub fn refuse_input(flag: &str, output: &Path, inputs: &[&Path]) -> Result<()> {
    match inputs.iter().find(|i| same_place(i, output)) {
        Some(i) => crate::fail!(
            "{flag} {} is an input ({}): choose another name, it would be lost",
            output.display(),
            i.display()
        ),
        None => Ok(()),
    }
}
