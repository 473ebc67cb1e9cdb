/**
 * `npm run bench`: time from session ready to first decoded frame in headless Chromium against the Kit simulator,
 * for <kit-stream-player> and for a minimal hand-written client (the baseline), taken alternately in one browser.
 */
import { fileURLToPath } from 'node:url';
import { startDevServer } from '@web/dev-server';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import puppeteer from 'puppeteer-core';
import { startKitSimulator } from '../../demo/simulators/kit/kit-simulator.js';
import { createKitMediaFactory } from '../../demo/simulators/kit/media/index.js';
import { chromeArgs, findChrome } from '../support/chrome.js';

const runs = Number(process.env.BENCH_RUNS ?? 25);
const warmup = 3;
const rootDir = fileURLToPath(new URL('../..', import.meta.url));

const kit = await startKitSimulator({ readyAfterMs: 0, media: createKitMediaFactory() });
const server = await startDevServer({
  config: {
    rootDir,
    port: 0,
    hostname: '127.0.0.1',
    nodeResolve: { exportConditions: ['production'] },
    plugins: [esbuildPlugin({ ts: true, target: 'es2022', tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)) })],
  },
  readCliArgs: false,
  readFileConfig: false,
  logStartMessage: false,
});
const address = server.server?.address();
const port = typeof address === 'object' && address ? address.port : 0;
const browser = await puppeteer.launch({ executablePath: findChrome(), headless: true, args: chromeArgs });

try {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.error(`page error: ${String(error)}`));
  await page.goto(`http://127.0.0.1:${port}/test/bench/first-frame.html`);
  await page.waitForFunction(() => 'bench' in window);

  const timings = { element: [] as number[], baseline: [] as number[] };
  for (let i = 0; i < warmup + runs; i++) {
    // Alternate which client goes first, so drift on a shared machine hits both alike.
    const order: Array<'element' | 'baseline'> = i % 2 === 0 ? ['element', 'baseline'] : ['baseline', 'element'];
    for (const client of order) {
      const ms = await page.evaluate((name, url) => window.bench[name](url), client, kit.url);
      if (i >= warmup) timings[client].push(ms);
    }
  }

  const element = summary(timings.element);
  const baseline = summary(timings.baseline);
  console.log(`Session ready -> first decoded frame, ${runs} runs each, alternating, after ${warmup} warm-up pairs`);
  console.log(`  <kit-stream-player>           median ${element.median.toFixed(1)} ms   p90 ${element.p90.toFixed(1)} ms`);
  console.log(`  hand-written baseline client  median ${baseline.median.toFixed(1)} ms   p90 ${baseline.p90.toFixed(1)} ms`);
  const ratio = element.median / baseline.median;
  console.log(`  ratio element / baseline      ${ratio.toFixed(2)} (aim: at most 1.15)`);
} finally {
  await browser.close();
  await server.stop();
  await kit.close();
}

function summary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return { median, p90: at(0.9) };
}
