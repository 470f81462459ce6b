//! Programs and parameter blocks, each declared once.
//!
//! A `Program` is one WGSL module: a unique name, its entry points, the parameter blocks it
//! reads, the `enable` extensions it needs and its files in `shaders/`. `ops::programs` lists
//! every program of the engine. A parameter block is a Rust struct declared with `params!`,
//! which also writes the block's WGSL struct (same name, same fields) and its named constants,
//! so the two sides cannot drift apart. A program reads its block from a uniform
//! (`Gpu::dispatch`) or has it compiled in as a WGSL constant (`Gpu::dispatch_specialized`):
//! `const p = Block(1u, 2u, ..);` before the source, so that the shader compiler sees sizes as
//! numbers and divisions by them become multiplies.

/// A parameter block: a `#[repr(C)]` struct of 32-bit fields, declared with `params!`.
pub trait Params: bytemuck::Pod {
    /// The WGSL declaration: `struct Name { .. }` and the block's constants.
    const WGSL: &'static str;
    /// The struct's name, the same in Rust and WGSL.
    const NAME: &'static str;
    /// This value as a WGSL constant expression, `Name(1u, 0.5f, ..)`.
    fn constant(&self) -> String;
}

/// A value compiled into a specialised program: a parameter block, declared as a WGSL
/// constant, or the sizes of a kernel whose code is written for them (`conv::unrolled`).
pub trait Constant {
    /// The value as words: with the program, they name the compiled pipeline.
    fn words(&self) -> &[u32];
    /// The WGSL that declares `name` with this value.
    fn declare(&self, name: &str) -> String;
}

impl<P: Params> Constant for P {
    fn words(&self) -> &[u32] {
        bytemuck::cast_slice(std::slice::from_ref(self))
    }
    fn declare(&self, name: &str) -> String {
        format!("const {name} = {};\n", Params::constant(self))
    }
}

/// A field's value in a WGSL constant expression.
pub trait Field {
    fn wgsl(&self) -> String;
}

impl Field for u32 {
    fn wgsl(&self) -> String {
        format!("{self}u")
    }
}

impl Field for f32 {
    fn wgsl(&self) -> String {
        assert!(
            self.is_finite(),
            "a WGSL constant must be finite, not {self}"
        );
        format!("{self:?}f")
    }
}

/// Declares a parameter block: the Rust struct (`#[repr(C)]`, `Pod`, public fields of 32 bits)
/// and, as `Params::WGSL`, the same struct in WGSL with the named `u32` constants of its
/// `consts` list (flag bits, say), which Rust reads as associated constants.
#[macro_export]
macro_rules! params {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident { $($field:ident: $ty:ident),* $(,)? }
        $(consts { $($(#[$cmeta:meta])* $cname:ident = $cval:literal),* $(,)? })?
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
        $vis struct $name { $(pub $field: $ty),* }

        #[allow(dead_code)]
        impl $name {
            $($( $(#[$cmeta])* pub const $cname: u32 = $cval; )*)?
        }

        impl $crate::gpu::Params for $name {
            const NAME: &'static str = stringify!($name);
            const WGSL: &'static str = concat!(
                "struct ", stringify!($name), " {",
                $(" ", stringify!($field), ": ", stringify!($ty), ",",)*
                " }\n",
                $($("const ", stringify!($cname), ": u32 = ", stringify!($cval), "u;\n",)*)?
            );
            fn constant(&self) -> String {
                let fields: &[String] = &[$($crate::gpu::Field::wgsl(&self.$field)),*];
                format!("{}({})", stringify!($name), fields.join(", "))
            }
        }
    };
}

/// One WGSL module of `shaders/` and everything needed to compile it (see the module docs).
pub struct Program {
    /// Unique among programs: it names the pipeline in the cache, the debug lines and the profile.
    pub name: &'static str,
    pub entries: &'static [&'static str],
    /// WGSL extensions, enabled first: `f16`, `wgpu_cooperative_matrix`.
    pub enables: &'static [&'static str],
    /// The `Params::WGSL` of each parameter block it reads.
    pub blocks: &'static [&'static str],
    /// Its files in `shaders/`, by name and text, after `common.wgsl`.
    pub files: &'static [(&'static str, &'static str)],
}

const COMMON: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/common.wgsl"));

impl Program {
    /// One entry point of the program, to dispatch.
    pub fn kernel(&'static self, entry: &'static str) -> Kernel {
        assert!(
            self.entries.contains(&entry),
            "{} has no entry point {entry}",
            self.name
        );
        Kernel {
            program: self,
            entry,
        }
    }

    /// The entry point `main`, for the many programs that have only that one.
    pub fn main(&'static self) -> Kernel {
        self.kernel("main")
    }

    /// The whole WGSL text: the enables, then `constants` (the `const` declarations of a
    /// specialised program), `common.wgsl`, the parameter blocks and the files.
    pub fn source(&self, constants: &str) -> String {
        let mut s: String = self
            .enables
            .iter()
            .map(|e| format!("enable {e};\n"))
            .collect();
        s.push_str(constants);
        s.push_str(COMMON);
        self.blocks.iter().for_each(|b| s.push_str(b));
        self.files.iter().for_each(|(_, text)| s.push_str(text));
        s
    }
}

/// The declarations of a specialised program: `const NAME = Block(..);` for each parameter
/// block.
pub fn constants(values: &[(&str, &dyn Constant)]) -> String {
    values.iter().map(|(name, v)| v.declare(name)).collect()
}

/// One entry point of one program.
#[derive(Clone, Copy)]
pub struct Kernel {
    pub program: &'static Program,
    pub entry: &'static str,
}

impl Kernel {
    /// `program::entry`, as debug lines and the profile name it.
    pub fn label(&self) -> String {
        format!("{}::{}", self.program.name, self.entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::params! {
        struct Example { n: u32, scale: f32 }
        consts { FLAG_ON = 4 }
    }

    #[test]
    fn a_block_is_the_same_struct_in_wgsl() {
        assert_eq!(
            Example::WGSL,
            "struct Example { n: u32, scale: f32, }\nconst FLAG_ON: u32 = 4u;\n"
        );
        assert_eq!(Example::FLAG_ON, 4);
        let e = Example { n: 3, scale: 0.5 };
        assert_eq!(Params::constant(&e), "Example(3u, 0.5f)");
        assert_eq!(Constant::words(&e), [3, 0.5f32.to_bits()]);
    }
}
