/**
 * The live preview of `<theta-live-setup>` when the HLS playlist fails: faults armed on the Theta simulator's HLS
 * output (a fault whose path names `/hls/...`). The element must say it is waiting, never show an error for a
 * playlist that is only late or missing for a while, play once the playlist is back, give up after its minute with a
 * Retry, and abandon a read the server holds open.
 *
 * The preview's two limits, 10 s per playlist read and a minute of waiting in all, are too long for the suite: the
 * tests that reach them shorten them through the page's clock (see `shortenReadLimit` and `skipClock`), not through
 * any setting of the element.
 */
import { expect, waitUntil } from '@open-wc/testing';
import '../../src/theta-live-setup/index.js';
import type { ThetaLiveSetup } from '../../src/theta-live-setup/index.js';
import { ThetaSimulatorHandle } from '../support/simulators.js';

// Every read of a test is listed, never dropped from a full buffer.
performance.setResourceTimingBufferSize(10_000);

const playlistPath = '^/hls/[^/]+/index\\.m3u8$';
/** A live playlist as a packager writes it before its first segment, or when its encoder stalls. */
const playlistWithoutSegments = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n';
/** The playlist answered without segments, in place of the live one. */
const frozenPlaylist = {
  method: 'GET',
  path: playlistPath,
  status: 200,
  body: playlistWithoutSegments,
  contentType: 'application/vnd.apple.mpegurl',
};

/**
 * A stream published with ffmpeg from the start of the file, so that it is live, with the three segments a player
 * needs, before the first test: each test then sees only the faults it arms.
 */
let theta: { sim: ThetaSimulatorHandle; streamId: string; playbackUri: string } | undefined;
const mounted: ThetaLiveSetup[] = [];

before(async function () {
  this.timeout(20_000);
  const sim = await ThetaSimulatorHandle.start();
  const streamId = (await sim.api<{ body: { id: string } }>('POST', '/stream', { name: 'Faulted preview' })).body.id;
  theta = { sim, streamId, playbackUri: '' };
  const { ingestors } = (await sim.api<{ body: { ingestors: Array<{ id: string; state: string }> } }>('GET', '/ingestor/filter')).body;
  const ingestor = ingestors.find((candidate) => candidate.state === 'available')!;
  const selection = await sim.api<{ body: { stream_server: string; stream_key: string } }>('PUT', `/ingestor/${ingestor.id}/select`, {
    tva_stream: streamId,
  });
  await sim.publish(`${selection.body.stream_server}/${selection.body.stream_key}`);
  await waitUntil(
    async () => {
      const { body: stream } = await sim.api<{ body: { status: string; playback_uri: string | null } }>('GET', `/stream/${streamId}`);
      if (stream.status !== 'on' || !stream.playback_uri) return false;
      theta!.playbackUri = stream.playback_uri;
      const playlist = await (await fetch(stream.playback_uri, { cache: 'no-store' })).text();
      return (playlist.match(/#EXTINF/g) ?? []).length >= 3;
    },
    'the published stream did not go live with three segments',
    { timeout: 15_000, interval: 100 },
  );
});

after(async () => {
  await theta?.sim.close();
  theta = undefined;
});

/** Undoes what a test changed in the page's clock. */
const restores: Array<() => void> = [];

afterEach(async () => {
  for (const element of mounted.splice(0)) element.remove();
  for (const restore of restores.splice(0)) restore();
  sessionStorage.clear();
  await fetch(`${theta!.sim.simulatorUrl}/_control/faults`, { method: 'DELETE' });
});

function mount(): ThetaLiveSetup {
  const element = document.createElement('theta-live-setup');
  element.setAttribute('api-base', theta!.sim.apiBase);
  element.setAttribute('stream-id', theta!.streamId);
  element.setAttribute('poll-interval', '250');
  mounted.push(element);
  document.body.append(element);
  return element;
}

const root = (element: ThetaLiveSetup) => element.shadowRoot!;
const text = (element: ThetaLiveSetup) => root(element).textContent?.replace(/\s+/g, ' ') ?? '';
const preview = (element: ThetaLiveSetup) => root(element).querySelector<HTMLVideoElement>('video[part="preview"]');
const waitingText = 'Waiting for the first seconds of video...';

/**
 * The page's completed reads of the playlist since `since`. Resource Timing lists a request once its body has
 * arrived: a read still held by the server is not there yet (nor is a 404 whose body the element never reads).
 */
const playlistReads = (since: number) =>
  performance.getEntriesByType('resource').filter((entry) => entry.name === theta!.playbackUri && entry.startTime >= since).length;

/** How many more requests the armed faults will affect, all together. */
async function remainingUses(): Promise<number> {
  const { faults } = (await (await fetch(`${theta!.sim.simulatorUrl}/_control/faults`)).json()) as { faults: Array<{ remaining: number }> };
  return faults.reduce((sum, fault) => sum + fault.remaining, 0);
}

/** The preview shows the stream: the picture moves, no waiting line, no failure, no error box. */
async function expectPlaying(element: ThetaLiveSetup, what: string): Promise<void> {
  await waitUntil(() => (preview(element)?.currentTime ?? 0) > 0, `${what}: the preview did not play`, { timeout: 8000, interval: 25 });
  expect(preview(element)!.src).to.equal(theta!.playbackUri);
  expect(text(element)).not.to.contain(waitingText);
  expect(text(element)).not.to.contain('The preview could not start.');
  expect(root(element).querySelector('[role="alert"]')).to.equal(null);
}

/** While the playlist fails: LIVE, the waiting line, no player started, no error box. */
function expectWaiting(element: ThetaLiveSetup, what: string): void {
  expect(root(element).querySelector('[part="live-badge"]'), `${what}: not LIVE`).to.exist;
  expect(text(element), what).to.contain(waitingText);
  expect(preview(element)!.hasAttribute('src'), `${what}: the player was started`).to.equal(false);
  expect(root(element).querySelector('[role="alert"]'), `${what}: an error box`).to.equal(null);
}

/** Caps every `AbortSignal.timeout` of the page, the preview's limit on one playlist read among them, at `ms`. */
function shortenReadLimit(ms: number): void {
  const timeout = AbortSignal.timeout;
  AbortSignal.timeout = (limit) => timeout.call(AbortSignal, Math.min(limit, ms));
  restores.push(() => (AbortSignal.timeout = timeout));
}

/** Moves the page's `performance.now` clock, by which the preview counts its minute of waiting, `ms` ahead. */
function skipClock(ms: number): void {
  const now = performance.now;
  performance.now = () => now.call(performance) + ms;
  restores.push(() => (performance.now = now));
}

const retryButton = (element: ThetaLiveSetup) => root(element).querySelector<HTMLButtonElement>('button[part~="preview-retry"]');

describe('<theta-live-setup> preview: HLS playlist faults', function () {
  this.timeout(15_000);

  it('a playlist that answers 404, then comes back: waiting, then playing, without an error', async () => {
    await theta!.sim.fault({ method: 'GET', path: playlistPath, status: 404, body: 'Not Found', contentType: 'text/plain', times: 2 });
    const element = mount();
    await waitUntil(async () => (await remainingUses()) === 1, 'the playlist was not read', { timeout: 5000, interval: 25 });
    expectWaiting(element, 'after the first 404');

    await expectPlaying(element, 'once the playlist answers again');
    expect(await remainingUses(), 'both 404s were served').to.equal(0);
  });

  it('a playlist that stalls (held unanswered, then frozen without segments): waiting, then playing once it moves', async () => {
    await theta!.sim.fault({ ...frozenPlaylist, delayMs: 1500 }, frozenPlaylist);
    const since = performance.now();
    const element = mount();
    await waitUntil(async () => (await remainingUses()) === 1, 'the playlist was not read', { timeout: 5000, interval: 25 });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(playlistReads(since), 'the first read is still held').to.equal(0);
    expectWaiting(element, 'while the first read is held');
    await waitUntil(async () => (await remainingUses()) === 0, 'the frozen playlist was not read again', { timeout: 3000, interval: 25 });
    expectWaiting(element, 'while the playlist has no segments');

    await expectPlaying(element, 'once the playlist moves again');
  });

  it('a playlist read cut short and held open: abandoned at the read limit, waiting meanwhile, then playing', async () => {
    const readLimitMs = 1000;
    shortenReadLimit(readLimitMs);
    await theta!.sim.fault({ method: 'GET', path: playlistPath, truncate: { afterBytes: 7, then: 'stall' } });
    const element = mount();
    await waitUntil(async () => (await remainingUses()) === 0, 'the playlist was not read', { timeout: 5000, interval: 25 });
    const heldSince = performance.now();
    expectWaiting(element, 'while the read is held');

    await expectPlaying(element, 'after the held read');
    // The next read follows the limit and the first pause (0.5 s); the simulator would have held the first for 2 minutes.
    const nextRead = performance
      .getEntriesByType('resource')
      .find((entry) => entry.name === theta!.playbackUri && entry.startTime > heldSince);
    expect(nextRead, 'no read after the held one').to.exist;
    expect(nextRead!.startTime - heldSince).to.be.within(readLimitMs, readLimitMs + 2500);
  });

  it('a playlist without segments for a minute: "could not start" with Retry, and Retry plays once the playlist is back', async () => {
    await theta!.sim.fault({ ...frozenPlaylist, times: 100 });
    const element = mount();
    await waitUntil(async () => (await remainingUses()) < 100, 'the playlist was not read', { timeout: 5000, interval: 25 });
    expectWaiting(element, 'before the minute is up');
    expect(retryButton(element), 'a Retry while waiting').to.equal(null);

    skipClock(60_000);
    await waitUntil(() => text(element).includes('The preview could not start.'), 'the preview did not give up', {
      timeout: 3000,
      interval: 25,
    });
    const retry = retryButton(element)!;
    expect(retry.textContent?.trim()).to.equal('Retry preview');
    expect(preview(element)!.hidden, 'the failed video is shown').to.equal(true);
    expect(preview(element)!.hasAttribute('src'), 'the player was started').to.equal(false);
    expect(root(element).querySelector('[role="alert"]'), 'an error box').to.equal(null);
    await expect(element).to.be.accessible();

    await fetch(`${theta!.sim.simulatorUrl}/_control/faults`, { method: 'DELETE' });
    retry.click();
    await element.updateComplete;
    expect(text(element)).to.contain(waitingText);
    expect(retryButton(element)).to.equal(null);
    await expectPlaying(element, 'after Retry');
  });
});
