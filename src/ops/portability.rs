//! The portability check that runs on any machine: every registered program
//! (`ops::programs::ALL`), in every specialisation the code asks for, compiled with naga (the
//! translator wgpu uses) from WGSL to SPIR-V (Vulkan), MSL (Metal) and HLSL (DX12).
//!
//! What a backend lacks, and what runs there instead:
//!
//! - DX12 (HLSL): no cooperative matrices, so none of the tensor-core products (`*_f16`).
//!   Their packing programs compile (HLSL has f16); an adapter without f16 16x16x16
//!   cooperative matrices never opens the mixed path (`gpu::Kernels`), and the plan runs the
//!   tiled products there (f32, or f16 arithmetic with `shader-f16`).
//! - Metal (MSL 2.4): every program translates, the tensor-core products to simdgroup
//!   matrices; they run only where the adapter reports 16x16x16 f16 matrices with f32 sums and
//!   subgroups of 32, which Apple GPUs (8x8 matrices, subgroups of 32) do not: the tiled
//!   products there (half with `shader-f16`, else f32).

use super::conv::{self, Geometry, Pass, Strategy};
use super::gemm::{self, f16, GemmParams, User};
use super::programs::{self, ALL};
use super::Target;
use crate::gpu::{constants, Constant, Kernels, Program};
use naga::valid::{Capabilities, ValidationFlags, Validator};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Vulkan,
    Metal,
    Dx12,
}

/// Whether naga can translate a program with these extensions for `backend`.
fn supports(backend: Backend, enables: &[&str]) -> bool {
    !(backend == Backend::Dx12 && enables.contains(&"wgpu_cooperative_matrix"))
}

/// Compiles `program` with `constants` for `backend`; the error says what failed.
fn compile(program: &Program, constants: &str, backend: Backend) -> Result<(), String> {
    let source = program.source(constants);
    let module = naga::front::wgsl::parse_str(&source).map_err(|e| e.emit_to_string(&source))?;
    let info = Validator::new(ValidationFlags::all(), Capabilities::all())
        .validate(&module)
        .map_err(|e| e.emit_to_string(&source))?;
    match backend {
        Backend::Vulkan => {
            let options = naga::back::spv::Options {
                lang_version: (1, 4),
                ..Default::default()
            };
            naga::back::spv::write_vec(&module, &info, &options, None)
                .map(drop)
                .map_err(|e| e.to_string())
        }
        Backend::Metal => {
            let options = naga::back::msl::Options {
                lang_version: (2, 4),
                ..Default::default()
            };
            let pipeline = naga::back::msl::PipelineOptions::default();
            naga::back::msl::write_string(&module, &info, &options, &pipeline)
                .map(drop)
                .map_err(|e| e.to_string())
        }
        Backend::Dx12 => {
            let options = naga::back::hlsl::Options {
                shader_model: naga::back::hlsl::ShaderModel::V6_2,
                ..Default::default()
            };
            let mut out = String::new();
            naga::back::hlsl::Writer::new(&mut out, &options, &Default::default())
                .write(&module, &info, None)
                .map(drop)
                .map_err(|e| e.to_string())
        }
    }
}

/// Convolutions the code meets: SRGAN's generator (inference at batch 1, training at 16),
/// its discriminator, VGG19 and LPIPS's AlexNet, and the tests' awkward shapes.
fn convolutions() -> Vec<Geometry> {
    let g = |x: [usize; 4], w: [usize; 4], stride, pad| Geometry::new(&x, &w, stride, pad);
    let mut all = Vec::new();
    for (batch, side) in [(1, 64), (16, 24)] {
        all.push(g([batch, 3, side, side], [64, 3, 9, 9], 1, 4));
        all.push(g([batch, 64, side, side], [64, 64, 3, 3], 1, 1));
        all.push(g([batch, 64, side, side], [256, 64, 3, 3], 1, 1));
        all.push(g([batch, 64, 4 * side, 4 * side], [3, 64, 9, 9], 1, 4));
    }
    all.push(g([16, 64, 96, 96], [64, 64, 3, 3], 2, 1));
    all.push(g([16, 256, 12, 12], [512, 256, 3, 3], 1, 1));
    all.push(g([2, 512, 6, 6], [512, 512, 3, 3], 1, 1));
    all.push(g([2, 3, 27, 22], [5, 3, 11, 11], 4, 2));
    all.push(g([2, 13, 33, 23], [3, 13, 3, 1], 1, 1));
    all.push(g([3, 5, 9, 7], [3, 5, 3, 3], 2, 1));
    all
}

/// Every (program, constants) that the code dispatches as specialised for these shapes, on
/// tensor cores, on the f32 kernels and on software adapters.
fn specialisations() -> Vec<(&'static Program, String)> {
    let mut out = Vec::new();
    let target = |kernels| Target {
        kernels,
        software: false,
        max_binding: 1 << 30,
        align: 64,
        workgroup_bytes: 48 << 10,
    };
    for g in convolutions() {
        // Software adapters: the forward's kernel, written for its block.
        let software = Target {
            software: true,
            ..target(Kernels::F32)
        };
        if conv::plan(Pass::Forward, &g, false, &software).strategy == Strategy::Unrolled {
            let block = conv::unrolled::Block::of(&g);
            out.push((&programs::CONV_FWD_UNROLLED, constants(&[("main", &block)])));
        }
        for kernels in [Kernels::F32, Kernels::Mixed] {
            for pass in [Pass::Forward, Pass::BackwardInput, Pass::BackwardWeight] {
                // Forwards with no layers after them, and with those of SRGAN's generator.
                let epilogues: &[u32] = match pass {
                    Pass::Forward => &[
                        0,
                        GemmParams::FLAG_PRELU,
                        GemmParams::FLAG_RESIDUAL,
                        GemmParams::FLAG_PRELU | GemmParams::FLAG_SHUFFLE,
                        GemmParams::FLAG_TANH,
                    ],
                    _ => &[0],
                };
                for &epilogue in epilogues {
                    let plan = conv::plan(pass, &g, epilogue != 0, &target(kernels));
                    for group in &plan.groups {
                        match plan.strategy {
                            Strategy::Direct(conv::Direct::Rows) => {
                                let p = g.params(group.count, 1, 1, (0, 0));
                                out.push((
                                    &programs::CONV_FWD_DIRECT_ROWS,
                                    constants(&[("p", &p)]),
                                ));
                            }
                            Strategy::GemmF16 => {
                                let (user, products) = conv::gemm::products(pass, &g, group.count);
                                // What the passes set: the bias and the layers after a forward;
                                // a weight gradient's later groups add to it.
                                let flags: &[u32] = match pass {
                                    Pass::Forward => &[GemmParams::FLAG_BIAS | epilogue],
                                    Pass::BackwardInput => &[0],
                                    Pass::BackwardWeight => &[0, GemmParams::FLAG_ACCUMULATE],
                                };
                                let k_most = products.iter().map(|p| p.k as usize).max();
                                let split = (group.slices, k_most.unwrap_or(0));
                                for (i, p) in products.iter().enumerate() {
                                    // A strided input gradient's later phases read the first's
                                    // packed dy where they gather it (`f16::run`).
                                    let reused =
                                        i > 0 && f16::gathers(user, p, group.count).is_some();
                                    for &flags in flags {
                                        let p = GemmParams { flags, ..*p };
                                        let c = f16_constants(user, &p, group.count, split, reused);
                                        out.push(c);
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    // Linear layers: forward (W read transposed), input and weight gradients, split or not.
    for (batch, inputs, outputs) in [(16, 18432, 1024), (16, 1024, 1), (3, 70, 67)] {
        for [m, n, k, sa_m, sa_k, sb_k, sb_n] in [
            [batch, outputs, inputs, inputs, 1, 1, inputs],
            [batch, inputs, outputs, outputs, 1, inputs, 1],
            [outputs, inputs, batch, 1, outputs, inputs, 1],
        ] {
            let u = |v: usize| v as u32;
            let p = GemmParams {
                m: u(m),
                n: u(n),
                k: u(k),
                sa_m: u(sa_m),
                sa_k: u(sa_k),
                sb_k: u(sb_k),
                sb_n: u(sb_n),
                flags: GemmParams::FLAG_BIAS,
                ..Default::default()
            };
            for slices in [1, 4] {
                out.push(f16_constants(User::Matmul, &p, 1, (slices, k), false));
            }
        }
    }
    out
}

/// The constants of a tensor-core product's two programs, as `gemm::run` and `f16::run` make
/// them (the packing program's are the same); `split`, its slices and the longest K of the
/// products that share them; `reused`: its B packed by an earlier product (`F16Shape::pack_b`).
fn f16_constants(
    user: User,
    p: &GemmParams,
    images: usize,
    split: (usize, usize),
    reused: bool,
) -> (&'static Program, String) {
    let (p, _) = gemm::split(p, split.0, split.1, gemm::out_len(user, p, images));
    let mut shape = f16::shape(user, &p, images);
    shape.pack_b = u32::from(!reused);
    let values: [(&str, &dyn Constant); 2] = [("p", &p), ("shape", &shape)];
    let (_, product) = f16::programs(user);
    (product, constants(&values))
}

#[test]
fn every_program_compiles_for_vulkan_metal_and_dx12() {
    let names: std::collections::HashSet<_> = ALL.iter().map(|p| p.name).collect();
    assert_eq!(names.len(), ALL.len(), "program names must be unique");
    let specialised = specialisations();
    let mut compiled = 0;
    let mut skipped = Vec::new();
    for program in ALL {
        let mut cases: Vec<String> = specialised
            .iter()
            .filter(|(p, _)| p.name == program.name)
            .map(|(_, c)| c.clone())
            .collect();
        // The packing programs take the products' constants.
        let product_name = program.name.strip_suffix("_pack").map(str::to_string);
        if let Some(name) = &product_name {
            cases.extend(
                specialised
                    .iter()
                    .filter(|(p, _)| p.name == name)
                    .map(|(_, c)| c.clone()),
            );
        }
        if cases.is_empty() {
            cases.push(String::new());
        }
        cases.sort();
        cases.dedup();
        for backend in [Backend::Vulkan, Backend::Metal, Backend::Dx12] {
            if !supports(backend, program.enables) {
                skipped.push(format!("{} on {backend:?}", program.name));
                continue;
            }
            for constants in &cases {
                if let Err(e) = compile(program, constants, backend) {
                    panic!("{} for {backend:?} with\n{constants}\n{e}", program.name);
                }
                compiled += 1;
            }
        }
    }
    eprintln!(
        "{compiled} compilations of {} programs; not for their backend: {}",
        ALL.len(),
        skipped.join(", ")
    );
    assert_eq!(
        skipped.len(),
        4,
        "only the four tensor-core products skip DX12"
    );
}
