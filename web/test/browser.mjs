// Opens the page (served on 127.0.0.1) in headless Chromium, upscales picture_37x29.png with
// the shipped SRResNet in tiles of 30 LR pixels (two tiles: a seam and the borders), in one
// pass and as the self-ensemble (eight orientations, two tiles each), and compares each result
// with the program's own output of the same picture (expected.png, expected_ensemble.png,
// made by test.sh): at most 1/255 apart. Then opens the page with WebGPU taken away, which
// must show its message. Writes screenshots to the folder given.
//   node browser.mjs http://127.0.0.1:PORT/ OUT_DIR
import { chromium } from "playwright-core";

const [base, out] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--enable-unsafe-webgpu",
    "--disable-background-networking",
    "--no-first-run",
  ],
});
let failed = false;
const fail = (what) => {
  console.error(`FAIL: ${what}`);
  failed = true;
};

const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
page.on("console", (m) => console.log(`[page] ${m.text()}`));
page.on("pageerror", (e) => console.log(`[page error] ${e.message}`));
await page.goto(base);
const ready = await page.evaluate(() => window.srgan.ready);
const adapter = await page.textContent("#adapter");
console.log(`WebGPU ready: ${ready}; ${adapter}`);
if (!ready) {
  fail(`the page found no WebGPU adapter: ${await page.textContent("#no-webgpu-reason")}`);
} else {
  // One pass, then the self-ensemble: eight orientations of two tiles each.
  for (const [what, expected, ensemble, tiles] of [
    ["one pass", "test/expected.png", false, 2],
    ["self-ensemble", "test/expected_ensemble.png", true, 16],
  ]) {
    const result = await page.evaluate(
      ([expected, ensemble]) =>
        window.srgan.check("test/picture_37x29.png", expected, "srresnet", 30, ensemble),
      [expected, ensemble]);
    console.log(JSON.stringify(result));
    if (result.error) fail(`${what}: ${result.error}`);
    else if (result.tiles !== tiles) fail(`${what}: ${result.tiles} tile(s), not ${tiles}`);
    else if (result.most > 1) fail(`${what}: the page and the program differ by ${result.most}/255`);
    else {
      console.log(`PASS (${what}): ${result.width}x${result.height} in ${result.tiles} tiles, ` +
        `at most ${result.most}/255 from the program's output (${result.differing} values ` +
        `differ), ${result.seconds.toFixed(1)} s`);
    }
  }
  await page.screenshot({ path: `${out}/web_upscaled.png`, fullPage: true });
}

// Without WebGPU the page must say so, not stay blank.
const bare = await browser.newPage({ viewport: { width: 1000, height: 500 } });
await bare.addInitScript(() => { delete Navigator.prototype.gpu; });
await bare.goto(base);
await bare.waitForSelector("#no-webgpu:not([hidden])", { timeout: 10000 }).catch(() => {});
const shown = await bare.isVisible("#no-webgpu");
if (!shown) fail("without WebGPU the page did not show its message");
else console.log(`PASS: without WebGPU the page says "${await bare.textContent("#no-webgpu h2")}"`);
await bare.screenshot({ path: `${out}/web_no_webgpu.png` });

await browser.close();
process.exit(failed ? 1 : 0);
