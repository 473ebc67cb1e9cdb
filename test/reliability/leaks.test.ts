/**
 * Short versions of the leak and scale benchmark (test/bench/leaks.bench.ts): a few mount / stream / unmount cycles
 * of each element, after which the library holds nothing, and eight players on one page.
 */
// The counters go first: they wrap the page's APIs before the elements' modules load.
import './install-page-resources.js';
import { expect, waitUntil } from '@open-wc/testing';
import { resetMouse, sendKeys, sendMouse } from '@web/test-runner-commands';
import '../../src/kit-stream-player/index.js';
import '../../src/theta-live-setup/index.js';
import type { KitStreamPlayer } from '../../src/kit-stream-player/index.js';
import type { KitConnectedDetail, KitSessionEndedDetail, KitStatsDetail } from '../../src/kit-stream-player/events.js';
import type { ThetaLiveSetup } from '../../src/theta-live-setup/index.js';
import type { ResourceCounts } from '../support/page-resources.js';
import { KitSimulatorHandle, ThetaSimulatorHandle } from '../support/simulators.js';

const resources = () => window.pageResources!;
const nothing: ResourceCounts = {
  peer: 0,
  socket: 0,
  timeout: 0,
  interval: 0,
  'animation-frame': 0,
  fetch: 0,
  'window-listener': 0,
  'document-listener': 0,
};
const cycles = 10;
const pollMs = 250;

let kit: KitSimulatorHandle | undefined;
const mounted: HTMLElement[] = [];

/**
 * A Theta stream published with ffmpeg from the start of the file, so that it is live, with the three segments a
 * player needs, by the time its test runs: going live takes seconds the Kit tests use meanwhile.
 */
let theta: { sim: ThetaSimulatorHandle; streamId: string } | undefined;
before(async () => {
  const sim = await ThetaSimulatorHandle.start();
  theta = { sim, streamId: (await sim.api<{ body: { id: string } }>('POST', '/stream', { name: 'Cycles' })).body.id };
  const { ingestors } = (await sim.api<{ body: { ingestors: Array<{ id: string; state: string }> } }>('GET', '/ingestor/filter')).body;
  const ingestor = ingestors.find((candidate) => candidate.state === 'available')!;
  const selection = await sim.api<{ body: { stream_server: string; stream_key: string } }>('PUT', `/ingestor/${ingestor.id}/select`, {
    tva_stream: theta.streamId,
  });
  await sim.publish(`${selection.body.stream_server}/${selection.body.stream_key}`);
});
after(async () => {
  await theta?.sim.close();
  theta = undefined;
});

afterEach(async () => {
  for (const element of mounted.splice(0)) element.remove();
  sessionStorage.clear();
  await kit?.close();
  kit = undefined;
});

/** Waits until the library holds nothing (closes that follow a removal take a moment), then says what it still holds. */
async function expectNothingLeft(): Promise<void> {
  await waitUntil(() => Object.values(resources().library()).every((count) => count === 0), undefined, { timeout: 2000 }).catch(
    () => undefined,
  );
  expect(resources().describeLibrary(), 'what the library left behind').to.deep.equal([]);
  expect(resources().library()).to.deep.equal(nothing);
  const page = resources().all();
  expect({ peers: page.peer, sockets: page.socket }, 'peer connections and sockets open on the page').to.deep.equal({
    peers: 0,
    sockets: 0,
  });
}

function createPlayer(width: number, height: number): KitStreamPlayer {
  const player = document.createElement('kit-stream-player');
  player.setAttribute('app-id', 'usd-viewer');
  player.setAttribute('profile', 'default');
  player.style.display = 'block';
  player.style.width = `${width}px`;
  player.style.height = `${height}px`;
  mounted.push(player);
  return player;
}

function next<T>(target: EventTarget, type: string): Promise<T> {
  return new Promise((resolve) => target.addEventListener(type, (event) => resolve((event as CustomEvent<T>).detail), { once: true }));
}

/** Resolves with the first frame's detail; rejects with the element's error instead of waiting for the timeout. */
function connected(player: KitStreamPlayer): Promise<KitConnectedDetail> {
  return new Promise((resolve, reject) => {
    const controller = new AbortController();
    player.addEventListener('kit-connected', (event) => (controller.abort(), resolve(event.detail)), { signal: controller.signal });
    player.addEventListener('kit-error', (event) => (controller.abort(), reject(new Error(event.detail.message))), {
      signal: controller.signal,
    });
  });
}

const videoArea = (player: KitStreamPlayer) => player.shadowRoot!.querySelector<HTMLElement>('[part="video-area"]')!;

describe('nothing left behind, and eight at once', function () {
  this.timeout(20_000);

  it(`<kit-stream-player>: after ${cycles} mount / stream / unmount cycles, no peer, socket, timer, frame, fetch, listener or session is left`, async () => {
    const sim = (kit = await KitSimulatorHandle.start({ readyAfterMs: 0, media: true }));
    for (let cycle = 0; cycle < cycles; cycle++) {
      const player = createPlayer(320, 240);
      const first = connected(player);
      document.body.append(player);
      player.server = sim.url;
      const { id } = await first;
      if (cycle === 0) {
        // The counters see a streaming player's connections, stats clock and listeners, so the zeros below are real.
        await waitUntil(() => resources().library().interval > 0, 'no stats interval counted while streaming', { timeout: 2000 });
        const streaming = resources().library();
        expect(streaming.peer, 'peers while streaming').to.equal(1);
        expect(streaming.socket, 'sockets while streaming').to.equal(1);
        expect(streaming['window-listener'], 'window listeners while streaming').to.be.greaterThan(0);
        expect(streaming['document-listener'], 'document listeners while streaming').to.be.greaterThan(0);
      }
      const ended = next<KitSessionEndedDetail>(player, 'kit-session-ended');
      player.remove();
      expect(await ended).to.include({ id, reason: 'disconnected', terminated: true });
    }
    await expectNothingLeft();
    expect(await sim.sessions(), 'sessions left on the simulator').to.deep.equal([]);
  });

  it('<kit-stream-player>: 8 on one page each decode their own session, input goes to the focused one only, removal terminates all 8', async () => {
    const sim = (kit = await KitSimulatorHandle.start({ readyAfterMs: 0, media: true, sessionLimit: 8 }));
    const players = Array.from({ length: 8 }, () => createPlayer(190, 142));
    const grid = document.createElement('div');
    grid.style.cssText = 'display: grid; grid-template-columns: repeat(4, 190px); gap: 4px; position: absolute; left: 0; top: 0';
    mounted.push(grid);
    const stats = new Map(players.map((player) => [player, [] as KitStatsDetail[]]));
    for (const player of players) player.addEventListener('kit-stats', (event) => stats.get(player)!.push(event.detail));
    const firsts = players.map(connected);
    grid.append(...players);
    document.body.append(grid);
    for (const player of players) player.server = sim.url;
    const ids = (await Promise.all(firsts)).map((detail) => detail.id);
    expect(new Set(ids).size, 'distinct sessions').to.equal(8);
    expect((await sim.sessions()).map((session) => session.id).sort()).to.deep.equal([...ids].sort());

    // All decoding: each player's own framesDecoded grows between two of its kit-stats.
    for (const list of stats.values()) list.length = 0;
    await waitUntil(() => [...stats.values()].every((list) => list.length >= 2), 'two kit-stats from every player', { timeout: 5000 });
    for (const [player, list] of stats) {
      expect(list[1].framesDecoded, `frames decoded by player ${players.indexOf(player)}`).to.be.greaterThan(list[0].framesDecoded);
      expect(list[1].id).to.equal(ids[players.indexOf(player)]);
    }

    // A real click in one player, then a real key press: only that player's session hears them.
    type Input = { kind: string };
    const inputs = () => Promise.all(ids.map((id) => sim.inspect<Input[]>(id, 'input')));
    const before = await inputs();
    const target = 5;
    const box = videoArea(players[target]).getBoundingClientRect();
    await sendMouse({ type: 'click', position: [Math.round(box.left + box.width / 2), Math.round(box.top + box.height / 2)] });
    expect(players[target].shadowRoot!.activeElement, 'focus after the click').to.equal(videoArea(players[target]));
    await sendKeys({ press: 'a' });
    await waitUntil(
      async () => (await sim.inspect<Input[]>(ids[target], 'input')).some((event) => event.kind === 'key'),
      'the key did not arrive',
      {
        timeout: 3000,
      },
    );
    // Input for another player would have left at the same moment: a moment more lets it arrive.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await inputs();
    const kinds = after[target].slice(before[target].length).map((event) => event.kind);
    expect(kinds).to.include.members(['button', 'key']);
    after.forEach((events, index) => {
      if (index !== target) expect(events.length, `input received by player ${index}, which had no focus`).to.equal(before[index].length);
    });

    await resetMouse();

    const ended = players.map((player) => next<KitSessionEndedDetail>(player, 'kit-session-ended'));
    grid.remove();
    const details = await Promise.all(ended);
    expect(details.map((detail) => detail.terminated)).to.deep.equal(Array(8).fill(true));
    await waitUntil(async () => (await sim.sessions()).length === 0, 'sessions left on the simulator', { timeout: 3000 });
    await expectNothingLeft();
  });

  it(`<theta-live-setup>: after ${cycles} cycles with status polling and the live preview, no timer, fetch or listener is left`, async () => {
    const { sim, streamId } = theta!;
    // Live, with the three segments a player needs: every cycle then finds the stream playing.
    await waitUntil(
      async () => {
        const { body: stream } = await sim.api<{ body: { status: string; playback_uri: string | null } }>('GET', `/stream/${streamId}`);
        if (stream.status !== 'on' || !stream.playback_uri) return false;
        const playlist = await (await fetch(stream.playback_uri, { cache: 'no-store' })).text();
        return (playlist.match(/#EXTINF/g) ?? []).length >= 3;
      },
      'the published stream did not go live with three segments',
      { timeout: 15_000, interval: 100 },
    );

    const polls = () =>
      performance.getEntriesByType('resource').filter((entry) => new URL(entry.name).pathname.endsWith(`/stream/${streamId}`)).length;
    for (let cycle = 0; cycle < cycles; cycle++) {
      performance.clearResourceTimings();
      const setup = document.createElement('theta-live-setup') as ThetaLiveSetup;
      setup.setAttribute('api-base', sim.apiBase);
      setup.setAttribute('stream-id', streamId);
      setup.setAttribute('poll-interval', String(pollMs));
      mounted.push(setup);
      document.body.append(setup);
      const preview = () => setup.shadowRoot!.querySelector<HTMLVideoElement>('video[part="preview"]');
      await waitUntil(
        () => setup.shadowRoot!.querySelector('[part="live-badge"]') !== null && (preview()?.currentTime ?? 0) > 0 && polls() >= 2,
        'LIVE, a status poll and the preview playing',
        { timeout: 5000 },
      );
      if (cycle === 0) {
        const live = resources().library();
        expect(live.interval, 'the countdown while live').to.be.greaterThan(0);
        expect(live.timeout + live.fetch, 'the status poll while live').to.be.greaterThan(0);
      }
      const video = preview()!;
      setup.remove();
      expect(video.hasAttribute('src'), 'the preview still has its source').to.equal(false);
    }
    await expectNothingLeft();
  });
});
