/**
 * The page of the leak and scale benchmark (leaks.bench.ts). It runs one cycle at a time on the benchmark's call:
 * mount, stream until the first frame (or, for <theta-live-setup>, until the stream shows LIVE, its status has been
 * polled and the preview plays), unmount, and wait until every request the page started has finished. Beside each
 * element it runs a baseline doing the same work by hand: the hand-written Kit client of the first-frame benchmark,
 * and a few lines that poll a Theta stream's status and play its HLS in a `<video>`. The counters of what the page
 * holds come from test/support/page-resources.ts, installed before this module loads.
 */
import './first-frame-page.js';
import '../../src/kit-stream-player/index.js';
import '../../src/theta-live-setup/index.js';
import type { KitStreamPlayer } from '../../src/kit-stream-player/index.js';
import type { KitConnectedDetail, KitSessionEndedDetail, KitStatsDetail } from '../../src/kit-stream-player/events.js';
import type { PageResources } from '../support/page-resources.js';

declare global {
  interface Window {
    leaks: {
      /** Mounts and removes a plain `<div>`: the floor of what a cycle can cost. */
      plainDiv(): Promise<void>;
      /** One cycle of <kit-stream-player>; returns its session id. */
      kitElement(server: string): Promise<string>;
      /** One cycle of the first-frame benchmark's hand-written Kit client; returns its session id. */
      kitBaseline(server: string): Promise<string>;
      /** One cycle of <theta-live-setup> on a live stream: LIVE shown, status polled, preview playing. */
      thetaElement(apiBase: string, streamId: string, pollMs: number): Promise<void>;
      /** The same by hand: the stream's status polled, its HLS played natively. */
      thetaBaseline(apiBase: string, streamId: string, pollMs: number): Promise<void>;
      /** Mounts `count` players at once; resolves when each shows its own first frame and presents more. */
      mountPlayers(server: string, count: number): Promise<{ ids: string[]; allConnectedMs: number; allDecodingMs: number }>;
      /** Each player's two latest `kit-stats` figures of decoded frames, once every player has reported twice. */
      framesDecoded(): Promise<Array<[number, number]>>;
      /** The centre of a player's video area, in page coordinates. */
      centreOf(index: number): { x: number; y: number };
      /** The index of the player whose video area has focus, or -1. */
      focusedPlayer(): number;
      /** Removes every player at once; resolves with the time until every session was terminated and every peer and socket closed. */
      removePlayers(): Promise<number>;
    };
  }
}

const stage = document.querySelector<HTMLElement>('#stage')!;
const grid = document.querySelector<HTMLElement>('#grid')!;
const resources = (): PageResources => window.pageResources!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
performance.setResourceTimingBufferSize(1000);

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await sleep(10);
  }
}

/** Waits until no request the page started is in flight: a removed element's terminate call has been answered. */
async function settle(): Promise<void> {
  await until(() => resources().all().fetch === 0, 'the requests in flight to finish', 5000);
}

function once<T>(target: EventTarget, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`No ${type} within ${timeoutMs} ms.`)), timeoutMs);
    target.addEventListener(
      type,
      (event) => {
        clearTimeout(timer);
        resolve((event as CustomEvent<T>).detail);
      },
      { once: true },
    );
  });
}

function createPlayer(): KitStreamPlayer {
  const player = document.createElement('kit-stream-player');
  player.setAttribute('app-id', 'usd-viewer');
  player.setAttribute('profile', 'default');
  player.style.width = '100%';
  player.style.height = '100%';
  return player;
}

/** Resolves with the first frame's detail, or rejects with the element's error. */
function connected(player: KitStreamPlayer): Promise<KitConnectedDetail> {
  return new Promise((resolve, reject) => {
    const controller = new AbortController();
    const { signal } = controller;
    player.addEventListener('kit-connected', (event) => (controller.abort(), resolve(event.detail)), { signal });
    player.addEventListener('kit-error', (event) => (controller.abort(), reject(new Error(event.detail.message))), { signal });
  });
}

/** Removes a player and checks that it terminated its session. */
async function removePlayer(player: KitStreamPlayer): Promise<void> {
  const ended = once<KitSessionEndedDetail>(player, 'kit-session-ended', 5000);
  player.remove();
  const detail = await ended;
  if (!detail.terminated) throw new Error(`Session ${detail.id} ended (${detail.reason}) without being terminated.`);
}

const videoArea = (player: KitStreamPlayer) => player.shadowRoot!.querySelector<HTMLElement>('[part="video-area"]')!;
const shadowVideo = (player: KitStreamPlayer) => player.shadowRoot!.querySelector('video')!;
const statusPolls = (streamId: string) =>
  performance.getEntriesByType('resource').filter((entry) => new URL(entry.name).pathname.endsWith(`/stream/${streamId}`)).length;

let players: KitStreamPlayer[] = [];
const latestStats = new Map<KitStreamPlayer, KitStatsDetail[]>();

window.leaks = {
  async plainDiv() {
    const div = document.createElement('div');
    stage.append(div);
    await sleep(0);
    div.remove();
  },

  async kitElement(server) {
    const player = createPlayer();
    const first = connected(player);
    stage.append(player);
    player.server = server;
    try {
      return (await first).id;
    } finally {
      await removePlayer(player);
      await settle();
    }
  },

  async kitBaseline(server) {
    const { id } = await window.bench.start('baseline', server);
    await window.bench.stop();
    await settle();
    return id;
  },

  async thetaElement(apiBase, streamId, pollMs) {
    performance.clearResourceTimings();
    const setup = document.createElement('theta-live-setup');
    setup.setAttribute('api-base', apiBase);
    setup.setAttribute('stream-id', streamId);
    setup.setAttribute('poll-interval', String(pollMs));
    stage.append(setup);
    try {
      await until(() => {
        const root = setup.shadowRoot;
        const preview = root?.querySelector<HTMLVideoElement>('video[part="preview"]');
        return !!root?.querySelector('[part="live-badge"]') && (preview?.currentTime ?? 0) > 0 && statusPolls(streamId) >= 2;
      }, 'LIVE, a status poll and the preview playing');
    } finally {
      setup.remove();
      await settle();
    }
  },

  async thetaBaseline(apiBase, streamId, pollMs) {
    performance.clearResourceTimings();
    const controller = new AbortController();
    const statusUrl = `${apiBase.replace(/\/+$/, '')}/stream/${streamId}`;
    const status = async () => {
      const answer = await fetch(statusUrl, { signal: controller.signal, headers: { accept: 'application/json' } });
      return ((await answer.json()) as { body: { status: string; playback_uri: string | null } }).body;
    };
    const video = Object.assign(document.createElement('video'), { muted: true, autoplay: true, playsInline: true });
    stage.append(video);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      await status().catch(() => undefined);
      if (!controller.signal.aborted) timer = setTimeout(() => void poll(), pollMs);
    };
    try {
      const stream = await status();
      if (stream.status !== 'on' || !stream.playback_uri) throw new Error('The stream is not live.');
      video.src = stream.playback_uri;
      timer = setTimeout(() => void poll(), pollMs);
      await until(() => video.currentTime > 0 && statusPolls(streamId) >= 2, 'a status poll and the video playing');
    } finally {
      controller.abort();
      clearTimeout(timer);
      video.removeAttribute('src');
      video.load();
      video.remove();
      await settle();
    }
  },

  async mountPlayers(server, count) {
    const startedAt = performance.now();
    players = Array.from({ length: count }, createPlayer);
    latestStats.clear();
    for (const player of players) {
      latestStats.set(player, []);
      player.addEventListener('kit-stats', (event) => latestStats.get(player)!.push(event.detail));
    }
    const firsts = players.map(connected);
    grid.append(...players);
    for (const player of players) player.server = server;
    const ids = (await Promise.all(firsts)).map((detail) => detail.id);
    const allConnectedMs = performance.now() - startedAt;
    // Decoding, each in its own picture: every player's video presents frames after its first one.
    const presented = () => players.map((player) => shadowVideo(player).getVideoPlaybackQuality().totalVideoFrames);
    const atFirst = presented();
    await until(() => presented().every((frames, index) => frames > atFirst[index] + 1), 'every player to present new frames');
    return { ids, allConnectedMs, allDecodingMs: performance.now() - startedAt };
  },

  async framesDecoded() {
    for (const stats of latestStats.values()) stats.length = 0;
    await until(() => [...latestStats.values()].every((stats) => stats.length >= 2), 'two kit-stats from every player', 5000);
    return [...latestStats.values()].map((stats) => [stats[0].framesDecoded, stats[1].framesDecoded] as [number, number]);
  },

  centreOf(index) {
    const box = videoArea(players[index]).getBoundingClientRect();
    return { x: box.left + box.width / 2, y: box.top + box.height / 2 };
  },

  focusedPlayer() {
    return players.findIndex((player) => player.shadowRoot!.activeElement === videoArea(player));
  },

  async removePlayers() {
    const removedAt = performance.now();
    const ended = players.map((player) => removePlayer(player));
    players = [];
    await Promise.all(ended);
    await settle();
    await until(() => resources().all().peer === 0 && resources().all().socket === 0, 'every peer connection and socket to close', 5000);
    return performance.now() - removedAt;
  },
};
