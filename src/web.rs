//! The engine in a browser (`web/`): the crate built for wasm32, the page calling these
//! functions through wasm-bindgen. It opens the browser's WebGPU adapter, loads a shipped
//! weights file from its bytes, and upscales an RGBA picture in tiles exactly as
//! `srgan-wgpu upscale` does (the same `Upscaler`, margins and kernels), awaiting each tile's
//! read-back so that the page stays responsive and can show progress.

use crate::gpu::AdapterChoice;
use crate::imaging::{io::Picture, Planes};
use crate::models::Generator;
use crate::upscale::{load_generator_bytes, Upscaler, SCALE};
use crate::Gpu;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

fn js_error(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str);
}

/// A WebGPU device and the model loaded on it.
#[wasm_bindgen]
pub struct Engine {
    gpu: Gpu,
    generator: Option<Rc<Generator>>,
}

#[wasm_bindgen]
impl Engine {
    /// Opens the browser's WebGPU adapter; an error (the page shows it) where there is none.
    pub async fn open() -> Result<Engine, JsError> {
        // A panic in wasm ends as an opaque "unreachable": print its message first.
        std::panic::set_hook(Box::new(|info| console_error(&info.to_string())));
        let gpu = Gpu::new_async(&AdapterChoice::default())
            .await
            .map_err(js_error)?;
        // Browsers have no cooperative matrices, so `Gpu` chooses as on any adapter without
        // them: f16 arithmetic (`Kernels::Half`) where a hardware adapter has `shader-f16`,
        // else f32.
        // A browser's fallback adapter (SwiftShader) reports itself as a CPU, but with the
        // forward written for software adapters (`conv::unrolled`) Chromium lost the device
        // during the first tile (its read-back failed). The page keeps the matrix products.
        gpu.set_software(false);
        Ok(Engine {
            gpu,
            generator: None,
        })
    }

    /// The adapter, in a line.
    pub fn adapter(&self) -> String {
        // Browsers may keep the adapter's name to themselves.
        let info = self.gpu.info();
        let name = if info.name.is_empty() {
            "a WebGPU adapter"
        } else {
            &info.name
        };
        let plan = if self.gpu.is_software() {
            "software"
        } else {
            "hardware"
        };
        format!("{name} ({:?} kernels, {plan} plan)", self.gpu.kernels())
    }

    /// Loads a generator from the bytes of its safetensors file, checked as `upscale` checks
    /// it.
    pub fn load(&mut self, bytes: Vec<u8>, name: &str) -> Result<(), JsError> {
        let g = load_generator_bytes(&self.gpu, bytes, name).map_err(js_error)?;
        self.generator = Some(Rc::new(g));
        Ok(())
    }

    /// Upscales `width` x `height` RGBA bytes 4x; `tile` is the tile side in LR pixels (0 picks
    /// it from the adapter's limits, as `upscale` does); `self_ensemble` averages the eight
    /// orientations, as `upscale --self-ensemble`; `progress(done, total)` is called after each
    /// tile (of each orientation). Resolves to the 4x RGBA bytes (alpha by bicubic, as
    /// `upscale` does).
    pub fn upscale(
        &self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
        tile: u32,
        self_ensemble: bool,
        progress: js_sys::Function,
    ) -> Result<js_sys::Promise, JsError> {
        let Some(generator) = self.generator.clone() else {
            return Err(JsError::new("no model loaded"));
        };
        let (w, h) = (width as usize, height as usize);
        if w == 0 || h == 0 || rgba.len() != w * h * 4 {
            return Err(JsError::new(
                "the picture's bytes are not width x height RGBA",
            ));
        }
        let gpu = self.gpu.clone();
        let future = async move {
            let up =
                Upscaler::new(&generator, tile as usize, &gpu).with_self_ensemble(self_ensemble);
            let pic = picture(&rgba, w, h);
            let mut tile_done = |done: usize, total: usize| {
                let _ = progress.call2(&JsValue::NULL, &done.into(), &total.into());
            };
            let out = up.upscale_picture_async(&pic, &mut tile_done).await;
            Ok(js_sys::Uint8Array::from(&rgba_bytes(&out)[..]).into())
        };
        Ok(wasm_bindgen_futures::future_to_promise(future))
    }

    /// The scale of `upscale`.
    pub fn scale() -> u32 {
        SCALE as u32
    }
}

/// RGBA bytes as a picture: planes in [0, 1], alpha only where it is not all opaque.
fn picture(rgba: &[u8], w: usize, h: usize) -> Picture {
    let mut rgb = Planes::new(3, h, w);
    let mut alpha = Planes::new(1, h, w);
    for (i, p) in rgba.chunks_exact(4).enumerate() {
        for (c, &v) in p[..3].iter().enumerate() {
            rgb.data[c * h * w + i] = v as f32 / 255.0;
        }
        alpha.data[i] = p[3] as f32 / 255.0;
    }
    let opaque = rgba.chunks_exact(4).all(|p| p[3] == 255);
    Picture {
        rgb,
        alpha: (!opaque).then_some(alpha),
        gray: false,
        sixteen_bit: false,
    }
}

/// The picture as RGBA bytes, rounded as `upscale` writes 8-bit PNG.
fn rgba_bytes(pic: &Picture) -> Vec<u8> {
    let (h, w) = (pic.rgb.height, pic.rgb.width);
    let q = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    (0..h * w)
        .flat_map(|i| {
            let a = pic.alpha.as_ref().map_or(1.0, |a| a.data[i]);
            [
                q(pic.rgb.data[i]),
                q(pic.rgb.data[h * w + i]),
                q(pic.rgb.data[2 * h * w + i]),
                q(a),
            ]
        })
        .collect()
}
