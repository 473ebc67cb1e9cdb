import { expect, oneEvent, waitUntil } from '@open-wc/testing';
import '../../src/kit-stream-player/index.js';
import { KitSignalingConnector, type KitStreamPlayer } from '../../src/kit-stream-player/index.js';
import type { KitMessageDetail, KitSessionReadyDetail, KitStatsDetail } from '../../src/kit-stream-player/events.js';
import { KitSimulatorHandle } from '../support/simulators.js';

type Route = { description: string; source_port: number; destination_port: number };

let simulator: KitSimulatorHandle | undefined;
const players: KitStreamPlayer[] = [];

/** Counts the peer connections and sockets the page opens, to prove that removal closes them all. */
const opened = { peers: [] as RTCPeerConnection[], sockets: [] as WebSocket[] };
const NativePeerConnection = window.RTCPeerConnection;
const NativeWebSocket = window.WebSocket;
before(() => {
  window.RTCPeerConnection = class extends NativePeerConnection {
    constructor(configuration?: RTCConfiguration) {
      super(configuration);
      opened.peers.push(this);
    }
  };
  window.WebSocket = class extends NativeWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      opened.sockets.push(this);
    }
  };
});
after(() => {
  window.RTCPeerConnection = NativePeerConnection;
  window.WebSocket = NativeWebSocket;
});

/** Records the timers and intervals started from now on that are still pending. */
function trackTimers() {
  const pending = new Map<number, string>();
  const originals = {
    setTimeout: window.setTimeout,
    clearTimeout: window.clearTimeout,
    setInterval: window.setInterval,
    clearInterval: window.clearInterval,
  };
  const native = {
    setTimeout: originals.setTimeout.bind(window),
    clearTimeout: originals.clearTimeout.bind(window),
    setInterval: originals.setInterval.bind(window),
    clearInterval: originals.clearInterval.bind(window),
  };
  window.setTimeout = ((handler: TimerHandler, ms?: number, ...args: unknown[]) => {
    const id = native.setTimeout(
      (...callArgs: unknown[]) => {
        pending.delete(id);
        if (typeof handler === 'function') handler(...callArgs);
      },
      ms,
      ...args,
    );
    pending.set(id, `timeout ${ms} ms`);
    return id;
  }) as typeof window.setTimeout;
  window.setInterval = ((handler: TimerHandler, ms?: number, ...args: unknown[]) => {
    const id = native.setInterval(handler, ms, ...args);
    pending.set(id, `interval ${ms} ms`);
    return id;
  }) as typeof window.setInterval;
  window.clearTimeout = ((id?: number) => {
    if (id !== undefined) pending.delete(id);
    native.clearTimeout(id);
  }) as typeof window.clearTimeout;
  window.clearInterval = ((id?: number) => {
    if (id !== undefined) pending.delete(id);
    native.clearInterval(id);
  }) as typeof window.clearInterval;
  return {
    stop: () => Object.assign(window, originals),
    settle: (ms: number) => new Promise((resolve) => native.setTimeout(resolve, ms)),
    pending: () => [...pending.values()],
  };
}

async function streamingPlayer(
  attributes: Record<string, string> = {},
  setup?: (element: KitStreamPlayer) => void,
): Promise<{ element: KitStreamPlayer; sim: KitSimulatorHandle; ready: KitSessionReadyDetail }> {
  const sim = await KitSimulatorHandle.start({ readyAfterMs: 0, media: true });
  simulator = sim;
  const element = document.createElement('kit-stream-player');
  element.style.width = '640px';
  element.style.height = '240px';
  for (const [name, value] of Object.entries({ 'app-id': 'usd-viewer', profile: 'default', ...attributes }))
    element.setAttribute(name, value);
  setup?.(element);
  const ready = oneEvent(element, 'kit-session-ready');
  players.push(element);
  document.body.append(element);
  element.server = sim.url;
  return { element, sim, ready: (await ready).detail };
}

const shadowVideo = (element: KitStreamPlayer) => element.shadowRoot!.querySelector('video')!;
const videoArea = (element: KitStreamPlayer) => element.shadowRoot!.querySelector<HTMLElement>('[part="video-area"]')!;
const button = (element: KitStreamPlayer, name: string) =>
  [...element.shadowRoot!.querySelectorAll('button')].find((candidate) => candidate.textContent?.trim() === name);

async function nextStats(element: KitStreamPlayer): Promise<KitStatsDetail> {
  return (await oneEvent(element, 'kit-stats')).detail;
}

function routesOf(ready: KitSessionReadyDetail): Route[] {
  return (ready.routes as Record<string, Route[]>)[ready.host];
}

async function message(element: KitStreamPlayer, eventType: string): Promise<KitMessageDetail> {
  return new Promise((resolve) => {
    const listener = (event: CustomEvent<KitMessageDetail>) => {
      if (event.detail.eventType !== eventType) return;
      element.removeEventListener('kit-message', listener);
      resolve(event.detail);
    };
    element.addEventListener('kit-message', listener);
  });
}

afterEach(async () => {
  for (const element of players.splice(0)) element.remove();
  await simulator?.close();
  simulator = undefined;
});

describe('<kit-stream-player> streaming', function () {
  this.timeout(30_000);

  it('shows decoded video through the forwarded ports', async () => {
    const { element } = await streamingPlayer();
    const connected = await oneEvent(element, 'kit-connected');
    expect(connected.detail.timeToFirstFrame).to.be.a('number');
    expect(element.state).to.equal('streaming');
    const video = shadowVideo(element);
    await waitUntil(() => video.videoWidth > 0, 'no video size', { timeout: 5000 });
    expect(video.videoWidth).to.equal(320);
    expect(video.videoHeight).to.equal(240);
    const first = await nextStats(element);
    const second = await nextStats(element);
    expect(second.framesDecoded).to.be.greaterThan(first.framesDecoded);
    expect(second.fps).to.be.greaterThan(10);
    expect(second.bitrate).to.be.greaterThan(0);
    expect(second.width).to.equal(320);
    expect(second.height).to.equal(240);
    expect(second).to.include.keys('rtt', 'packetsLost', 'jitter');
    await expect(element).to.be.accessible();
  });

  it('gets nothing through the in-cluster destination ports', async () => {
    const { element, ready } = await streamingPlayer({ 'max-reconnects': '0' }, (element) => {
      element.connector = new KitSignalingConnector({ connectTimeoutMs: 3000 });
    });
    await oneEvent(element, 'kit-connected');
    const signaling = routesOf(ready).find((route) => route.description === 'signaling')!;
    const media = routesOf(ready).find((route) => route.description === 'media')!;

    // Signaling straight to the destination port: refused, no message ever.
    const received: unknown[] = [];
    const socket = new WebSocket(`ws://127.0.0.1:${signaling.destination_port}/sign_in?peer_id=peer-0123456789&version=2`);
    socket.addEventListener('message', (event) => received.push(event.data));
    await waitUntil(() => socket.readyState === WebSocket.CLOSED, 'the destination signaling port answered', { timeout: 5000 });
    expect(received).to.deep.equal([]);

    // Media at the destination port (signaling through the route): no media flows.
    const direct = new KitSignalingConnector({ connectTimeoutMs: 3000 });
    const controller = new AbortController();
    const video = document.createElement('video');
    let failure: unknown;
    try {
      const connection = await direct.connect({
        target: {
          host: '127.0.0.1',
          signalingPort: ready.signalingPort,
          mediaPort: media.destination_port,
          sessionId: ready.id,
          server: '',
        },
        video,
        host: element,
        signal: controller.signal,
        width: 320,
        height: 240,
        fps: 30,
        onMessage: () => undefined,
        onClosed: () => undefined,
      });
      connection.close();
    } catch (error) {
      failure = error;
    }
    controller.abort();
    expect(failure, 'a connection to the destination media port succeeded').to.be.instanceOf(Error);
    expect(video.videoWidth).to.equal(0);
  });

  it('exchanges app messages over the data channel', async () => {
    const { element } = await streamingPlayer({ 'usd-stage-uri': 'omniverse://demo/warehouse.usd' });
    await oneEvent(element, 'kit-connected');
    const loading = message(element, 'loadingStateResponse');
    element.sendMessage('loadingStateQuery', {});
    expect((await loading).payload).to.be.an('object');
    const opened = message(element, 'openedStageResult');
    element.sendMessage('openStageRequest', {});
    expect((await opened).payload).to.deep.include({ url: 'omniverse://demo/warehouse.usd' });
  });

  it('forwards pointer and keyboard input in stream coordinates under letterboxing', async () => {
    const { element, sim, ready } = await streamingPlayer();
    await oneEvent(element, 'kit-connected');
    await waitUntil(() => shadowVideo(element).videoWidth > 0, 'no video size', { timeout: 5000 });
    const area = videoArea(element);
    const box = area.getBoundingClientRect();
    // A 320x240 picture contained in 640x240: bars of 160 px left and right, scale 1.
    expect(box.width).to.equal(640);
    expect(box.height).to.equal(240);
    const pointer = (type: string, x: number, y: number) =>
      area.dispatchEvent(
        new PointerEvent(type, {
          clientX: box.left + x,
          clientY: box.top + y,
          bubbles: true,
          composed: true,
          pointerId: 1,
          button: 0,
          buttons: 1,
        }),
      );

    pointer('pointerdown', 20, 100); // on the left bar: not forwarded
    pointer('pointerdown', 160 + 100, 50);
    pointer('pointerup', 160 + 319, 239);
    for (let x = 0; x < 10; x++) pointer('pointermove', 160 + 10 + x, 20);
    area.focus();
    expect(element.shadowRoot!.activeElement).to.equal(area);
    area.dispatchEvent(new KeyboardEvent('keydown', { key: 'w', code: 'KeyW', bubbles: true, composed: true }));
    area.dispatchEvent(new KeyboardEvent('keydown', { key: 'Tab', code: 'Tab', bubbles: true, composed: true }));

    type Received = { event_type: string; payload: Record<string, unknown> };
    let inputs: Received[] = [];
    await waitUntil(
      async () => {
        const all = (await sim.sessionMessages(ready.id)) as Received[];
        inputs = all.filter((entry) => ['pointerDown', 'pointerUp', 'pointerMove', 'keyDown'].includes(entry.event_type));
        return inputs.some((entry) => entry.event_type === 'keyDown') && inputs.some((entry) => entry.event_type === 'pointerMove');
      },
      'the app did not receive the input',
      { timeout: 5000 },
    );
    const downs = inputs.filter((entry) => entry.event_type === 'pointerDown');
    expect(downs).to.have.length(1);
    expect(downs[0].payload).to.include({ x: 100, y: 50, button: 0 });
    expect(inputs.find((entry) => entry.event_type === 'pointerUp')!.payload).to.include({ x: 319, y: 239 });
    const moves = inputs.filter((entry) => entry.event_type === 'pointerMove');
    expect(moves.length).to.be.within(1, 3);
    expect(moves.at(-1)!.payload).to.include({ x: 19, y: 20 });
    expect(inputs.filter((entry) => entry.event_type === 'keyDown').map((entry) => entry.payload.key)).to.deep.equal(['w']);
  });

  it('draws the stats overlay with show-stats', async () => {
    const { element } = await streamingPlayer({ 'show-stats': '' });
    await oneEvent(element, 'kit-connected');
    await nextStats(element);
    await element.updateComplete;
    const overlay = element.shadowRoot!.querySelector('[part="stats"]');
    expect(overlay?.textContent).to.contain('320×240');
    expect(overlay?.textContent).to.contain('kbit/s');
  });

  it('unmutes and offers fullscreen with named buttons', async () => {
    const { element } = await streamingPlayer();
    await oneEvent(element, 'kit-connected');
    await element.updateComplete;
    expect(shadowVideo(element).muted).to.equal(true);
    button(element, 'Unmute')!.click();
    await element.updateComplete;
    expect(shadowVideo(element).muted).to.equal(false);
    expect(button(element, 'Mute')).to.exist;
    expect(button(element, 'Fullscreen')).to.exist;
  });

  it('reconnects after the signaling connection drops, and video resumes', async () => {
    const { element, sim, ready } = await streamingPlayer();
    await oneEvent(element, 'kit-connected');
    const disconnected = oneEvent(element, 'kit-disconnected');
    await sim.sessionFault(ready.id, 'drop-signaling');
    expect((await disconnected).detail.reason).to.equal('signaling-closed');
    await waitUntil(() => element.state === 'reconnecting', 'never reconnecting', { timeout: 3000, interval: 5 });
    await oneEvent(element, 'kit-connected');
    expect(element.state).to.equal('streaming');
    const first = await nextStats(element);
    const second = await nextStats(element);
    expect(second.framesDecoded).to.be.greaterThan(first.framesDecoded);
    const polls = (await sim.requests()).filter((request) => request.method === 'GET' && request.path === `/stream/${ready.id}`);
    expect(polls.length).to.be.greaterThan(0);
  });

  it('keeps reconnecting when the status check fails too', async () => {
    const { element, sim, ready } = await streamingPlayer();
    await oneEvent(element, 'kit-connected');
    const errors: Event[] = [];
    element.addEventListener('kit-error', (event) => errors.push(event));
    // The network that dropped signaling also drops the first status check.
    await sim.fault({ method: 'GET', path: `^/stream/${ready.id}$`, drop: true, times: 2 });
    await sim.sessionFault(ready.id, 'drop-signaling');
    await oneEvent(element, 'kit-connected');
    expect(element.state).to.equal('streaming');
    expect(errors).to.have.length(0);
    expect((await sim.sessions()).map((session) => session.id)).to.deep.equal([ready.id]);
  });

  it('reports a stall when frames stop, and recovery when they return', async () => {
    const { element, sim, ready } = await streamingPlayer();
    await oneEvent(element, 'kit-connected');
    await sim.sessionFault(ready.id, 'stop-media');
    const stall = await oneEvent(element, 'kit-stall');
    expect(stall.detail.since).to.be.at.least(5000);
    await sim.sessionFault(ready.id, 'resume-media');
    const recovered = await oneEvent(element, 'kit-recovered');
    expect(recovered.detail.id).to.equal(ready.id);
  });

  it('gives up with an error and Retry when reconnects are exhausted', async () => {
    const { element, sim, ready } = await streamingPlayer({ 'max-reconnects': '1' }, (element) => {
      element.connector = new KitSignalingConnector({ connectTimeoutMs: 1500 });
    });
    await oneEvent(element, 'kit-connected');
    await sim.sessionFault(ready.id, 'refuse-ice');
    await sim.sessionFault(ready.id, 'drop-signaling');
    const error = await oneEvent(element, 'kit-error');
    expect(error.detail.code).to.equal('connection');
    expect(error.detail.message).to.contain('1 reconnect attempts failed');
    expect(element.state).to.equal('error');
    await element.updateComplete;
    expect(button(element, 'Retry')).to.exist;
  });

  it('ends with an error when the session is gone on the server', async () => {
    const { element, sim, ready } = await streamingPlayer();
    await oneEvent(element, 'kit-connected');
    await fetch(`${sim.url}/stream/${ready.id}`, { method: 'DELETE' });
    const error = await oneEvent(element, 'kit-error');
    expect(error.detail.code).to.equal('not-found');
    expect(element.state).to.equal('error');
  });

  it('closes every peer connection, socket, timer and session on removal', async () => {
    opened.peers.length = 0;
    opened.sockets.length = 0;
    const timers = trackTimers();
    const { element, sim, ready } = await streamingPlayer();
    await oneEvent(element, 'kit-connected');
    expect(opened.peers.length).to.be.greaterThan(0);
    expect(opened.sockets.length).to.be.greaterThan(0);
    const connections = async () =>
      ((await (await fetch(`${sim.origin}/_control/sessions/${ready.id}/connections`)).json()) as { connections: number }).connections;
    expect(await connections()).to.be.greaterThan(0);
    const disconnected = oneEvent(element, 'kit-disconnected');
    element.remove();
    expect((await disconnected).detail.reason).to.equal('closed-by-client');
    // Long enough for the terminate call to finish; the test's own waits come after the count.
    await timers.settle(500);
    timers.stop();
    expect(timers.pending(), 'timers the element left running').to.deep.equal([]);
    await waitUntil(() => opened.peers.every((peer) => peer.connectionState === 'closed'), 'a peer connection stayed open', {
      timeout: 2000,
    });
    await waitUntil(() => opened.sockets.every((socket) => socket.readyState === WebSocket.CLOSED), 'a socket stayed open', {
      timeout: 2000,
    });
    await waitUntil(async () => (await sim.sessions()).length === 0, 'the session was not terminated', { timeout: 3000 });
    expect(shadowVideo(element).srcObject).to.equal(null);
  });
});
