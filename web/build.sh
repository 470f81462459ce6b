#!/usr/bin/env bash
# Builds the page's engine: the crate for wasm32 (the same kernels and tiling as the program),
# its JavaScript glue (wasm-bindgen), and the shipped models beside them, all in web/pkg/.
#   rustup target add wasm32-unknown-unknown
#   cargo install wasm-bindgen-cli --version 0.2.130   # the version of the wasm-bindgen crate
#   web/build.sh && python3 -m http.server -d web 8000  # then open http://localhost:8000
set -euo pipefail
cd "$(dirname "$0")/.."
cargo rustc --release --lib --target wasm32-unknown-unknown --crate-type cdylib
wasm-bindgen --target web --no-typescript --out-dir web/pkg \
  target/wasm32-unknown-unknown/release/srgan_wgpu.wasm
cp weights/srresnet.safetensors weights/srgan.safetensors web/pkg/
du -sh web/pkg
