// The page around the engine: it reads the picture into RGBA bytes, hands them to the engine
// (pkg/srgan_wgpu.js, the crate built for the browser by build.sh), shows the progress per
// tile and the result beside the original, and offers the PNG. The work itself (tiles,
// margins, kernels) is the engine's, the same as `srgan-wgpu upscale`.
import init, { Engine } from "./pkg/srgan_wgpu.js";

const $ = (id) => document.getElementById(id);
let engine = null;
let picture = null; // { rgba, width, height, bitmap, name }
let loaded = null; // the model now on the GPU

function showNoWebGpu(reason) {
  $("app").hidden = true;
  $("no-webgpu").hidden = false;
  $("no-webgpu-reason").textContent = reason;
}

// The first requestAdapter right after a browser starts sometimes answers null: ask again.
async function openEngine() {
  let last = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await Engine.open();
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw last;
}

async function loadModel(name) {
  if (loaded === name) return;
  $("status").textContent = `Loading ${name}…`;
  const response = await fetch(`pkg/${name}.safetensors`);
  if (!response.ok) throw new Error(`pkg/${name}.safetensors: ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  engine.load(bytes, `${name}.safetensors`);
  loaded = name;
}

// A picture's RGBA bytes, exactly as stored (no colour management, no premultiplied alpha).
async function readPicture(blob) {
  const bitmap = await createImageBitmap(blob, {
    colorSpaceConversion: "none",
    premultiplyAlpha: "none",
  });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d", { colorSpace: "srgb" });
  ctx.drawImage(bitmap, 0, 0);
  const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  return { rgba: new Uint8Array(data.buffer), width: bitmap.width, height: bitmap.height, bitmap };
}

// Upscales `pic` with model `name`; `tile` 0 lets the engine choose (as the program does);
// `ensemble` averages the eight orientations (the program's --self-ensemble).
async function upscale(pic, name, tile = 0, ensemble = false) {
  await loadModel(name);
  const progress = $("progress");
  progress.hidden = false;
  progress.value = 0;
  const started = performance.now();
  let tiles = 0;
  const out = await engine.upscale(pic.rgba, pic.width, pic.height, tile, ensemble, (done, total) => {
    progress.value = done / total;
    tiles = total;
    // With the ensemble, the tiles of all eight orientations count.
    $("status").textContent = ensemble
      ? `Tile ${done} of ${total} (eight orientations)`
      : `Tile ${done} of ${total}`;
  });
  const seconds = (performance.now() - started) / 1000;
  progress.hidden = true;
  const scale = Engine.scale();
  return { rgba: out, width: pic.width * scale, height: pic.height * scale, seconds, tiles };
}

function show(pic, result) {
  const after = $("after");
  after.width = result.width;
  after.height = result.height;
  const image = new ImageData(new Uint8ClampedArray(result.rgba.buffer), result.width, result.height);
  after.getContext("2d").putImageData(image, 0, 0);
  const before = $("before");
  before.width = result.width;
  before.height = result.height;
  const ctx = before.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(pic.bitmap, 0, 0, result.width, result.height);
  // Small results are shown enlarged (every pixel still sharp), large ones fit the page.
  const shown = `${Math.max(result.width, 512)}px`;
  $("compare-figure").style.maxWidth = shown;
  after.style.imageRendering = before.style.imageRendering =
    result.width < 512 ? "pixelated" : "auto";
  $("compare-figure").hidden = false;
  $("split").dispatchEvent(new Event("input"));
  after.toBlob((blob) => {
    const link = $("download");
    link.href = URL.createObjectURL(blob);
    link.download = `${(pic.name || "picture").replace(/\.[^.]*$/, "")}_x4.png`;
    link.hidden = false;
  }, "image/png");
}

async function choose(file) {
  picture = await readPicture(file);
  picture.name = file.name;
  $("go").disabled = false;
  $("status").textContent = `${file.name}: ${picture.width}x${picture.height}`;
}

function wire() {
  $("file").addEventListener("change", (e) => e.target.files[0] && choose(e.target.files[0]));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) choose(e.dataTransfer.files[0]);
  });
  $("split").addEventListener("input", (e) => {
    $("before").style.clipPath = `inset(0 ${100 - e.target.value}% 0 0)`;
  });
  $("go").addEventListener("click", async () => {
    $("go").disabled = true;
    try {
      const result = await upscale(picture, $("model").value, 0, $("ensemble").checked);
      show(picture, result);
      $("status").textContent =
        `${result.width}x${result.height} in ${result.seconds.toFixed(1)} s`;
    } catch (e) {
      $("status").textContent = `Error: ${e.message || e}`;
    }
    $("go").disabled = false;
  });
}

// What the browser test (test/browser.mjs) calls: upscales the picture at `inputUrl` and
// compares the result with the PNG at `expectedUrl` (the program's output).
async function check(inputUrl, expectedUrl, model, tile, ensemble = false) {
  const pic = await readPicture(await (await fetch(inputUrl)).blob());
  pic.name = inputUrl;
  const result = await upscale(pic, model, tile, ensemble);
  show(pic, result);
  const expected = await readPicture(await (await fetch(expectedUrl)).blob());
  if (expected.width !== result.width || expected.height !== result.height) {
    return { error: `size ${result.width}x${result.height}, expected ${expected.width}x${expected.height}` };
  }
  let most = 0;
  let differing = 0;
  for (let i = 0; i < result.rgba.length; i++) {
    const d = Math.abs(result.rgba[i] - expected.rgba[i]);
    most = Math.max(most, d);
    if (d > 0) differing++;
  }
  $("status").textContent = `${result.width}x${result.height} in ${result.seconds.toFixed(1)} s`;
  const { width, height, seconds, tiles } = result;
  return { width, height, tiles, most, differing, seconds };
}

async function main() {
  if (!navigator.gpu) {
    showNoWebGpu("navigator.gpu is missing: WebGPU is off or not supported here.");
    window.srgan = { ready: Promise.resolve(false) };
    return;
  }
  window.srgan = {
    ready: (async () => {
      await init();
      try {
        engine = await openEngine();
      } catch (e) {
        showNoWebGpu(`No WebGPU adapter could be opened: ${e.message || e}`);
        return false;
      }
      $("app").hidden = false;
      $("adapter").textContent = `GPU: ${engine.adapter()}`;
      $("status").textContent = "Choose a picture.";
      wire();
      return true;
    })(),
    check,
  };
}

main();
