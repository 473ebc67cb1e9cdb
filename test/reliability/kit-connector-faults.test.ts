/**
 * Faults the built-in connector must end quickly and clearly, with the Kit simulator's scripted faults: an offer
 * without video, a `control_channel` that never opens, and a frozen tab whose signaling the service let go of. Each is
 * reported at once and recovered by the element's reconnect path. The decisions behind them have Node tests
 * (test/kit-stream-player/kit-signaling-connector.node.test.ts).
 */
import { expect, oneEvent, waitUntil } from '@open-wc/testing';
import { executeServerCommand } from '@web/test-runner-commands';
import '../../src/kit-stream-player/index.js';
import { KitSignalingConnector, type KitStreamPlayer } from '../../src/kit-stream-player/index.js';
import type { KitDisconnectedDetail, KitMessageDetail } from '../../src/kit-stream-player/events.js';
import { KitSimulatorHandle } from '../support/simulators.js';

let simulator: KitSimulatorHandle | undefined;
let tab: (Window & { KitSignalingConnector?: typeof KitSignalingConnector }) | undefined;
const restores: (() => void)[] = [];

afterEach(async () => {
  for (const restore of restores.splice(0)) restore();
  tab?.close();
  tab = undefined;
  await simulator?.close();
  simulator = undefined;
});

/** A simulator with one ready session whose media has `fault` armed before any client signs in. */
async function sessionWithFault(fault: string): Promise<{ sim: KitSimulatorHandle; id: string }> {
  const sim = (simulator = await KitSimulatorHandle.start({ readyAfterMs: 0, media: {} }));
  const response = await fetch(`${sim.url}/stream`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'usd-viewer', profile: 'default' }),
  });
  const { id } = (await response.json()) as { id: string };
  await sim.sessionFault(id, fault);
  return { sim, id };
}

/** A player in `page` with `attributes`, recording what it reports. */
function attach(page: Document, attributes: Record<string, string>, connector?: KitSignalingConnector) {
  const element = page.createElement('kit-stream-player') as KitStreamPlayer;
  element.style.cssText = 'display: block; width: 640px; height: 240px';
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  if (connector) element.connector = connector;
  const disconnects: KitDisconnectedDetail[] = [];
  const errors: Array<{ code: string; message: string }> = [];
  element.addEventListener('kit-disconnected', (event) => disconnects.push((event as CustomEvent<KitDisconnectedDetail>).detail));
  element.addEventListener('kit-error', (event) => errors.push((event as CustomEvent<{ code: string; message: string }>).detail));
  page.body.append(element);
  restores.push(() => element.remove());
  return { element, disconnects, errors };
}

/** Sends `loadingStateQuery` and resolves with the app's answer. */
function askTheApp(element: KitStreamPlayer): Promise<KitMessageDetail> {
  const answer = new Promise<KitMessageDetail>((resolve) => {
    const listener = (event: Event) => {
      const { detail } = event as CustomEvent<KitMessageDetail>;
      if (detail.eventType !== 'loadingStateResponse') return;
      element.removeEventListener('kit-message', listener);
      resolve(detail);
    };
    element.addEventListener('kit-message', listener);
  });
  element.sendMessage('loadingStateQuery', {});
  return answer;
}

describe('Kit connector faults', function () {
  this.timeout(15_000);

  it('an offer without video is refused at once: an error naming it, and Retry streams', async () => {
    const { sim, id } = await sessionWithFault('offer-without-video');
    const startedAt = performance.now();
    const { element, disconnects } = attach(document, { server: sim.url, 'session-id': id, 'max-reconnects': '0' });
    const error = await oneEvent(element, 'kit-error');
    expect(performance.now() - startedAt, 'ms to the error').to.be.below(5000);
    expect(error.detail).to.include({ code: 'connection', message: 'The stream was lost: The server offered no video.' });
    expect(disconnects.map(({ reason, message }) => ({ reason, message }))).to.deep.equal([
      { reason: 'connect-failed', message: 'The server offered no video.' },
    ]);
    expect(element.state).to.equal('error');
    // The offer was refused before it was answered.
    expect(
      (await sim.inspect<Array<{ direction: string; message: unknown }>>(id, 'envelopes')).some(({ message }) =>
        /answer/.test(JSON.stringify(message)),
      ),
    ).to.equal(false);
    await element.updateComplete;
    [...element.shadowRoot!.querySelectorAll('button')].find((button) => button.textContent?.trim() === 'Retry')!.click();
    await oneEvent(element, 'kit-connected');
    expect(element.state).to.equal('streaming');
  });

  it('a control_channel that never opens ends the connection, counting the messages not sent, and the reconnect delivers them again', async () => {
    const { sim, id } = await sessionWithFault('no-control-channel');
    const { element, disconnects, errors } = attach(
      document,
      { server: sim.url, 'session-id': id },
      new KitSignalingConnector({ controlChannelTimeoutMs: 1000 }),
    );
    await oneEvent(element, 'kit-connected');
    for (let index = 0; index < 70; index++) element.sendMessage('loadingStateQuery', { index });
    const lost = await oneEvent(element, 'kit-disconnected');
    expect(lost.detail).to.include({
      reason: 'connect-timeout',
      message: 'No message channel to the app within 1 s; 70 messages not sent.',
    });
    await oneEvent(element, 'kit-connected');
    expect((await askTheApp(element)).payload).to.have.property('loading_state');
    expect(disconnects).to.have.length(1);
    expect(errors).to.deep.equal([]);
    expect(await sim.inspect(id, 'violations')).to.deep.equal([]);
  });

  it('a frozen tab whose signaling the service let go of reconnects within seconds of its resume', async () => {
    const sim = (simulator = await KitSimulatorHandle.start({ readyAfterMs: 0, media: {} }));
    // The elements live in a window of their own: freezing this page would cut the test runner off.
    const opened = (tab = window.open('', 'kit-connector-faults') as typeof tab);
    if (!opened) throw new Error('window.open gave no window');
    const script = opened.document.createElement('script');
    script.type = 'module';
    script.textContent = `import { KitSignalingConnector } from ${JSON.stringify(new URL('../../src/kit-stream-player/index.ts', import.meta.url).href)};
      window.KitSignalingConnector = KitSignalingConnector;`;
    opened.document.head.append(script);
    await waitUntil(() => opened.KitSignalingConnector, 'the element was not defined in the tab', { timeout: 5000 });
    let resumedAt = 0;
    opened.document.addEventListener('resume', () => (resumedAt = performance.now()));
    // The default disconnectedTimeoutMs (10 s): before the connector gave up on refused re-opens, the frozen picture
    // lasted until ICE's consent check failed and 10 s more.
    const { element, disconnects, errors } = attach(
      opened.document,
      { server: sim.url, 'app-id': 'usd-viewer', profile: 'default' },
      new opened.KitSignalingConnector!(),
    );
    await oneEvent(element, 'kit-connected');
    const id = element.sessionId;

    const streamingAgain = oneEvent(element, 'kit-connected');
    for (const payload of [{ state: 'hidden' }, { state: 'frozen', forMs: 1000 }, { state: 'visible' }]) {
      await executeServerCommand('page-lifecycle', payload);
    }
    expect(resumedAt, 'the tab was frozen and resumed').to.be.above(0);
    await streamingAgain;
    const secondsToPicture = (performance.now() - resumedAt) / 1000;
    expect(secondsToPicture, 's from the resume to the picture').to.be.below(6);
    expect(disconnects.map(({ reason, message }) => ({ reason, message }))).to.deep.equal([
      { reason: 'signaling-closed', message: 'Signaling closed (1006), and no video arrives.' },
    ]);
    expect(element.sessionId).to.equal(id);
    expect(element.state).to.equal('streaming');
    expect(errors).to.deep.equal([]);
  });
});
