import { expect, oneEvent, waitUntil } from '@open-wc/testing';
import '../../src/kit-stream-player/index.js';
import '../../src/theta-live-setup/index.js';
import { KitSignalingConnector, type KitStreamPlayer } from '../../src/kit-stream-player/index.js';
import type { KitDisconnectedDetail, KitSessionEndedDetail } from '../../src/kit-stream-player/events.js';
import type { ThetaLiveSetup } from '../../src/theta-live-setup/index.js';
import { KitSimulatorHandle, ThetaSimulatorHandle } from '../support/simulators.js';
import { nextAppMessage } from '../support/kit-events.js';

/**
 * The faults of the fault matrix that need a browser: the Kit ones scripted on the simulator's media (its control
 * endpoint's session faults), what the page does to an element (removal, attribute changes, pagehide), and every
 * Theta call failing once. Each ends in a state the page can read, and recovers where it can. The decisions behind
 * them (ackids, malformed frames, cursor and input bytes, HTTP answers) have Node tests of their own.
 */

let simulator: KitSimulatorHandle | undefined;
let theta: ThetaSimulatorHandle | undefined;
const players: HTMLElement[] = [];
const restores: (() => void)[] = [];

afterEach(async () => {
  for (const restore of restores.splice(0)) restore();
  for (const element of players.splice(0)) element.remove();
  sessionStorage.clear();
  await simulator?.close();
  await theta?.close();
  simulator = theta = undefined;
});

type SignIn = { last: { url: string; reconnect: boolean } | null; reconnects: number };
type Envelope = { direction: 'in' | 'out'; message: unknown; ackid?: number };
type Input = { kind: string; framed?: boolean };

/** A simulator with one ready session whose media has `faults` armed before any client signs in. */
async function sessionWithFaults(faults: string[], media: Record<string, unknown> = {}): Promise<{ sim: KitSimulatorHandle; id: string }> {
  const sim = await KitSimulatorHandle.start({ readyAfterMs: 0, media });
  simulator = sim;
  const response = await fetch(`${sim.url}/stream`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'usd-viewer', profile: 'default' }),
  });
  const { id } = (await response.json()) as { id: string };
  for (const fault of faults) await sim.sessionFault(id, fault);
  return { sim, id };
}

/** A player attached to the session, listening from the first moment. */
function attach(sim: KitSimulatorHandle, id: string, attributes: Record<string, string> = {}, setup?: (element: KitStreamPlayer) => void) {
  const element = document.createElement('kit-stream-player');
  element.style.width = '640px';
  element.style.height = '240px';
  for (const [name, value] of Object.entries({ server: sim.url, 'session-id': id, ...attributes })) element.setAttribute(name, value);
  const disconnects: KitDisconnectedDetail[] = [];
  const errors: Event[] = [];
  element.addEventListener('kit-disconnected', (event) => disconnects.push(event.detail));
  element.addEventListener('kit-error', (event) => errors.push(event));
  element.addEventListener('kit-stats', (event) => decoded.set(element, event.detail.framesDecoded));
  setup?.(element);
  players.push(element);
  document.body.append(element);
  return { element, disconnects, errors };
}

async function streaming(faults: string[] = [], media: Record<string, unknown> = {}) {
  const { sim, id } = await sessionWithFaults(faults, media);
  const attached = attach(sim, id);
  await oneEvent(attached.element, 'kit-connected');
  return { sim, id, ...attached };
}

/** Frames each player has decoded, from its latest `kit-stats`. */
const decoded = new WeakMap<KitStreamPlayer, number>();

/** Resolves once the player reports more decoded frames than when it was called. */
async function framesGoOn(element: KitStreamPlayer): Promise<void> {
  const before = decoded.get(element) ?? 0;
  await waitUntil(() => (decoded.get(element) ?? 0) > before, 'the picture stopped', { timeout: 4000 });
}

/** The app still answers a message, and the stream was never lost nor reported an error. */
async function expectUndisturbed({ element, disconnects, errors }: ReturnType<typeof attach>) {
  const loading = nextAppMessage(element, 'loadingStateResponse');
  element.sendMessage('loadingStateQuery', {});
  await loading;
  expect(element.state).to.equal('streaming');
  expect(disconnects).to.deep.equal([]);
  expect(errors).to.have.length(0);
}

const retryButton = (element: KitStreamPlayer) =>
  [...element.shadowRoot!.querySelectorAll('button')].find((button) => button.textContent?.trim() === 'Retry');
const shadowVideo = (element: KitStreamPlayer) => element.shadowRoot!.querySelector('video')!;
const videoArea = (element: KitStreamPlayer) => element.shadowRoot!.querySelector<HTMLElement>('[part="video-area"]')!;

/** Moves the pointer to (x, y) of the 640x240 video area and, when asked, clicks there. */
function pointAt(element: KitStreamPlayer, x: number, y: number, click = false): void {
  const area = videoArea(element);
  const box = area.getBoundingClientRect();
  const init = { clientX: box.left + x, clientY: box.top + y, bubbles: true, composed: true, isPrimary: true, pointerId: 1 };
  area.dispatchEvent(new PointerEvent('pointermove', init));
  if (!click) return;
  area.dispatchEvent(new PointerEvent('pointerdown', { ...init, button: 0, buttons: 1 }));
  area.dispatchEvent(new PointerEvent('pointerup', { ...init, button: 0, buttons: 0 }));
}

describe('Kit faults, end to end', function () {
  this.timeout(20_000);

  it('signaling refused: an error that says so with Retry, and Retry streams once the route is back', async () => {
    const { sim, id } = await sessionWithFaults(['refuse-signaling']);
    const { element, errors } = attach(sim, id, { 'max-reconnects': '1' });
    const error = await oneEvent(element, 'kit-error');
    expect(error.detail.code).to.equal('connection');
    expect(error.detail.message).to.match(/1 reconnect attempts failed\. Last: Signaling closed \(1006\)/);
    expect(element.state).to.equal('error');
    await element.updateComplete;
    expect(retryButton(element), 'Retry').to.exist;
    await sim.sessionFault(id, 'resume-signaling');
    retryButton(element)!.click();
    await oneEvent(element, 'kit-connected');
    expect(element.state).to.equal('streaming');
    expect(errors).to.have.length(1);
  });

  it('signaling closed before the offer: the element signs in afresh and streams', async () => {
    const { sim, id } = await sessionWithFaults(['close-before-offer']);
    const { element, disconnects, errors } = attach(sim, id);
    await oneEvent(element, 'kit-connected');
    expect(disconnects.map(({ reason, message }) => ({ reason, message }))).to.deep.equal([
      { reason: 'connect-failed', message: 'Signaling closed (1011: stream setup failed).' },
    ]);
    const signIn = await sim.inspect<SignIn>(id, 'sign-in');
    expect(signIn.last!.reconnect, 'a new sign-in, not a re-open').to.equal(false);
    expect(errors).to.have.length(0);
    expect(await sim.inspect(id, 'violations')).to.deep.equal([]);
  });

  it('signaling lost mid-stream and refused for a while: the picture goes on, and the socket re-opens once it can', async () => {
    const { sim, id, element, disconnects, errors } = await streaming();
    await sim.sessionFault(id, 'refuse-signaling');
    await sim.sessionFault(id, 'drop-signaling');
    await framesGoOn(element);
    expect((await sim.inspect<SignIn>(id, 'sign-in')).reconnects).to.equal(0);
    await sim.sessionFault(id, 'resume-signaling');
    await waitUntil(async () => (await sim.inspect<SignIn>(id, 'sign-in')).reconnects === 1, 'signaling was not re-opened', {
      timeout: 6000,
    });
    expect((await sim.inspect<SignIn>(id, 'sign-in')).last!.url).to.contain('&reconnect=1');
    await expectUndisturbed({ element, disconnects, errors });
  });

  it('malformed and oversized frames, duplicate and out-of-order ackids: read past, acknowledged, the stream goes on', async () => {
    const { sim, id, element, disconnects, errors } = await streaming();
    for (const fault of ['malformed-signaling', 'oversized-signaling', 'duplicate-ackids', 'out-of-order-ackids']) {
      await sim.sessionFault(id, fault);
    }
    await waitUntil(async () => (await sim.inspect<number[]>(id, 'unacknowledged')).length === 0, 'server messages left unacknowledged', {
      timeout: 3000,
    });
    const envelopes = await sim.inspect<Envelope[]>(id, 'envelopes');
    const acks = envelopes.flatMap(({ direction, message }) =>
      direction === 'in' && typeof message === 'object' && message !== null && 'ack' in message ? [(message as { ack: number }).ack] : [],
    );
    const highest = Math.max(...envelopes.filter((entry) => entry.direction === 'out').map((entry) => entry.ackid ?? 0));
    expect(acks.at(-1), 'the cumulative ack covers the highest ackid sent').to.equal(highest);
    // A duplicated offer answered again would be "a second answer to the same offer".
    expect(await sim.inspect(id, 'violations')).to.deep.equal([]);
    await framesGoOn(element);
    await expectUndisturbed({ element, disconnects, errors });
  });

  it('garbage on cursor_channel and input_channel_v1: ignored, and the cursor and input keep working', async () => {
    const { sim, id, element, errors } = await streaming();
    await waitUntil(() => shadowVideo(element).videoWidth > 0, 'no video size', { timeout: 5000 });
    pointAt(element, 320, 10);
    await waitUntil(() => videoArea(element).style.cursor === 'text', 'no text cursor', { timeout: 3000 });
    await sim.sessionFault(id, 'garbage-cursor');
    await sim.sessionFault(id, 'garbage-input');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(videoArea(element).style.cursor, 'the cursor after the garbage').to.equal('text');
    const before = (await sim.inspect<Input[]>(id, 'input')).length;
    pointAt(element, 320, 200, true);
    await waitUntil(() => videoArea(element).style.cursor === 'default', 'the cursor did not follow', { timeout: 3000 });
    let input: Input[] = [];
    await waitUntil(
      async () => (input = (await sim.inspect<Input[]>(id, 'input')).slice(before)).filter((event) => event.kind === 'button').length === 2,
      'the click did not arrive',
      { timeout: 3000 },
    );
    // A second handshake among the garbage named version 2: the element keeps the version it was told first.
    expect(input.map((event) => [event.kind, event.framed])).to.deep.equal([
      ['move', true],
      ['button', true],
      ['button', true],
    ]);
    expect(await sim.inspect(id, 'violations')).to.deep.equal([]);
    expect(element.state).to.equal('streaming');
    expect(errors).to.have.length(0);
  });

  it('no media packet at all: an error with Retry, and Retry streams once packets flow', async () => {
    const { sim, id } = await sessionWithFaults(['refuse-ice']);
    const { element } = attach(sim, id, { 'max-reconnects': '0' }, (player) => {
      player.connector = new KitSignalingConnector({ connectTimeoutMs: 1500 });
    });
    const error = await oneEvent(element, 'kit-error');
    expect(error.detail.code).to.equal('connection');
    expect(error.detail.message).to.equal('The stream was lost: No media within 1.5 s of connecting.');
    expect(element.state).to.equal('error');
    await element.updateComplete;
    await sim.sessionFault(id, 'resume-ice');
    retryButton(element)!.click();
    await oneEvent(element, 'kit-connected');
    await framesGoOn(element);
  });

  it('no control_channel from the server: the picture plays, and messages sent meanwhile never throw', async () => {
    const { sim, id } = await sessionWithFaults(['no-control-channel']);
    const { element, errors } = attach(sim, id);
    await oneEvent(element, 'kit-connected');
    for (let index = 0; index < 100; index++) element.sendMessage('loadingStateQuery', { index });
    await framesGoOn(element);
    expect(await sim.inspect(id, 'channels')).to.deep.equal({ input_channel_v1: 'open', cursor_channel: 'open' });
    expect(await sim.sessionMessages(id)).to.deep.equal([]);
    expect(element.state).to.equal('streaming');
    expect(errors).to.have.length(0);
  });

  it('no heartbeat while the media flows: the socket is re-opened, and the picture never stops', async () => {
    const { sim, id, element, disconnects, errors } = await streaming([], { heartbeatMs: 400 });
    // The client learns the heartbeat period from two of them.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await sim.sessionFault(id, 'stop-heartbeats');
    const framesBefore = decoded.get(element) ?? 0;
    await waitUntil(async () => (await sim.inspect<SignIn>(id, 'sign-in')).reconnects === 1, 'the silent socket was not re-opened', {
      timeout: 13_000,
      interval: 250,
    });
    expect(decoded.get(element), 'frames decoded meanwhile').to.be.greaterThan(framesBefore + 100);
    expect(element.state).to.equal('streaming');
    expect(disconnects).to.deep.equal([]);
    expect(errors).to.have.length(0);
  });
});

describe('what the page does to <kit-stream-player>', function () {
  this.timeout(20_000);

  const requests = async (sim: KitSimulatorHandle, method: string) => (await sim.requests()).filter((request) => request.method === method);

  async function player(attributes: Record<string, string>): Promise<{ sim: KitSimulatorHandle; element: KitStreamPlayer }> {
    const sim = await KitSimulatorHandle.start({ readyAfterMs: 0, media: true, sessionLimit: 16 });
    simulator = sim;
    const element = document.createElement('kit-stream-player');
    for (const [name, value] of Object.entries({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default', ...attributes }))
      element.setAttribute(name, value);
    players.push(element);
    document.body.append(element);
    return { sim, element };
  }

  it('removed and re-added 10 times quickly: a move keeps the session, a removal ends it; one session streams at the end', async () => {
    const { sim, element } = await player({});
    const box = document.createElement('div');
    document.body.append(box);
    restores.push(() => box.remove());
    for (let index = 0; index < 10; index++) (index % 2 ? document.body : box).append(element);
    await oneEvent(element, 'kit-connected');
    expect(await requests(sim, 'POST'), 'moves keep the session').to.have.length(1);
    for (let index = 0; index < 10; index++) {
      element.remove();
      await new Promise((resolve) => requestAnimationFrame(resolve));
      document.body.append(element);
    }
    await oneEvent(element, 'kit-connected');
    await waitUntil(async () => (await sim.sessions()).length === 1, 'abandoned sessions were left on the service', { timeout: 5000 });
    expect((await sim.sessions())[0]!.id).to.equal(element.sessionId);
    expect(await requests(sim, 'POST')).to.have.length(11);
    expect(element.state).to.equal('streaming');
  });

  it('attributes changed 10 times within 1 s: one session at the end, streaming, every abandoned one terminated', async () => {
    const { sim, element } = await player({});
    const ended: KitSessionEndedDetail[] = [];
    element.addEventListener('kit-session-ended', (event) => ended.push(event.detail));
    for (let index = 1; index <= 10; index++) {
      await new Promise((resolve) => setTimeout(resolve, 80));
      element.profile = index % 2 ? 'high-quality' : 'default';
      element.version = index % 3 ? '107.0.3' : '106.5.0';
    }
    await oneEvent(element, 'kit-connected');
    await waitUntil(async () => (await sim.sessions()).length === 1, 'abandoned sessions were left on the service', { timeout: 5000 });
    const [session] = await sim.sessions();
    expect({ id: session!.id, profile: session!.profile, version: session!.version }).to.deep.equal({
      id: element.sessionId,
      profile: 'default',
      version: '107.0.3',
    });
    const created = (await requests(sim, 'POST')).length;
    expect(created).to.be.within(2, 11);
    const terminated = new Set((await requests(sim, 'DELETE')).map((request) => request.path));
    expect(terminated.size, 'a terminate call for every abandoned session').to.equal(created - 1);
    expect(terminated.has(`/stream/${session!.id}`)).to.equal(false);
    // A session abandoned while its creation was under way was never the page's: it is terminated without an event.
    expect(ended.every(({ reason, terminated }) => reason === 'replaced' && terminated)).to.equal(true);
  });

  it('pagehide with a live session: it ends, and the terminate call goes with keepalive', async () => {
    const calls: { method: string; keepalive: boolean }[] = [];
    const nativeFetch = window.fetch;
    window.fetch = (input, init) => {
      calls.push({ method: init?.method ?? 'GET', keepalive: init?.keepalive === true });
      return nativeFetch(input, init);
    };
    restores.push(() => (window.fetch = nativeFetch));
    const { sim, element } = await player({});
    await oneEvent(element, 'kit-connected');
    const ended = oneEvent(element, 'kit-session-ended');
    window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false }));
    expect((await ended).detail).to.include({ reason: 'pagehide', terminated: true });
    expect(element.state).to.equal('ended');
    await waitUntil(async () => (await sim.sessions()).length === 0, 'not terminated', { timeout: 3000 });
    const deletes = calls.filter((call) => call.method === 'DELETE');
    expect(deletes.length).to.be.greaterThan(0);
    expect(
      deletes.every((call) => call.keepalive),
      'every terminate call with keepalive',
    ).to.equal(true);
  });
});

describe('<theta-live-setup> when every call fails once', function () {
  this.timeout(20_000);

  const root = (element: ThetaLiveSetup) => element.shadowRoot!;
  const button = (element: ThetaLiveSetup, name: string) =>
    [...root(element).querySelectorAll('button')].find((candidate) => candidate.textContent?.trim() === name);
  async function press(element: ThetaLiveSetup, name: string): Promise<void> {
    await waitUntil(() => button(element, name) && !button(element, name)!.disabled, `no "${name}" button`, { timeout: 8000 });
    button(element, name)!.click();
  }

  it('Retry goes on from each failure, and nothing is done twice: one stream, one selection, one release, one deletion', async () => {
    const sim = await ThetaSimulatorHandle.start();
    theta = sim;
    const failOnce = (method: string, path: string) =>
      sim.fault({ method, path, status: 500, body: '{"status":"error","message":"Edge network is having a moment"}' });
    for (const [method, path] of [
      ['GET', '^/service_account/'],
      ['POST', '^/stream$'],
      ['GET', '^/ingestor/filter$'],
      ['PUT', '/select$'],
      ['GET', '^/stream/[^/]+$'],
    ])
      await failOnce(method!, path!);
    const element = document.createElement('theta-live-setup');
    element.setAttribute('api-base', sim.apiBase);
    element.setAttribute('poll-interval', '250');
    const failed: string[] = [];
    element.addEventListener('theta-error', (event) => failed.push(event.detail.action));
    players.push(element);
    document.body.append(element);

    await press(element, 'Retry');
    await waitUntil(() => root(element).querySelector('input'), 'no stream form', { timeout: 8000 });
    root(element).querySelector('input')!.value = 'Once';
    await press(element, 'Create stream');
    await press(element, 'Retry');
    await press(element, 'Retry');
    const selected = oneEvent(element, 'theta-ingestor-selected');
    await press(element, 'Select');
    await press(element, 'Retry');
    const { streamId, ingestorId } = (await selected).detail;
    await press(element, 'Retry');
    await waitUntil(() => !root(element).querySelector('[role="alert"]') && element.currentStep === 'live', 'not live without an error');

    type Answer<T> = { body: T };
    const streams = await sim.api<Answer<{ streams: { id: string }[] }>>('GET', `/service_account/${sim.serviceAccountId}/streams`);
    expect(streams.body.streams.map((stream) => stream.id)).to.deep.equal([streamId]);
    const stream = await sim.api<Answer<{ stream_server: string | null }>>('GET', `/stream/${streamId}`);
    expect(stream.body.stream_server, 'the stream has its ingestor').to.be.a('string');

    await failOnce('PUT', '/unselect$');
    const released = oneEvent(element, 'theta-ingestor-unselected');
    await press(element, 'Unselect');
    await press(element, 'Retry');
    expect((await released).detail.ingestorId).to.equal(ingestorId);
    await waitUntil(() => element.currentStep === 'ingestor', 'not back at the ingestor step', { timeout: 8000 });
    await press(element, 'Back');
    await failOnce('DELETE', '^/stream/[^/]+$');
    const deleted = oneEvent(element, 'theta-stream-deleted');
    await press(element, 'Delete');
    await press(element, 'Delete stream');
    await press(element, 'Retry');
    expect((await deleted).detail.streamId).to.equal(streamId);
    const left = await sim.api<Answer<{ streams: unknown[] }>>('GET', `/service_account/${sim.serviceAccountId}/streams`);
    expect(left.body.streams).to.deep.equal([]);
    expect(failed).to.deep.equal([
      'list-streams',
      'create-stream',
      'list-ingestors',
      'select-ingestor',
      'watch-stream',
      'unselect-ingestor',
      'delete-stream',
    ]);
  });
});
