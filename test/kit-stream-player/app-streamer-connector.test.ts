import { expect, oneEvent, waitUntil } from '@open-wc/testing';
import '../../src/kit-stream-player/index.js';
import {
  type AppStreamerApi,
  type AppStreamerConnectorOptions,
  type AppStreamerGeneration,
  type AppStreamerLike,
  createAppStreamerConnector,
} from '../../src/kit-stream-player/app-streamer-connector.js';
import type { KitAppMessage, KitStreamTarget } from '../../src/kit-stream-player/connector.js';
import type { KitStreamPlayer } from '../../src/kit-stream-player/index.js';
import { KitSimulatorHandle } from '../support/simulators.js';

/** 3.x's query-string defaults (`DefaultRagnarokQueryProps`): the only keys it reads for the stream itself. */
const defaultsOf3: Record<string, unknown> = {
  accessToken: '',
  autolaunch: true,
  cursor: 'free',
  fps: 60,
  height: 1080,
  mediaport: 14109,
  mediaserver: '',
  mic: false,
  nucleus: '',
  server: '',
  sessionid: '',
  signalingport: 48322,
  signalingserver: '',
  width: 1920,
};

/** What a started stream connects to, as the library read it from its config. */
interface StartedStream {
  signaling: string;
  media: string | undefined;
  sessionId: unknown;
}

/** The library's stream object; `app` is false when its start failed before the library built its app. */
interface FakeStream {
  app: boolean;
}

/** `this` of the fake's methods: the class (static API up to 6.4) or an instance (6.5 and later). */
interface FakeState {
  _stream?: FakeStream | null;
}

type Config = Record<string, unknown>;
type Callback = (...args: unknown[]) => void;

/**
 * Stands in for one generation of NVIDIA's library, with the behaviour the adapter must cope with: 3.x reads only its
 * lower-case keys and needs `message-display`; up to 5.x `connect` does nothing while a stream object exists, `stop()`
 * keeps it and `terminate()` clears it (and throws when the start had failed); 6.x wants objects in `sendMessage`.
 */
class FakeLibrary {
  readonly configs: Config[] = [];
  readonly started: StartedStream[] = [];
  readonly sent: unknown[] = [];
  readonly calls: string[] = [];
  /** Text the library wrote into `message-display`. */
  readonly displayed: string[] = [];
  /** Makes the next start fail the way a missing `message-display` makes 3.x fail. */
  failNextStart = false;
  readonly AppStreamer: AppStreamerApi | (new () => AppStreamerApi);

  constructor(
    readonly generation: AppStreamerGeneration,
    readonly options: { autoStart?: boolean; perInstance?: boolean } = {},
  ) {
    const methods = this.methods();
    class AppStreamer {}
    // Up to 6.4 the library is a class of static methods; 6.5 moved them to instances.
    this.AppStreamer = options.perInstance
      ? (Object.assign(AppStreamer.prototype, methods).constructor as new () => AppStreamerApi)
      : Object.assign(AppStreamer, methods);
  }

  /** The module as `import * as streaming from '...'` gives it: 3.x and 4.x export the same names. */
  get module(): AppStreamerLike {
    const StreamType = { DIRECT: 'direct', GFN: 'gfn', NVCF: 'nvcf' };
    const exports: { AppStreamer: FakeLibrary['AppStreamer']; [name: string]: unknown } =
      this.generation >= 6
        ? { AppStreamer: this.AppStreamer, StreamType, EventAction: { START: 'start' }, EventStatus: { SUCCESS: 'success' } }
        : {
            AppStreamer: this.AppStreamer,
            eAction: { start: 'start' },
            eStatus: { success: 'success' },
            ...(this.generation === 5 && { StreamType }),
          };
    return exports;
  }

  get config(): Config | undefined {
    return this.configs.at(-1);
  }

  callback(name: string, ...args: unknown[]): void {
    (this.config![name] as Callback)(...args);
  }

  private methods() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the methods' own `this` is the library's class or instance.
    const fake = this;
    const error = (info: unknown) => ({ action: 'start', status: 'error', info });
    return {
      async connect(this: FakeState, props: { streamSource: unknown; streamConfig: Config }) {
        fake.calls.push('connect');
        if (this._stream) return { action: 'start', status: 'inProgress', info: 'Starting stream' };
        const stream: FakeStream = { app: false };
        this._stream = stream;
        await Promise.resolve();
        if (props.streamSource !== 'direct') throw error(`'${String(props.streamSource)}' is an invalid source`);
        fake.configs.push(props.streamConfig);
        fake.start(stream, props.streamConfig);
        return { action: 'start', status: 'inProgress', info: 'Starting stream.' };
      },
      async sendMessage(this: FakeState, message: unknown) {
        await Promise.resolve();
        if (!this._stream) throw { action: 'message', status: 'error', info: 'There is no stream controller.' };
        if (typeof message !== (fake.generation >= 6 ? 'object' : 'string'))
          throw { action: 'message', status: 'error', info: 'Invalid message' };
        fake.sent.push(message);
      },
      async stop(this: FakeState) {
        fake.calls.push('stop');
        await Promise.resolve();
        if (!this._stream) throw { action: 'stop', status: 'error', info: 'There is no stream controller.' };
      },
      async terminate(this: FakeState, ask = false) {
        fake.calls.push(ask ? 'terminate(true)' : 'terminate');
        const stream = this._stream;
        if (!stream) throw { action: 'terminate', status: 'error', info: 'There is no stream controller.' };
        if (ask && !window.confirm('Terminating session will destroy all associated resources, do you confirm?')) {
          return { action: 'terminate', status: 'canceled' };
        }
        await Promise.resolve();
        if (!stream.app) throw new TypeError("Cannot read properties of null (reading 'stopButtonClick')");
        this._stream = null;
        return { action: 'terminate', status: 'success', info: 'Session has terminated' };
      },
    };
  }

  private start(stream: FakeStream, given: Config): void {
    const display = document.getElementById('message-display');
    if (this.failNextStart || (this.generation === 3 && !display)) {
      this.failNextStart = false;
      throw { action: 'start', status: 'error', info: new TypeError("Cannot set properties of null (setting 'textContent')") };
    }
    stream.app = true;
    let started: StartedStream | undefined;
    if (this.generation === 3) {
      const read = { ...defaultsOf3, ...given };
      const query = Object.fromEntries(Object.keys(defaultsOf3).map((key) => [key, read[key]]));
      if (query.signalingserver) {
        started = {
          signaling: `${String(query.signalingserver)}:${String(query.signalingport)}`,
          media: query.mediaserver ? `${String(query.mediaserver)}:${String(query.mediaport)}` : undefined,
          sessionId: query.sessionid,
        };
      }
    } else if (given.signalingServer) {
      started = {
        signaling: `${String(given.signalingServer)}:${String(given.signalingPort)}`,
        media: given.mediaPort === undefined ? undefined : `${String(given.mediaServer)}:${String(given.mediaPort)}`,
        sessionId: given.sessionId,
      };
    }
    if (!started) {
      const text = 'Signaling server info is required in passthru use case.';
      this.displayed.push(text);
      if (display) display.textContent = text;
      return;
    }
    this.started.push(started);
    if (this.options.autoStart) setTimeout(() => (given.onStart as Callback)({ action: 'start', status: 'success' }));
  }
}

const realConfirm = window.confirm;
let confirmCalls: string[] = [];
let simulator: KitSimulatorHandle | undefined;
let element: KitStreamPlayer | undefined;
const hosts: HTMLElement[] = [];
let nextSession = 1;

beforeEach(() => {
  confirmCalls = [];
  // terminate(true) asks the user; the adapter must never get there.
  window.confirm = (message?: string) => {
    confirmCalls.push(String(message));
    return false;
  };
});

afterEach(async function () {
  element?.remove();
  element = undefined;
  hosts.splice(0).forEach((host) => host.remove());
  await simulator?.close();
  simulator = undefined;
  // Restored only after everything closed: a real confirm() dialog would block the test page.
  window.confirm = realConfirm;
  // Fails the test itself (not the hook, which would stop the run).
  if (confirmCalls.length > 0) (this.test as Mocha.Hook).error(new Error(`confirm() was called: ${confirmCalls.join('; ')}`));
});

/** Opens one connection without the element, on a route with a media port unless the target says otherwise. */
async function connectTo(library: AppStreamerLike, options: AppStreamerConnectorOptions = {}, target: Partial<KitStreamTarget> = {}) {
  const host = document.createElement('div');
  hosts.push(host);
  document.body.append(host);
  const messages: KitAppMessage[] = [];
  const sessionId = `session-${nextSession++}`;
  const connection = await createAppStreamerConnector(library, { connectTimeoutMs: 1000, ...options }).connect({
    target: { host: '10.0.0.5', signalingPort: 49100, mediaPort: 31001, sessionId, server: 'https://kit.example/streaming', ...target },
    video: document.createElement('video'),
    host,
    signal: new AbortController().signal,
    width: 1280,
    height: 720,
    fps: 30,
    onMessage: (message) => messages.push(message),
    onClosed: () => undefined,
  });
  return { connection, messages, sessionId, host };
}

async function playerWith(library: AppStreamerLike, options: AppStreamerConnectorOptions = { maxReconnects: 3 }) {
  simulator = await KitSimulatorHandle.start({ readyAfterMs: 0 });
  element = document.createElement('kit-stream-player');
  element.connector = createAppStreamerConnector(library, options);
  Object.assign(element, { appId: 'usd-viewer', profile: 'default', streamWidth: 1280, streamHeight: 720, fps: 30 });
  const ready = oneEvent(element, 'kit-session-ready');
  document.body.append(element);
  element.server = simulator.url;
  return (await ready).detail;
}

const streamKeys = ['signalingServer', 'signalingPort', 'mediaServer', 'mediaPort', 'sessionId', 'backendUrl', 'autoLaunch'];

describe('AppStreamer adapter', () => {
  it('maps the ready session to the library direct-mode config', async () => {
    const fake = new FakeLibrary(4);
    const ready = await playerWith(fake.AppStreamer);
    await waitUntil(() => fake.config !== undefined, 'AppStreamer.connect was not called', { timeout: 3000 });
    expect(fake.config).to.include({
      signalingServer: '127.0.0.1',
      mediaServer: '127.0.0.1',
      signalingPort: ready.signalingPort,
      mediaPort: ready.mediaPort,
      sessionId: ready.id,
      backendUrl: simulator!.url,
      width: 1280,
      height: 720,
      fps: 30,
      maxReconnects: 3,
      autoLaunch: true,
    });
    expect(fake.started).to.deep.equal([
      { signaling: `127.0.0.1:${ready.signalingPort}`, media: `127.0.0.1:${ready.mediaPort}`, sessionId: ready.id },
    ]);
    for (const callback of ['onUpdate', 'onStart', 'onCustomEvent', 'onStop', 'onTerminate']) {
      expect(fake.config![callback], callback).to.be.a('function');
    }
  });

  it('puts the media where the library looks for it: light DOM, found by id, slotted', async () => {
    const fake = new FakeLibrary(4);
    await playerWith(fake.AppStreamer);
    await waitUntil(() => fake.config !== undefined, 'AppStreamer.connect was not called', { timeout: 3000 });
    const video = document.getElementById(fake.config!.videoElementId as string);
    const audio = document.getElementById(fake.config!.audioElementId as string);
    expect(video).to.be.instanceOf(HTMLVideoElement);
    expect(audio).to.be.instanceOf(HTMLAudioElement);
    expect(video!.parentElement).to.equal(element);
    expect(video!.slot).to.equal('media');
    expect(video!.assignedSlot?.name).to.equal('media');
  });

  it('forwards the library callbacks to the element events, and messages to the library', async () => {
    const fake = new FakeLibrary(4);
    const ready = await playerWith(fake.AppStreamer);
    await waitUntil(() => fake.config !== undefined, 'AppStreamer.connect was not called', { timeout: 3000 });
    const connectedEvent = oneEvent(element!, 'kit-connected');
    fake.callback('onStart', { action: 'start', status: 'success' });
    // The fake library draws no frames: the element waits for one before it calls the stream live.
    const video = document.getElementById(fake.config!.videoElementId as string) as HTMLVideoElement;
    const canvas = Object.assign(document.createElement('canvas'), { width: 64, height: 32 });
    canvas.getContext('2d')!.fillRect(0, 0, 64, 32);
    video.srcObject = canvas.captureStream(10);
    await video.play().catch(() => undefined);
    const connected = await connectedEvent;
    expect(connected.detail.id).to.equal(ready.id);
    expect(element!.state).to.equal('streaming');

    const received = oneEvent(element!, 'kit-message');
    fake.callback('onCustomEvent', { event_type: 'openedStageResult', payload: { result: 'success' } });
    expect((await received).detail).to.deep.equal({ eventType: 'openedStageResult', payload: { result: 'success' } });

    element!.sendMessage('openStageRequest', { url: 'omniverse://x.usd' });
    await waitUntil(() => fake.sent.length === 1, 'the message did not reach the library', { timeout: 1000 });
    expect(JSON.parse(fake.sent[0] as string)).to.deep.equal({ event_type: 'openStageRequest', payload: { url: 'omniverse://x.usd' } });

    const disconnected = oneEvent(element!, 'kit-disconnected');
    fake.callback('onTerminate', { action: 'terminate', status: 'success' });
    expect((await disconnected).detail.reason).to.equal('stream-ended');
    expect(fake.calls).to.include('terminate');
    (video.srcObject as MediaStream).getTracks().forEach((track) => track.stop());
  });

  it('shows the library error when the stream cannot start', async () => {
    const fake = new FakeLibrary(4);
    await playerWith(fake.AppStreamer);
    element!.maxReconnects = 0;
    await waitUntil(() => fake.config !== undefined, 'AppStreamer.connect was not called', { timeout: 3000 });
    const error = oneEvent(element!, 'kit-error');
    fake.callback('onStart', { action: 'start', status: 'error', info: 'Stream could not be started: no GPU available' });
    expect((await error).detail.message).to.contain('no GPU available');
  });

  it('starts a new stream of a 3.x library when the element starts again, and cleans up message-display', async () => {
    const fake = new FakeLibrary(3);
    const first = await playerWith(fake.module, { generation: 3 });
    await waitUntil(() => fake.started.length === 1, 'the first stream did not start', { timeout: 3000 });
    expect(document.getElementById('message-display')?.parentElement === element, 'message-display is in the element').to.equal(true);
    const second = oneEvent(element!, 'kit-session-ready');
    element!.start();
    const next = (await second).detail;
    await waitUntil(() => fake.started.length === 2, 'the second stream did not start', { timeout: 3000 });
    expect(fake.started.map((stream) => stream.sessionId)).to.deep.equal([first.id, next.id]);
    expect(fake.calls).to.not.include('terminate(true)');
    element!.remove();
    await waitUntil(() => !document.getElementById('message-display'), 'message-display was left behind', { timeout: 3000 });
  });
});

describe('AppStreamer adapter across library generations', () => {
  for (const generation of [3, 4, 5, 6] as const) {
    // Nothing at run time tells 3.x from 4.x (same exports, no version): 3.x users say which they have.
    const connect = (library: AppStreamerLike, options: AppStreamerConnectorOptions = {}, target: Partial<KitStreamTarget> = {}) =>
      connectTo(library, generation === 3 ? { generation, ...options } : options, target);
    describe(`${generation}.x`, () => {
      it('spells the config as this version reads it, and the stream starts', async () => {
        const fake = new FakeLibrary(generation, { autoStart: true });
        const { sessionId } = await connect(fake.module);
        expect(fake.started).to.deep.equal([{ signaling: '10.0.0.5:49100', media: '10.0.0.5:31001', sessionId }]);
        const keys = Object.keys(fake.config!);
        const expected = generation === 3 ? streamKeys.map((key) => key.toLowerCase()) : streamKeys;
        const other = generation === 3 ? streamKeys : streamKeys.map((key) => key.toLowerCase());
        expect(keys).to.include.members([...expected, 'width', 'height', 'fps', 'cursor', 'mic']);
        expect(keys).to.include.members([
          'videoElementId',
          'audioElementId',
          'maxReconnects',
          'nativeTouchEvents',
          'onStart',
          'onCustomEvent',
        ]);
        for (const key of other) expect(keys, key).to.not.include(key);
      });

      it('leaves the media port out when the route has none', async () => {
        const fake = new FakeLibrary(generation, { autoStart: true });
        await connect(fake.module, {}, { mediaPort: undefined });
        expect(Object.keys(fake.config!).map((key) => key.toLowerCase())).to.not.include('mediaport');
        // 3.x would otherwise rewrite every candidate to its default port 14109.
        expect(fake.started[0].media).to.equal(undefined);
      });

      it(`sends app messages as ${generation >= 6 ? 'objects' : 'JSON text'}`, async () => {
        const fake = new FakeLibrary(generation, { autoStart: true });
        const { connection } = await connect(fake.module);
        connection.send({ eventType: 'loadingStateQuery', payload: { verbose: true } });
        await waitUntil(() => fake.sent.length === 1, 'the message did not reach the library', { timeout: 1000 });
        const body = { event_type: 'loadingStateQuery', payload: { verbose: true } };
        expect(fake.sent[0]).to.deep.equal(generation >= 6 ? body : JSON.stringify(body));
      });

      it('can connect again after close: the second stream really starts', async () => {
        const fake = new FakeLibrary(generation, { autoStart: true });
        const first = await connect(fake.module);
        first.connection.close();
        const second = await connect(fake.module);
        expect(fake.started.map((stream) => stream.sessionId)).to.deep.equal([first.sessionId, second.sessionId]);
        expect(fake.calls.filter((call) => call.startsWith('terminate'))).to.deep.equal(['terminate']);
        second.connection.close();
      });
    });
  }

  it('3.x: provides a hidden message-display next to the media and removes it on close', async () => {
    const fake = new FakeLibrary(3, { autoStart: true });
    const { connection, host } = await connectTo(fake.module, { generation: 3 });
    const display = document.getElementById('message-display')!;
    // Identity is compared as a boolean: a failed comparison of DOM nodes is costly to report from the browser.
    expect(display.parentElement === host, 'message-display is next to the media').to.equal(true);
    expect(display.hidden).to.equal(true);
    connection.close();
    expect(document.getElementById('message-display') === null, 'message-display was left behind').to.equal(true);
  });

  it("3.x: reuses the page's own message-display and leaves it in place", async () => {
    const own = Object.assign(document.createElement('h3'), { id: 'message-display' });
    document.body.append(own);
    hosts.push(own);
    const fake = new FakeLibrary(3, { autoStart: true });
    const { connection } = await connectTo(fake.module, { generation: 3 });
    expect(document.querySelectorAll('#message-display')).to.have.length(1);
    connection.close();
    expect(document.getElementById('message-display') === own, "the page's message-display was removed").to.equal(true);
  });

  it('3.x ignores camelCase keys: the fake does not start with them, as the library would not', async () => {
    const fake = new FakeLibrary(3, { autoStart: true });
    let failure: unknown;
    await connectTo(fake.module, { generation: 4, connectTimeoutMs: 200 }).catch((error: unknown) => (failure = error));
    expect(failure).to.be.instanceOf(Error);
    expect(fake.started).to.deep.equal([]);
    expect(fake.displayed[0]).to.contain('Signaling server info is required');
  });

  it('3.x: after a failed start the library can still connect again', async () => {
    const fake = new FakeLibrary(3, { autoStart: true });
    fake.failNextStart = true;
    let failure: unknown;
    await connectTo(fake.module, { generation: 3 }).catch((error: unknown) => (failure = error));
    expect((failure as Error).message).to.contain('Cannot set properties of null');
    const { sessionId } = await connectTo(fake.module, { generation: 3 });
    expect(fake.started.map((stream) => stream.sessionId)).to.deep.equal([sessionId]);
  });

  it('takes the generation from the option when only the class is given', async () => {
    const fake = new FakeLibrary(3, { autoStart: true });
    await connectTo(fake.AppStreamer, { generation: 3 });
    expect(fake.config).to.include({ signalingserver: '10.0.0.5', mediaport: 31001 });
  });

  it("takes the generation from the library's version string", async () => {
    const old = new FakeLibrary(3, { autoStart: true });
    await connectTo(Object.assign(old.AppStreamer, { version: '3.2.0' }));
    expect(old.config).to.include({ signalingserver: '10.0.0.5', sessionid: old.started[0].sessionId });
    const fake = new FakeLibrary(6, { autoStart: true });
    const { connection } = await connectTo({ AppStreamer: fake.AppStreamer, version: '6.2.2' } as AppStreamerLike);
    connection.send({ eventType: 'resetStage', payload: {} });
    await waitUntil(() => fake.sent.length === 1, 'the message did not reach the library', { timeout: 1000 });
    expect(fake.sent[0]).to.deep.equal({ event_type: 'resetStage', payload: {} });
  });

  it('uses a fresh instance per connection of a library that keeps its state per instance (6.5 and later)', async () => {
    const fake = new FakeLibrary(6, { autoStart: true, perInstance: true });
    const first = await connectTo(fake.AppStreamer);
    first.connection.send({ eventType: 'resetStage', payload: {} });
    await waitUntil(() => fake.sent.length === 1, 'the message did not reach the library', { timeout: 1000 });
    expect(fake.sent[0]).to.deep.equal({ event_type: 'resetStage', payload: {} });
    first.connection.close();
    const second = await connectTo(fake.AppStreamer);
    expect(fake.started.map((stream) => stream.sessionId)).to.deep.equal([first.sessionId, second.sessionId]);
  });
});
