//! srgan-wgpu: SRGAN (Ledig et al. 2017) on a GPU engine written from scratch on wgpu.
//!
//! Layers, from the bottom: `gpu` (all of wgpu), `tensor`, `ops` (WGSL kernels with CPU
//! references), `autograd` (the tape), `nn` (layers and their safetensors names), `optim`
//! (Adam).

pub mod error;
pub mod gpu;
pub mod ops;
pub mod tensor;

pub use error::{Error, Result};
pub use gpu::Gpu;
pub use tensor::Tensor;
pub mod autograd;
pub mod bench;
pub mod compare;
pub mod eval;
pub mod imaging;
pub mod models;
pub mod nn;
pub mod optim;
pub mod rng;
pub mod train;
pub mod upscale;
