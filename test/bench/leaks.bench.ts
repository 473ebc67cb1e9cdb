/**
 * `npm run bench`, after the first-frame benchmark: what the elements leave behind, and eight players at once.
 *
 * In headless Chromium against the simulators, counted through wrappers installed before any script of the page runs
 * (test/support/page-resources.ts) and the DevTools protocol:
 * - `LEAKS_CYCLES` (default 100) mount / stream (first frame seen) / unmount cycles of <kit-stream-player> against the
 *   Kit simulator with media, beside the same number of cycles of the first-frame benchmark's hand-written Kit client
 *   and of a plain `<div>`: open peer connections, open WebSockets, pending timers and animation frames, fetches in
 *   flight, listeners on window and document, sessions left on the simulator, and JS heap growth (after a forced
 *   garbage collection, before and after the cycles);
 * - `LEAKS_THETA_CYCLES` (default 100) cycles of <theta-live-setup> on a live stream (published with ffmpeg), each
 *   until it shows LIVE, has polled the status and plays the HLS preview, beside a hand-written poller and `<video>`;
 * - eight <kit-stream-player>s on one page, each with its own session: time until all decode, input only to the one
 *   that has focus, then all removed: time until every session is terminated and every peer and socket closed.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import puppeteer, { type CDPSession, type Page } from 'puppeteer-core';
import { startKitSimulator, type KitSimulator } from '../../demo/simulators/kit/kit-simulator.js';
import { createKitMediaFactory } from '../../demo/simulators/kit/media/index.js';
import { publishTestPattern } from '../../demo/simulators/theta/test-pattern-publisher.js';
import { startThetaSimulator, type ThetaSimulator } from '../../demo/simulators/theta/theta-simulator.js';
import { createThetaProxy } from '../../src/theta-proxy/index.js';
import { serveFetchHandler } from '../../src/theta-proxy/node-server.js';
import { chromeArgs, findChrome } from '../support/chrome.js';
import { startPageServer } from './page-server.js';
import type { ResourceCounts } from '../support/page-resources.js';

const cycles = wholeNumber('LEAKS_CYCLES', 100);
const thetaCycles = wholeNumber('LEAKS_THETA_CYCLES', 100);
const warmup = 3;
const playerCount = 8;
const pollMs = 250;

/** What one batch of cycles left behind, and what it cost. */
interface Batch {
  counts: ResourceCounts;
  library: ResourceCounts;
  sessionsLeft: number | undefined;
  heapGrowthBytes: number;
  /** Growth over the first and the second half of the cycles. */
  halves: [number, number] | undefined;
  cycleMs: number[];
}

const instrumentation = await build({
  stdin: {
    contents: "import { installPageResources } from './page-resources.ts'; installPageResources();",
    resolveDir: fileURLToPath(new URL('../support/', import.meta.url)),
    loader: 'ts',
  },
  bundle: true,
  format: 'iife',
  target: 'es2022',
  write: false,
});

const kit = await startKitSimulator({ readyAfterMs: 0, sessionLimit: 1000, media: createKitMediaFactory() });
const theta = await startThetaSimulator();
const [account] = theta.serviceAccounts;
const proxy = await serveFetchHandler(
  createThetaProxy({ serviceAccountId: account.id, serviceAccountSecret: account.secret, upstream: theta.url, allowedOrigins: '*' }),
  { host: '127.0.0.1', port: 0 },
);
const { server, port } = await startPageServer();
const browser = await puppeteer.launch({
  executablePath: findChrome(),
  headless: true,
  args: chromeArgs,
  defaultViewport: { width: 1320, height: 760 },
});
let publisher: ReturnType<typeof publishTestPattern> | undefined;

try {
  const startedAt = performance.now();
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.error(`page error: ${String(error)}`));
  await page.evaluateOnNewDocument(instrumentation.outputFiles[0].text);
  await page.goto(`http://127.0.0.1:${port}/test/bench/leaks.html`);
  await page.waitForFunction(() => 'leaks' in window && 'pageResources' in window);
  const devtools = await page.createCDPSession();

  // <kit-stream-player>
  const kitRuns = {
    div: await batch(page, devtools, cycles, () => page.evaluate(() => window.leaks.plainDiv()), kit),
    baseline: await batch(page, devtools, cycles, () => page.evaluate((url) => window.leaks.kitBaseline(url), kit.url), kit),
    element: await batch(page, devtools, cycles, () => page.evaluate((url) => window.leaks.kitElement(url), kit.url), kit),
  };
  printLeaks(
    `${cycles} mount / stream (first frame) / unmount cycles against the Kit simulator with media, after ${warmup} warm-up cycles`,
    ['<kit-stream-player>', 'hand-written client', 'plain <div>'],
    [kitRuns.element, kitRuns.baseline, kitRuns.div],
  );

  // <theta-live-setup>
  const live = await goLive(theta);
  publisher = live.publisher;
  const thetaRuns = {
    baseline: await batch(page, devtools, thetaCycles, () =>
      page.evaluate((base, id, ms) => window.leaks.thetaBaseline(base, id, ms), proxy.url, live.streamId, pollMs),
    ),
    element: await batch(page, devtools, thetaCycles, () =>
      page.evaluate((base, id, ms) => window.leaks.thetaElement(base, id, ms), proxy.url, live.streamId, pollMs),
    ),
  };
  console.log('');
  printLeaks(
    `${thetaCycles} mount / live / unmount cycles on a stream published with ffmpeg, each until LIVE is shown, the status ` +
      `polled (every ${pollMs} ms) and the HLS preview playing, after ${warmup} warm-up cycles`,
    ['<theta-live-setup>', 'hand-written poller', 'plain <div>'],
    [thetaRuns.element, thetaRuns.baseline, { ...kitRuns.div, sessionsLeft: undefined }],
  );

  console.log('');
  await eightPlayers(page, kit);
  console.log(`\nTook ${((performance.now() - startedAt) / 1000).toFixed(0)} s.`);
} finally {
  await publisher?.stop();
  await browser.close();
  await server.stop();
  await proxy.close();
  await theta.close();
  await kit.close();
}

/** Warm-up cycles, then `count` measured ones between two heap readings; then what is left. */
async function batch(
  page: Page,
  devtools: CDPSession,
  count: number,
  cycle: () => Promise<unknown>,
  simulator?: KitSimulator,
): Promise<Batch> {
  for (let i = 0; i < warmup; i++) await cycle();
  const heap = [await usedHeap(devtools)];
  const cycleMs: number[] = [];
  const half = Math.ceil(count / 2);
  for (let i = 0; i < count; i++) {
    const cycleStart = performance.now();
    await cycle();
    cycleMs.push(performance.now() - cycleStart);
    // A reading halfway tells a steady leak (both halves grow alike) from one-time growth (caches filled early).
    if (i === half - 1 && half < count) heap.push(await settledHeap(devtools));
  }
  const heapAfter = await settledHeap(devtools);
  const counts = await page.evaluate(() => window.pageResources!.all());
  const library = await page.evaluate(() => window.pageResources!.library());
  const halves: Batch['halves'] = heap.length === 2 ? [heap[1] - heap[0], heapAfter - heap[1]] : undefined;
  return { counts, library, sessionsLeft: simulator?.sessions().length, heapGrowthBytes: heapAfter - heap[0], halves, cycleMs };
}

/** The heap once the closes that follow a removal (a peer closed after its goodbye, a socket's handshake) are done. */
async function settledHeap(devtools: CDPSession): Promise<number> {
  await sleep(500);
  return usedHeap(devtools);
}

/** The JS heap in use after a full garbage collection (twice: the first can leave finalizers' garbage). */
async function usedHeap(devtools: CDPSession): Promise<number> {
  for (let i = 0; i < 2; i++) {
    await devtools.send('HeapProfiler.collectGarbage');
    await sleep(100);
  }
  return (await devtools.send('Runtime.getHeapUsage')).usedSize;
}

function printLeaks(title: string, labels: string[], batches: Batch[]): void {
  console.log(title);
  const head = labels.map((label) => label.padStart(22)).join('');
  console.log(`  ${''.padEnd(38)}${head}`);
  const row = (label: string, cell: (run: Batch) => string) =>
    console.log(`  ${label.padEnd(38)}${batches.map((run) => cell(run).padStart(22)).join('')}`);
  const both = (kind: keyof ResourceCounts) => (run: Batch) => `${run.counts[kind]}`;
  row('open RTCPeerConnections', both('peer'));
  row('open WebSockets', both('socket'));
  row('pending timeouts / intervals', (run) => `${run.counts.timeout} / ${run.counts.interval}`);
  row('pending animation frames', both('animation-frame'));
  row('fetches in flight', both('fetch'));
  row('listeners on window / document', (run) => `${run.counts['window-listener']} / ${run.counts['document-listener']}`);
  row('  of these, made in src/ (the library)', (run) => `${Object.values(run.library).reduce((sum, value) => sum + value, 0)}`);
  row('sessions left on the simulator', (run) => (run.sessionsLeft === undefined ? '-' : `${run.sessionsLeft}`));
  row('JS heap growth (after GC)', (run) => `${signed(run.heapGrowthBytes / 1e6, 2)} MB`);
  row('  per cycle', (run) => `${signed(run.heapGrowthBytes / 1e3 / run.cycleMs.length, 1)} kB`);
  row('  first half / second half', (run) =>
    run.halves ? `${signed(run.halves[0] / 1e6, 2)} / ${signed(run.halves[1] / 1e6, 2)} MB` : '-',
  );
  row('cycle time, median', (run) => `${median(run.cycleMs).toFixed(0)} ms`);
  const [element, baseline] = batches;
  // Below a few tens of kB, growth is the noise of a garbage-collected heap, and a ratio to it says nothing.
  const ratio =
    baseline.heapGrowthBytes >= 50_000
      ? (element.heapGrowthBytes / baseline.heapGrowthBytes).toFixed(2)
      : `n/a (the baseline grew by ${signed(baseline.heapGrowthBytes / 1e3, 0)} kB)`;
  console.log(`  heap growth ratio ${labels[0]} / ${labels[1]}: ${ratio}   (aim: growth under 5 MB per 100 cycles)`);
  console.log(`  cycle time ratio: ${(median(element.cycleMs) / median(baseline.cycleMs)).toFixed(2)}`);
}

/** Eight players: all decoding, input to the focused one only, then all removed and terminated. */
async function eightPlayers(page: Page, simulator: KitSimulator): Promise<void> {
  console.log(`${playerCount} <kit-stream-player>s on one page, each with its own session`);
  const mounted = await page.evaluate((url, count) => window.leaks.mountPlayers(url, count), simulator.url, playerCount);
  const sessions = simulator.sessions().map((session) => session.id);
  if (new Set(mounted.ids).size !== playerCount || !mounted.ids.every((id) => sessions.includes(id)))
    throw new Error(
      `Expected ${playerCount} distinct sessions; the players have ${mounted.ids.join(', ')}, the simulator ${sessions.join(', ')}.`,
    );
  const frames = await page.evaluate(() => window.leaks.framesDecoded());
  // The counters see what streaming holds, so the zeros after removal are not the counters missing it.
  const whileStreaming = await page.evaluate(() => window.pageResources!.library());
  const decoding = frames.filter(([first, second]) => second > first).length;

  // A click in one player, then a key: only that player's session hears them.
  const inputCounts = () => Promise.all(mounted.ids.map(async (id) => (await inspect<unknown[]>(simulator, id, 'input')).length));
  const focusedOnly: boolean[] = [];
  for (const target of [2, 5]) {
    const before = await inputCounts();
    const centre = await page.evaluate((index) => window.leaks.centreOf(index), target);
    await page.mouse.click(centre.x, centre.y);
    const focused = await page.evaluate(() => window.leaks.focusedPlayer());
    await page.keyboard.press('KeyA');
    await waitFor(async () =>
      (await inspect<Array<{ kind: string }>>(simulator, mounted.ids[target], 'input')).some((event) => event.kind === 'key'),
    );
    await sleep(300);
    const after = await inputCounts();
    const grew = after.map((count, index) => count > before[index]);
    focusedOnly.push(focused === target && grew.every((value, index) => value === (index === target)));
  }

  const teardownMs = await page.evaluate(() => window.leaks.removePlayers());
  await waitFor(() => Promise.resolve(simulator.sessions().length === 0));
  const left = await page.evaluate(() => window.pageResources!.all());
  const violations = (await Promise.all(mounted.ids.map((id) => inspect<string[]>(simulator, id, 'violations').catch(() => [])))).flat();

  const line = (label: string, value: string) => console.log(`  ${label.padEnd(70)}${value}`);
  line('distinct sessions on the simulator', `${new Set(mounted.ids).size} of ${playerCount}`);
  line('first frame in every player (from insertion)', `${mounted.allConnectedMs.toFixed(0)} ms`);
  line('every player presenting new frames (from insertion)', `${mounted.allDecodingMs.toFixed(0)} ms`);
  line('players whose framesDecoded grew between two kit-stats', `${decoding} of ${playerCount}`);
  line(
    'held by the library while they stream: peers / sockets / intervals',
    `${whileStreaming.peer} / ${whileStreaming.socket} / ${whileStreaming.interval}`,
  );
  line('  listeners on window / document', `${whileStreaming['window-listener']} / ${whileStreaming['document-listener']}`);
  line('click + key reached only the focused player', `${focusedOnly.filter(Boolean).length} of ${focusedOnly.length} tries`);
  line('teardown: all removed -> all terminated, peers and sockets closed', `${teardownMs.toFixed(0)} ms`);
  line('left after: sessions / peers / sockets', `${simulator.sessions().length} / ${left.peer} / ${left.socket}`);
  if (violations.length > 0) line('protocol violations reported by the simulator', violations.join('; '));
}

/** A stream on the Theta simulator, published with ffmpeg, live with three HLS segments. */
async function goLive(simulator: ThetaSimulator): Promise<{ streamId: string; publisher: ReturnType<typeof publishTestPattern> }> {
  type Envelope<T> = { status: string; body: T };
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${simulator.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-tva-sa-id': account.id, 'x-tva-sa-secret': account.secret },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = (await response.json()) as Envelope<T>;
    if (!response.ok || answer.status !== 'success') throw new Error(`${method} ${path}: ${JSON.stringify(answer)}`);
    return answer.body;
  };
  const { id: streamId } = await call<{ id: string }>('POST', '/stream', { name: 'Leak benchmark' });
  const { ingestors } = await call<{ ingestors: Array<{ id: string; state: string }> }>('GET', '/ingestor/filter');
  const ingestor = ingestors.find((candidate) => candidate.state === 'available')!;
  const selected = await call<{ stream_server: string; stream_key: string }>('PUT', `/ingestor/${ingestor.id}/select`, {
    tva_stream: streamId,
  });
  const started = publishTestPattern(`${selected.stream_server}/${selected.stream_key}`, { seconds: 900 });
  let playlist = '';
  await waitFor(async () => {
    const stream = await call<{ status: string; playback_uri: string | null }>('GET', `/stream/${streamId}`);
    if (stream.status !== 'on' || !stream.playback_uri) return false;
    playlist = await (await fetch(stream.playback_uri)).text();
    return (playlist.match(/#EXTINF/g) ?? []).length >= 3;
  }, 30_000);
  return { streamId, publisher: started };
}

async function inspect<T>(simulator: KitSimulator, id: string, name: string): Promise<T> {
  const response = await fetch(`${simulator.origin}/_control/sessions/${id}/${name}`);
  if (!response.ok) throw new Error(`GET ${name} of session ${id}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms.`);
    await sleep(20);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return sorted.length % 2 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function signed(value: number, digits: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
}

function wholeNumber(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number, 1 or more; got ${process.env[name]}`);
  return value;
}
