//! srgan-wgpu: SRGAN (Ledig et al. 2017) on a GPU engine written from scratch on wgpu.
//!
//! **Where to start.** To upscale images from Rust: open a [`Gpu`], load a generator with
//! [`upscale::load_generator`] (the shipped weights are at [`upscale::default_weights`]), make
//! an [`upscale::Upscaler`] and call [`upscale::Upscaler::upscale_picture`] on a picture from
//! [`imaging::io::load`] (or [`upscale::Upscaler::upscale`] on RGB planes in \[0, 1\]):
//!
//! ```no_run
//! use srgan_wgpu::{gpu::AdapterChoice, imaging::io, upscale::*, Gpu};
//! # fn main() -> srgan_wgpu::Result<()> {
//! let gpu = Gpu::new(&AdapterChoice::default())?;
//! let generator = load_generator(&gpu, &default_weights())?;
//! let upscaler = Upscaler::new(&generator, 0, &gpu);
//! let picture = io::load(std::path::Path::new("photo.png"))?;
//! io::save(std::path::Path::new("photo_x4.png"), &upscaler.upscale_picture(&picture))?;
//! # Ok(())
//! # }
//! ```
//!
//! `examples/upscale.rs` is the same as a program. `Gpu`, `Tensor`, the models and
//! `Upscaler` may be shared between threads. To train, see [`train::Trainer`].
//!
//! Layers, from the bottom: [`gpu`] (all of wgpu), [`tensor`], [`ops`] (WGSL kernels with CPU
//! references), [`autograd`] (the tape), [`nn`] (layers and their safetensors names), [`optim`]
//! (Adam), [`models`] (generator, discriminator, VGG19), then [`upscale`], [`eval`] and
//! [`train`]. Errors a user can cause are [`Error`] values, one line each.

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
pub mod jobs;
pub mod models;
pub mod nn;
pub mod optim;
pub mod paths;
pub mod plot;
pub mod progress;
pub mod rng;
pub mod train;
pub mod upscale;
#[cfg(target_arch = "wasm32")]
pub mod web;
