import { expect, oneEvent, waitUntil } from '@open-wc/testing';
import '../../src/kit-stream-player/index.js';
import { KitSignalingConnector, type KitStreamPlayer } from '../../src/kit-stream-player/index.js';
import type { KitSessionReadyDetail, KitStatsDetail } from '../../src/kit-stream-player/events.js';
import { KitSimulatorHandle } from '../support/simulators.js';
import { nextAppMessage } from '../support/kit-events.js';

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
  media: Record<string, unknown> = {},
): Promise<{ element: KitStreamPlayer; sim: KitSimulatorHandle; ready: KitSessionReadyDetail }> {
  const sim = await KitSimulatorHandle.start({ readyAfterMs: 0, media });
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

  it('receives H264, as Kit sends it', async () => {
    const { element } = await streamingPlayer();
    await oneEvent(element, 'kit-connected');
    const peer = opened.peers.at(-1)!;
    let codec = '';
    await waitUntil(
      async () => {
        const report = await peer.getStats();
        report.forEach((entry: Record<string, unknown>) => {
          if (entry.type === 'inbound-rtp' && entry.kind === 'video' && Number(entry.framesDecoded) > 0) {
            const codecEntry = report.get(String(entry.codecId)) as { mimeType?: string } | undefined;
            codec = codecEntry?.mimeType ?? '';
          }
        });
        return codec !== '';
      },
      'no decoded video',
      { timeout: 5000 },
    );
    expect(codec).to.equal('video/H264');
  });

  it('exchanges app messages on control_channel in the wire form Kit reads', async () => {
    const { element, sim, ready } = await streamingPlayer({ 'usd-stage-uri': 'omniverse://demo/warehouse.usd' });
    await oneEvent(element, 'kit-connected');
    const loading = nextAppMessage(element, 'loadingStateResponse');
    element.sendMessage('loadingStateQuery', {});
    expect((await loading).payload).to.deep.include({ loading_state: 'idle', url: 'omniverse://demo/warehouse.usd' });
    const children = nextAppMessage(element, 'getChildrenResponse');
    element.sendMessage('getChildrenRequest', { prim_path: '/World', filters: ['USDGeom'] });
    expect((await children).payload).to.have.property('prim_path', '/World');
    const opened = nextAppMessage(element, 'openedStageResult');
    element.sendMessage('openStageRequest', { url: 'omniverse://demo/office.usd' });
    expect((await opened).payload).to.deep.include({ url: 'omniverse://demo/office.usd', result: 'success' });

    const control = await sim.inspect<{ direction: string; text: string }[]>(ready.id, 'control');
    const query = control.find((entry) => entry.direction === 'in' && entry.text.includes('loadingStateQuery'))!;
    expect(query.text).to.equal(
      JSON.stringify({
        customMessage: JSON.stringify({
          messageType: 'json',
          messageRecipient: 'kit',
          data: JSON.stringify({ event_type: 'loadingStateQuery', payload: {} }),
        }),
      }),
    );
    expect(await sim.inspect(ready.id, 'violations')).to.deep.equal([]);
  });

  for (const version of [2, 3] as const) {
    it(`sends a click and the key "a" as Kit's binary input, letterboxed, protocol version ${version}`, async () => {
      const { element, sim, ready } = await streamingPlayer({}, undefined, { inputVersion: version });
      await oneEvent(element, 'kit-connected');
      await waitUntil(() => shadowVideo(element).videoWidth > 0, 'no video size', { timeout: 5000 });
      const area = videoArea(element);
      const box = area.getBoundingClientRect();
      // A 320x240 picture contained in 640x240: bars of 160 px left and right, scale 1.
      expect([box.width, box.height]).to.deep.equal([640, 240]);
      const selection = nextAppMessage(element, 'stageSelectionChanged');
      const pointer = (type: string, x: number, y: number) =>
        area.dispatchEvent(
          new PointerEvent(type, {
            clientX: box.left + x,
            clientY: box.top + y,
            bubbles: true,
            composed: true,
            pointerId: 1,
            isPrimary: true,
            button: 0,
            buttons: type === 'pointerup' ? 0 : 1,
          }),
        );
      type Input = { kind: string; framed: boolean; sentAtUs?: number } & Record<string, unknown>;
      // Like NVIDIA's client, the element writes plain events until the version handshake reaches it (§5.1): move
      // the pointer until a move arrives in the announced framing, then count only what follows.
      let seen = 0;
      await waitUntil(
        async () => {
          area.dispatchEvent(
            new PointerEvent('pointermove', {
              clientX: box.left + 165,
              clientY: box.top + 200,
              bubbles: true,
              composed: true,
              pointerId: 1,
              isPrimary: true,
            }),
          );
          const moves = await sim.inspect<Input[]>(ready.id, 'input');
          seen = moves.length;
          return moves.some((event) => event.kind === 'move' && event.framed === (version === 3));
        },
        'no move arrived in the announced framing',
        { timeout: 5000, interval: 100 },
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      seen = (await sim.inspect<Input[]>(ready.id, 'input')).length;
      pointer('pointerdown', 20, 100); // on the left bar: not forwarded
      pointer('pointerup', 20, 100);
      pointer('pointerdown', 160 + 100, 150);
      pointer('pointerup', 160 + 100, 150);
      area.focus();
      expect(element.shadowRoot!.activeElement).to.equal(area);
      const key = (type: string, init: KeyboardEventInit) =>
        area.dispatchEvent(new KeyboardEvent(type, { bubbles: true, composed: true, ...init }));
      key('keydown', { key: 'a', code: 'KeyA' });
      key('keyup', { key: 'a', code: 'KeyA' });
      key('keydown', { key: 'Tab', code: 'Tab' });

      let input: Input[] = [];
      await waitUntil(
        async () => {
          input = (await sim.inspect<Input[]>(ready.id, 'input')).slice(seen);
          return input.filter((event) => event.kind === 'key').length >= 2;
        },
        'the app did not receive the key',
        { timeout: 5000 },
      );
      const kinds = input.filter((event) => event.kind !== 'move' || event.x === 100).map((event) => event.kind);
      expect(kinds).to.deep.equal(['move', 'button', 'button', 'lock-keys', 'key', 'key']);
      expect(input.find((event) => event.kind === 'move' && event.x === 100)).to.include({ y: 150, refWidth: 320, refHeight: 240 });
      const buttons = input.filter((event) => event.kind === 'button');
      expect(buttons.map(({ down, button }) => ({ down, button }))).to.deep.equal([
        { down: true, button: 1 },
        { down: false, button: 1 },
      ]);
      expect(input.find((event) => event.kind === 'lock-keys')).to.include({ flags: 0x10 });
      const keys = input.filter((event) => event.kind === 'key');
      expect(keys.map(({ down, vk, modifiers }) => ({ down, vk, modifiers }))).to.deep.equal([
        { down: true, vk: 0x41, modifiers: 0 },
        { down: false, vk: 0x41, modifiers: 0 },
      ]);
      for (const event of input.filter((item) => item.kind !== 'lock-keys')) {
        expect(event.framed, `${event.kind} framing`).to.equal(version === 3);
        if (version === 3) expect(event.sentAtUs).to.be.a('number');
      }
      expect(await sim.inspect(ready.id, 'violations')).to.deep.equal([]);
      // The click landed on the app's left prim: its selection came back.
      expect((await selection).payload).to.deep.equal({ prims: ['/World/Cube'] });
    });
  }

  it("shows the app's cursor over the video", async () => {
    const { element } = await streamingPlayer();
    await oneEvent(element, 'kit-connected');
    await waitUntil(() => shadowVideo(element).videoWidth > 0, 'no video size', { timeout: 5000 });
    const area = videoArea(element);
    const box = area.getBoundingClientRect();
    const move = (y: number) =>
      area.dispatchEvent(
        new PointerEvent('pointermove', { clientX: box.left + 320, clientY: box.top + y, bubbles: true, composed: true, isPrimary: true }),
      );
    move(10); // the app's text region: the top fifth of the picture
    await waitUntil(() => area.style.cursor === 'text', `cursor is "${area.style.cursor}", not text`, { timeout: 3000 });
    move(200);
    await waitUntil(() => area.style.cursor === 'default', `cursor is "${area.style.cursor}", not default`, { timeout: 3000 });
  });

  it('re-opens dropped signaling with &reconnect=1 while the picture goes on', async () => {
    const { element, sim, ready } = await streamingPlayer();
    await oneEvent(element, 'kit-connected');
    const disconnects: Event[] = [];
    element.addEventListener('kit-disconnected', (event) => disconnects.push(event));
    const before = await nextStats(element);
    await sim.sessionFault(ready.id, 'drop-signaling');
    type SignIn = { last: { url: string; reconnect: boolean } | null; reconnects: number };
    await waitUntil(async () => (await sim.inspect<SignIn>(ready.id, 'sign-in')).reconnects > 0, 'signaling was not re-opened', {
      timeout: 5000,
    });
    const signIn = await sim.inspect<SignIn>(ready.id, 'sign-in');
    expect(signIn.last!.url).to.contain('&reconnect=1');
    const after = await nextStats(element);
    expect(after.framesDecoded).to.be.greaterThan(before.framesDecoded);
    // Messages still reach the app through the same peer connection.
    const loading = nextAppMessage(element, 'loadingStateResponse');
    element.sendMessage('loadingStateQuery', {});
    await loading;
    expect(element.state).to.equal('streaming');
    expect(disconnects).to.have.length(0);
    expect(await sim.inspect(ready.id, 'violations')).to.deep.equal([]);
  });

  for (const fault of ['peer-removed', 'end-stream', 'bye'] as const) {
    it(`ends the stream as ended by the server on ${fault}, without reconnecting`, async () => {
      const { element, sim, ready } = await streamingPlayer();
      await oneEvent(element, 'kit-connected');
      const errors: Event[] = [];
      element.addEventListener('kit-error', (event) => errors.push(event));
      const ended = oneEvent(element, 'kit-session-ended');
      await sim.sessionFault(ready.id, fault);
      expect((await ended).detail).to.include({ id: ready.id, reason: 'server-ended' });
      expect(element.state).to.equal('ended');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await sim.inspect<{ reconnects: number }>(ready.id, 'sign-in').catch(() => ({ reconnects: 0 }))).reconnects).to.equal(0);
      expect(errors).to.have.length(0);
    });
  }

  it('reports a signaling error from the server as kit-error code signaling, without reconnecting', async () => {
    const { element, sim, ready } = await streamingPlayer();
    await oneEvent(element, 'kit-connected');
    const error = oneEvent(element, 'kit-error');
    await sim.sessionFault(ready.id, 'signaling-error');
    expect((await error).detail).to.include({ code: 'signaling' });
    expect((await error).detail.message).to.contain('serverOverloaded');
    expect(element.state).to.equal('error');
    expect((await sim.inspect<{ reconnects: number }>(ready.id, 'sign-in').catch(() => ({ reconnects: 0 }))).reconnects).to.equal(0);
  });

  it('reports the app timer warning as kit-timer-warning', async () => {
    const { element, sim, ready } = await streamingPlayer();
    await oneEvent(element, 'kit-connected');
    const warning = oneEvent(element, 'kit-timer-warning');
    await sim.sessionFault(ready.id, 'timer-warning');
    expect((await warning).detail).to.deep.equal({ code: 4, secondsLeft: 30 });
    // After the idle warning, the viewer's next input goes with an input heartbeat (§5.8).
    const area = videoArea(element);
    const box = area.getBoundingClientRect();
    area.dispatchEvent(
      new WheelEvent('wheel', {
        clientX: box.left + 320,
        clientY: box.top + 120,
        deltaY: 100,
        bubbles: true,
        composed: true,
        cancelable: true,
      }),
    );
    type Input = { kind: string };
    let input: Input[] = [];
    await waitUntil(
      async () => (input = await sim.inspect<Input[]>(ready.id, 'input')).some((event) => event.kind === 'wheel'),
      'no wheel',
      {
        timeout: 5000,
      },
    );
    expect(input.map((event) => event.kind).slice(-2)).to.deep.equal(['heartbeat', 'wheel']);
  });

  it('answers an offer that carries nvstSdp with its own', async () => {
    const { element, sim, ready } = await streamingPlayer({ 'max-bitrate': '8000' }, undefined, { nvstSdp: true });
    await oneEvent(element, 'kit-connected');
    const answer = await sim.inspect<{ sdp: string; nvstSdp?: string }>(ready.id, 'answer');
    expect(answer.nvstSdp).to.match(/a=general\.icePassword:\S+/);
    expect(answer.nvstSdp).to.match(/a=general\.dtlsFingerprint:[0-9A-F:]+/);
    expect(answer.sdp).to.contain('b=AS:8000');
    expect(await sim.inspect(ready.id, 'violations')).to.deep.equal([]);
  });

  it('sends accessToken only in the signaling subprotocol', async () => {
    const token = 'tok-7f3a9c1e5b';
    const logged: string[] = [];
    const originals = { log: console.log, debug: console.debug, info: console.info, warn: console.warn, error: console.error };
    for (const name of Object.keys(originals) as (keyof typeof originals)[])
      console[name] = (...args: unknown[]) => {
        logged.push(args.map(String).join(' '));
        originals[name](...args);
      };
    const events: unknown[] = [];
    try {
      const { element, sim, ready } = await streamingPlayer(
        {},
        (player) => {
          player.accessToken = token;
          for (const name of ['kit-session-pending', 'kit-session-ready', 'kit-connected', 'kit-message', 'kit-stats', 'kit-disconnected'])
            player.addEventListener(name, (event) => events.push((event as CustomEvent).detail));
        },
        { accessToken: token },
      );
      await oneEvent(element, 'kit-connected');
      await nextStats(element);
      const signIn = await sim.inspect<{ last: { protocol: string } }>(ready.id, 'sign-in');
      expect(signIn.last.protocol).to.equal(`x-nv-sessionid.${ready.id}-Authorization.Bearer-<redacted>`);
      expect(opened.sockets.at(-1)!.protocol).to.contain(token);
      expect(element.outerHTML + element.shadowRoot!.innerHTML).not.to.contain(token);
      expect([...element.attributes].map((attribute) => attribute.value).join(' ')).not.to.contain(token);
      expect(JSON.stringify(events)).not.to.contain(token);
      expect(logged.join('\n')).not.to.contain(token);
    } finally {
      Object.assign(console, originals);
    }
  });

  it('never quotes an access token a WebSocket subprotocol cannot carry', async () => {
    const token = 'dG9rZW4=+/';
    const { element } = await streamingPlayer({ 'max-reconnects': '0' }, (player) => (player.accessToken = token));
    const error = await oneEvent(element, 'kit-error');
    expect(error.detail.message).to.contain('cannot carry');
    expect(JSON.stringify(error.detail)).not.to.contain(token);
    await element.updateComplete;
    expect(element.shadowRoot!.innerHTML).not.to.contain(token);
  });

  it('fails clearly when the gateway refuses the access token', async () => {
    const { element } = await streamingPlayer({ 'max-reconnects': '0' }, (player) => (player.accessToken = 'wrong'), {
      accessToken: 'right',
    });
    const error = await oneEvent(element, 'kit-error');
    expect(error.detail.code).to.equal('connection');
    expect(error.detail.message).to.contain('Signaling closed');
  });

  it('logs the signaling and control exchange with debug, secrets redacted', async () => {
    const token = 'tok-debug-4242';
    const logged: string[] = [];
    const original = console.debug;
    console.debug = (...args: unknown[]) => logged.push(args.map(String).join(' '));
    try {
      const { element } = await streamingPlayer({ debug: '' }, (player) => (player.accessToken = token), { accessToken: token });
      await oneEvent(element, 'kit-connected');
      const loading = nextAppMessage(element, 'loadingStateResponse');
      element.sendMessage('loadingStateQuery', {});
      await loading;
    } finally {
      console.debug = original;
    }
    const text = logged.join('\n');
    expect(text).to.contain('"peer_info"');
    expect(text).to.contain('"type\\":\\"answer\\"');
    expect(text).to.contain('loadingStateResponse');
    expect(text).to.match(/ice-pwd:<redacted>/);
    expect(text).not.to.contain(token);
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

  it('reconnects when the media connection is lost, and video resumes', async () => {
    const { element, sim, ready } = await streamingPlayer({}, (element) => {
      element.connector = new KitSignalingConnector({ connectTimeoutMs: 3000, disconnectedTimeoutMs: 1000 });
    });
    await oneEvent(element, 'kit-connected');
    const disconnected = oneEvent(element, 'kit-disconnected');
    await sim.sessionFault(ready.id, 'refuse-ice');
    expect((await disconnected).detail.reason).to.equal('ice-failed');
    await sim.sessionFault(ready.id, 'resume-ice');
    await oneEvent(element, 'kit-connected');
    expect(element.state).to.equal('streaming');
    const first = await nextStats(element);
    const second = await nextStats(element);
    expect(second.framesDecoded).to.be.greaterThan(first.framesDecoded);
    const polls = (await sim.requests()).filter((request) => request.method === 'GET' && request.path === `/stream/${ready.id}`);
    expect(polls.length).to.be.greaterThan(0);
  });

  it('keeps reconnecting when the status check fails too', async () => {
    const { element, sim, ready } = await streamingPlayer({}, (element) => {
      element.connector = new KitSignalingConnector({ connectTimeoutMs: 3000, disconnectedTimeoutMs: 1000 });
    });
    await oneEvent(element, 'kit-connected');
    const errors: Event[] = [];
    element.addEventListener('kit-error', (event) => errors.push(event));
    // The network that dropped the media also drops the first status checks.
    await sim.fault({ method: 'GET', path: `^/stream/${ready.id}$`, drop: true, times: 2 });
    const disconnected = oneEvent(element, 'kit-disconnected');
    await sim.sessionFault(ready.id, 'refuse-ice');
    await disconnected;
    await sim.sessionFault(ready.id, 'resume-ice');
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
      element.connector = new KitSignalingConnector({ connectTimeoutMs: 1500, disconnectedTimeoutMs: 1000 });
    });
    await oneEvent(element, 'kit-connected');
    await sim.sessionFault(ready.id, 'refuse-ice');
    const error = await oneEvent(element, 'kit-error');
    expect(error.detail.code).to.equal('connection');
    expect(error.detail.message).to.contain('1 reconnect attempts failed');
    expect(element.state).to.equal('error');
    await element.updateComplete;
    expect(button(element, 'Retry')).to.exist;
  });

  it('ends as ended by the server when the session is terminated elsewhere', async () => {
    const { element, sim, ready } = await streamingPlayer();
    await oneEvent(element, 'kit-connected');
    const errors: Event[] = [];
    element.addEventListener('kit-error', (event) => errors.push(event));
    const ended = oneEvent(element, 'kit-session-ended');
    await fetch(`${sim.url}/stream/${ready.id}`, { method: 'DELETE' });
    expect((await ended).detail).to.include({ id: ready.id, reason: 'server-ended' });
    expect(element.state).to.equal('ended');
    expect(errors).to.have.length(0);
  });

  it('ends with an error when the session is gone on the server after the media was lost', async () => {
    const { element, sim, ready } = await streamingPlayer({}, (element) => {
      element.connector = new KitSignalingConnector({ connectTimeoutMs: 3000, disconnectedTimeoutMs: 1000 });
    });
    await oneEvent(element, 'kit-connected');
    // The status check after the loss finds no session.
    await sim.fault({ method: 'GET', path: `^/stream/${ready.id}$`, status: 404, body: JSON.stringify({ detail: 'Session not found' }) });
    await sim.sessionFault(ready.id, 'refuse-ice');
    const error = await oneEvent(element, 'kit-error');
    expect(error.detail.code).to.equal('not-found');
    expect(error.detail.message).to.equal('Session not found');
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
