//! The checked mode (`SRGAN_WGPU_CHECKED=1`, or `Gpu::set_checked`): every index into a
//! storage array, in every kernel, is compared with the array's length, and the first access
//! out of range stops the program naming the kernel, the array and the index.
//!
//! Kernels normally run without wgpu's bounds checks (they cost 20x on a tight GEMM), on the
//! argument that the tests prove their indices; wgpu's checks would not prove anything either,
//! since they clamp a wrong index into range and the kernel goes on silently. This mode is
//! the proof: CI runs the op tests in it.
//!
//! It works on the WGSL text before it is compiled. `name[i]` becomes `name[oob_k(u32(i))]`,
//! where `oob_k` returns `i` when it is below `arrayLength(&name)`, and otherwise records
//! (array k, index) in an extra storage binding, `oob_report`, and returns 0 so the kernel
//! itself stays in memory. (`u32` of a negative `i32` index is a huge number: caught too.)
//! After each dispatch the launcher reads `oob_report` back. Workgroup arrays are not
//! instrumented: their sizes are constants next to the loops that index them.

/// A kernel's source rewritten with index checks; `arrays` names the checked arrays by their
/// number in the report, and `binding` is where `oob_report` is bound.
pub(super) struct Instrumented {
    pub source: String,
    pub arrays: Vec<String>,
    pub binding: u32,
}

pub(super) fn instrument(source: &str) -> Instrumented {
    let code: String = source
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut arrays = Vec::new();
    let mut binding = 0;
    for line in code.lines() {
        if let Some(b) = line
            .split("@binding(")
            .nth(1)
            .and_then(|r| r.split(')').next())
        {
            binding = binding.max(b.trim().parse::<u32>().map_or(0, |b| b + 1));
        }
        if !line.contains("var<storage") || !line.contains(": array<") {
            continue;
        }
        let after = line.split("var<storage").nth(1).unwrap_or("");
        let name = after
            .split_once('>')
            .and_then(|(_, rest)| rest.split(':').next())
            .map(str::trim);
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            arrays.push(name.to_string());
        }
    }
    let mut text = code;
    for (k, name) in arrays.iter().enumerate() {
        text = wrap_indices(&text, name, &format!("oob_{k}"));
    }
    text += &format!(
        "\n@group(0) @binding({binding}) var<storage, read_write> oob_report: array<atomic<u32>>;\n"
    );
    for (k, name) in arrays.iter().enumerate() {
        text += &format!(
            "fn oob_{k}(i: u32) -> u32 {{\n  \
               if (i < arrayLength(&{name})) {{ return i; }}\n  \
               if (atomicAdd(&oob_report[0], 1u) == 0u) {{\n    \
                 atomicStore(&oob_report[1], {k}u);\n    \
                 atomicStore(&oob_report[2], i);\n  \
               }}\n  \
               return 0u;\n\
             }}\n"
        );
    }
    Instrumented {
        source: text,
        arrays,
        binding,
    }
}

/// Rewrites every `name[index]` (name as a whole word) into `name[check(u32(index))]`.
fn wrap_indices(text: &str, name: &str, check: &str) -> String {
    let bytes = text.as_bytes();
    let pattern = format!("{name}[");
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    // From the last occurrence backwards: an index that itself indexes this array is
    // rewritten before the access around it, and earlier positions stay valid.
    let starts: Vec<usize> = text
        .match_indices(&pattern)
        .map(|(i, _)| i)
        .filter(|&i| i == 0 || !word(bytes[i - 1]))
        .collect();
    let mut out = text.to_string();
    for start in starts.into_iter().rev() {
        let open = start + pattern.len();
        let mut depth = 1;
        let mut close = None;
        for (j, c) in out[open..].char_indices() {
            match c {
                '[' => depth += 1,
                ']' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(open + j);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = close else { continue };
        let index = out[open..close].to_string();
        out.replace_range(open..close, &format!("{check}(u32({index}))"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_wrapped_and_nested_ones_too() {
        let src = "@group(0) @binding(0) var<storage, read> a: array<f32>;\n\
                   @group(0) @binding(1) var<storage, read_write> ab: array<u32>;\n\
                   @group(0) @binding(2) var<uniform> p: P;\n\
                   fn f(i: u32) { ab[i] = u32(a[ab[i + 1u]]); } // a[comment\n";
        let r = instrument(src);
        assert_eq!(r.arrays, ["a", "ab"]);
        assert_eq!(r.binding, 3);
        assert!(
            r.source
                .contains("ab[oob_1(u32(i))] = u32(a[oob_0(u32(ab[oob_1(u32(i + 1u))]))]);"),
            "{}",
            r.source
        );
        assert!(!r.source.contains("comment"));
        assert!(r
            .source
            .contains("@binding(3) var<storage, read_write> oob_report"));
    }
}
