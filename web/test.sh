#!/usr/bin/env bash
# The browser test: builds the page (build.sh), makes the program's own 4x of a 37x29 picture
# in two tiles of 30 LR pixels, once in one pass and once as the self-ensemble, serves web/ on
# 127.0.0.1 and has headless Chromium upscale the same picture both ways on WebGPU and compare
# (test/browser.mjs). Needs the wasm target, wasm-bindgen-cli, chromium, node and
# playwright-core (npm install in web/test); without chromium it says so and passes, unless
# SRGAN_WGPU_WEB_TEST=required (as in CI). Screenshots go to target/web/.
set -euo pipefail
cd "$(dirname "$0")/.."
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ] || ! command -v node >/dev/null || ! command -v wasm-bindgen >/dev/null; then
  if [ "${SRGAN_WGPU_WEB_TEST:-}" = required ]; then
    echo "web test: chromium, node and wasm-bindgen are required" >&2
    exit 1
  fi
  echo "web test skipped: it needs chromium, node and wasm-bindgen (see web/test.sh)"
  exit 0
fi
web/build.sh
[ -d web/test/node_modules/playwright-core ] || npm install --silent --prefix web/test
mkdir -p target/web
# The program's own output, from the sources as they are (after the test suite this builds
# nothing: its binary is current).
program=target/debug/srgan-wgpu
cargo build --quiet
"$program" upscale web/test/picture_37x29.png --model srresnet --tile 30 --kernels f32 \
  -o web/test/expected.png
"$program" upscale web/test/picture_37x29.png --model srresnet --tile 30 --kernels f32 \
  --self-ensemble -o web/test/expected_ensemble.png
port=$((20000 + $$ % 10000))
python3 -m http.server --bind 127.0.0.1 --directory web "$port" > target/web/server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
sleep 1
CHROMIUM=$chromium node web/test/browser.mjs "http://127.0.0.1:$port/" target/web
