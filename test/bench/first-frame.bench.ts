/**
 * `npm run bench`: in headless Chromium against the Kit simulator, for <kit-stream-player> and for a minimal
 * hand-written client of Kit's protocol (the baseline), taken alternately in one browser:
 * - time from session ready to the first decoded frame;
 * - pointer-event-to-wire latency: from dispatching a synthetic pointer event in the page to the simulator receiving
 *   the input it became, for presses and, separately, for moves (the element sends at most one move per animation
 *   frame, so its moves wait up to a frame by design).
 *
 * `BENCH_RUNS` sets the measured runs per client (default 25); input latency is taken in the first ten of them.
 */
import puppeteer, { type Page } from 'puppeteer-core';
import { startKitSimulator, type KitSimulator } from '../../demo/simulators/kit/kit-simulator.js';
import { createKitMediaFactory } from '../../demo/simulators/kit/media/index.js';
import { chromeArgs, findChrome } from '../support/chrome.js';
import { startPageServer } from './page-server.js';

type ClientName = 'element' | 'baseline';

const runs = Number(process.env.BENCH_RUNS ?? 25);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`BENCH_RUNS must be a whole number of runs, 1 or more; got ${process.env.BENCH_RUNS}`);
const warmup = 3;
const inputRuns = Math.min(runs, 10);
/** Pointer events of each kind per input run, and the time between them. */
const eventsPerRun = 20;
const spacingMs = 50;

/** One input event as the simulator records it: `receivedAt` is its wall-clock arrival time in ms. */
interface RecordedInput {
  kind: string;
  down?: boolean;
  receivedAt: number;
}

const kit = await startKitSimulator({ readyAfterMs: 0, media: createKitMediaFactory() });
const { server, port } = await startPageServer();
const browser = await puppeteer.launch({ executablePath: findChrome(), headless: true, args: chromeArgs });

try {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.error(`page error: ${String(error)}`));
  await page.goto(`http://127.0.0.1:${port}/test/bench/first-frame.html`);
  await page.waitForFunction(() => 'bench' in window);
  const frames = await page.evaluate((idleMs) => window.bench.animationFrames(idleMs), spacingMs);
  const visibility = await page.evaluate(() => document.visibilityState);

  const startedAt = performance.now();
  const firstFrame = { element: [] as number[], baseline: [] as number[] };
  const latency = {
    element: { press: [] as number[], move: [] as number[] },
    baseline: { press: [] as number[], move: [] as number[] },
  };
  for (let i = 0; i < warmup + runs; i++) {
    // Alternate which client goes first, so drift on a shared machine hits both alike.
    const order: ClientName[] = i % 2 === 0 ? ['element', 'baseline'] : ['baseline', 'element'];
    for (const client of order) {
      const measured = i >= warmup;
      const { id, firstFrameMs } = await page.evaluate((name, url) => window.bench.start(name, url), client, kit.url);
      try {
        if (measured) firstFrame[client].push(firstFrameMs);
        if (measured && i - warmup < inputRuns) {
          const sample = await measureInput(page, kit, id);
          latency[client].press.push(...sample.press);
          latency[client].move.push(...sample.move);
        }
        const violations = await inspect<string[]>(kit, id, 'violations');
        if (violations.length > 0) throw new Error(`The simulator reports violations by the ${client}:\n  ${violations.join('\n  ')}`);
      } finally {
        await page.evaluate(() => window.bench.stop());
        await sessionsGone(kit);
      }
    }
  }
  const elapsedS = (performance.now() - startedAt) / 1000;

  const format = (ms: number) => `${ms.toFixed(1).padStart(7)} ms`;
  const row = (label: string, values: number[], high: number, highLabel: string) => {
    const stats = summary(values, high);
    return `  ${label.padEnd(32)} median ${format(stats.median)}   ${highLabel} ${format(stats.high)}   (n=${values.length})`;
  };
  const ratio = (label: string, element: number[], baseline: number[], high: number, highLabel: string, aim = '') => {
    const a = summary(element, high);
    const b = summary(baseline, high);
    return `  ${label.padEnd(32)} median ${(a.median / b.median).toFixed(2).padStart(10)}   ${highLabel} ${(a.high / b.high).toFixed(2).padStart(10)}${aim}`;
  };

  console.log(`Session ready -> first decoded frame (H264), ${runs} runs each, alternating, after ${warmup} warm-up pairs`);
  console.log(row('<kit-stream-player>', firstFrame.element, 0.9, 'p90'));
  console.log(row('hand-written baseline client', firstFrame.baseline, 0.9, 'p90'));
  console.log(ratio('ratio element / baseline', firstFrame.element, firstFrame.baseline, 0.9, 'p90', '   (aim: median at most 1.15)'));
  console.log('');
  console.log(
    `Pointer event -> input received by the simulator, ${inputRuns} runs each x ${eventsPerRun} events, ${spacingMs} ms apart, ` +
      'at the centre of the picture',
  );
  console.log('  (dispatch time: page wall clock, performance.timeOrigin + now(); arrival: simulator wall clock, same expression in');
  console.log('   Node; both wall clocks of this machine, so an offset between them would shift both clients alike)');
  console.log(row('press: <kit-stream-player>', latency.element.press, 0.95, 'p95'));
  console.log(row('press: baseline client', latency.baseline.press, 0.95, 'p95'));
  console.log(ratio('press: ratio element / baseline', latency.element.press, latency.baseline.press, 0.95, 'p95'));
  console.log(row('move: <kit-stream-player>', latency.element.move, 0.95, 'p95'));
  console.log(row('move: baseline client', latency.baseline.move, 0.95, 'p95'));
  console.log(ratio('move: ratio element / baseline', latency.element.move, latency.baseline.move, 0.95, 'p95'));
  console.log('  (the element sends one move per animation frame, the baseline each move at once. This page');
  console.log(
    `   (${visibility}) got ${frames.perSecond.toFixed(0)} animation frames/s, and a frame requested after an idle ${spacingMs} ms ` +
      `came ${frames.requestToFrameMs.toFixed(1)} ms later:`,
  );
  console.log('   headless Chromium draws on demand; on a 60 Hz display a move can wait up to 16.7 ms more for its frame)');
  console.log(`\nTook ${elapsedS.toFixed(0)} s.`);
} finally {
  await browser.close();
  await server.stop();
  await kit.close();
}

/** Presses, then moves, on the streaming client; each dispatch paired in order with the simulator's arrival of it. */
async function measureInput(page: Page, simulator: KitSimulator, id: string): Promise<{ press: number[]; move: number[] }> {
  // The server opens the input protocol once the channel is open; the settle time lets the client read its handshake.
  await waitFor(async () => (await inspect<Record<string, string>>(simulator, id, 'channels'))['input_channel_v1'] === 'open');
  await sleep(150);

  const pressTimes = await page.evaluate((count, spacing) => window.bench.presses(count, spacing), eventsPerRun, spacingMs);
  const afterPresses = await waitForInput(simulator, id, (events) => events.filter(isButtonDown).length >= pressTimes.length);
  const press = pair(pressTimes, afterPresses.filter(isButtonDown), 'button-down');

  // Moves are told apart from the ones the element sends with each press by where the log stood before them.
  const movesFrom = afterPresses.length;
  const moveTimes = await page.evaluate((count, spacing) => window.bench.moves(count, spacing), eventsPerRun, spacingMs);
  const newMoves = (events: RecordedInput[]) => events.slice(movesFrom).filter((event) => event.kind === 'move');
  const afterMoves = await waitForInput(simulator, id, (events) => newMoves(events).length >= moveTimes.length);
  const move = pair(moveTimes, newMoves(afterMoves), 'move');
  return { press, move };
}

function isButtonDown(event: RecordedInput): boolean {
  return event.kind === 'button' && event.down === true;
}

function pair(dispatched: number[], arrived: RecordedInput[], kind: string): number[] {
  if (arrived.length !== dispatched.length) {
    throw new Error(`Dispatched ${dispatched.length} events, but the simulator received ${arrived.length} ${kind} events.`);
  }
  return dispatched.map((time, index) => arrived[index].receivedAt - time);
}

/** The session's input log once `complete` holds for it (or after 3 s, whatever it holds then). */
async function waitForInput(simulator: KitSimulator, id: string, complete: (events: RecordedInput[]) => boolean): Promise<RecordedInput[]> {
  let events: RecordedInput[] = [];
  await waitFor(async () => complete((events = await inspect<RecordedInput[]>(simulator, id, 'input'))), 3000).catch(() => undefined);
  return events;
}

async function inspect<T>(simulator: KitSimulator, id: string, name: string): Promise<T> {
  const response = await fetch(`${simulator.origin}/_control/sessions/${id}/${name}`);
  if (!response.ok) throw new Error(`GET ${name} of session ${id}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Every session terminated: the next run starts on an idle simulator. */
async function sessionsGone(simulator: KitSimulator): Promise<void> {
  await waitFor(() => Promise.resolve(simulator.sessions().length === 0), 5000).catch(() => {
    throw new Error(
      `Sessions still alive after their client stopped: ${simulator
        .sessions()
        .map((session) => session.id)
        .join(', ')}`,
    );
  });
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms.`);
    await sleep(10);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Median, and the value at quantile `high` (nearest rank). */
function summary(values: number[], high: number): { median: number; high: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, high: sorted[Math.max(0, Math.ceil(high * sorted.length) - 1)] };
}
