/**
 * The live preview of `<theta-live-setup>` when the HLS playlist fails: faults armed on the Theta simulator's HLS
 * output (a fault whose path names `/hls/...`). The element must say it is waiting, never show an error for a
 * playlist that is only late or missing for a while, and play once the playlist is back.
 *
 * Not tested here: the give-up ("The preview could not start.") after about a minute of a playlist without three
 * segments, too slow for the suite; and a playlist answer cut short and held open (`truncate: {then: 'stall'}`),
 * which the preview waits on for as long as the server holds it, since its playlist reads have no time limit.
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

afterEach(async () => {
  for (const element of mounted.splice(0)) element.remove();
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
    const frozen = {
      method: 'GET',
      path: playlistPath,
      status: 200,
      body: playlistWithoutSegments,
      contentType: 'application/vnd.apple.mpegurl',
    };
    await theta!.sim.fault({ ...frozen, delayMs: 1500 }, frozen);
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
});
