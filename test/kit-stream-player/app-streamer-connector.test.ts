import { expect, oneEvent, waitUntil } from '@open-wc/testing';
import '../../src/kit-stream-player/index.js';
import { type AppStreamerLike, createAppStreamerConnector } from '../../src/kit-stream-player/app-streamer-connector.js';
import type { KitStreamPlayer } from '../../src/kit-stream-player/index.js';
import { KitSimulatorHandle } from '../support/simulators.js';

/** Stands in for NVIDIA's AppStreamer: records the calls and lets the test play the library's callbacks. */
class FakeAppStreamer implements AppStreamerLike {
  readonly calls: Array<{ method: string; args: unknown[] }> = [];
  config: Record<string, unknown> | undefined;

  async connect(props: { streamSource: 'direct'; streamConfig: Record<string, unknown> }): Promise<unknown> {
    this.calls.push({ method: 'connect', args: [props] });
    this.config = props.streamConfig;
    return { action: 'connect', status: 'inProgress' };
  }

  sendMessage(message: string): void {
    this.calls.push({ method: 'sendMessage', args: [message] });
  }

  stop(): void {
    this.calls.push({ method: 'stop', args: [] });
  }

  callback(name: string, ...args: unknown[]): void {
    (this.config![name] as (...callbackArgs: unknown[]) => void)(...args);
  }
}

let simulator: KitSimulatorHandle | undefined;
let element: KitStreamPlayer | undefined;

afterEach(async () => {
  element?.remove();
  element = undefined;
  await simulator?.close();
  simulator = undefined;
});

async function playerWith(fake: FakeAppStreamer) {
  simulator = await KitSimulatorHandle.start({ readyAfterMs: 0 });
  element = document.createElement('kit-stream-player');
  element.connector = createAppStreamerConnector(fake, { maxReconnects: 3 });
  Object.assign(element, { appId: 'usd-viewer', profile: 'default', streamWidth: 1280, streamHeight: 720, fps: 30 });
  const ready = oneEvent(element, 'kit-session-ready');
  document.body.append(element);
  element.server = simulator.url;
  return (await ready).detail;
}

describe('AppStreamer adapter', () => {
  it('maps the ready session to the library direct-mode config', async () => {
    const fake = new FakeAppStreamer();
    const ready = await playerWith(fake);
    await waitUntil(() => fake.config !== undefined, 'AppStreamer.connect was not called', { timeout: 3000 });
    const connect = fake.calls[0].args[0] as { streamSource: string };
    expect(connect.streamSource).to.equal('direct');
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
    for (const callback of ['onUpdate', 'onStart', 'onCustomEvent', 'onStop', 'onTerminate']) {
      expect(fake.config![callback], callback).to.be.a('function');
    }
  });

  it('puts the media where the library looks for it: light DOM, found by id, slotted', async () => {
    const fake = new FakeAppStreamer();
    await playerWith(fake);
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
    const fake = new FakeAppStreamer();
    const ready = await playerWith(fake);
    await waitUntil(() => fake.config !== undefined, 'AppStreamer.connect was not called', { timeout: 3000 });
    fake.callback('onStart', { action: 'start', status: 'success' });
    // The fake library draws no frames: the element waits for one before it calls the stream live.
    const video = document.getElementById(fake.config!.videoElementId as string) as HTMLVideoElement;
    const canvas = Object.assign(document.createElement('canvas'), { width: 64, height: 32 });
    canvas.getContext('2d')!.fillRect(0, 0, 64, 32);
    video.srcObject = canvas.captureStream(10);
    await video.play().catch(() => undefined);
    const connected = await oneEvent(element!, 'kit-connected');
    expect(connected.detail.id).to.equal(ready.id);
    expect(element!.state).to.equal('streaming');

    const received = oneEvent(element!, 'kit-message');
    fake.callback('onCustomEvent', { event_type: 'openedStageResult', payload: { result: 'success' } });
    expect((await received).detail).to.deep.equal({ eventType: 'openedStageResult', payload: { result: 'success' } });

    element!.sendMessage('openStageRequest', { url: 'omniverse://x.usd' });
    const sent = fake.calls.find((call) => call.method === 'sendMessage')!;
    expect(JSON.parse(sent.args[0] as string)).to.deep.equal({ event_type: 'openStageRequest', payload: { url: 'omniverse://x.usd' } });

    const disconnected = oneEvent(element!, 'kit-disconnected');
    fake.callback('onTerminate', { action: 'terminate', status: 'success' });
    expect((await disconnected).detail.reason).to.equal('stream-ended');
    expect(fake.calls.some((call) => call.method === 'stop')).to.equal(true);
    (video.srcObject as MediaStream).getTracks().forEach((track) => track.stop());
  });

  it('shows the library error when the stream cannot start', async () => {
    const fake = new FakeAppStreamer();
    await playerWith(fake);
    element!.maxReconnects = 0;
    await waitUntil(() => fake.config !== undefined, 'AppStreamer.connect was not called', { timeout: 3000 });
    const error = oneEvent(element!, 'kit-error');
    fake.callback('onStart', { action: 'start', status: 'error', info: 'Stream could not be started: no GPU available' });
    expect((await error).detail.message).to.contain('no GPU available');
  });
});
