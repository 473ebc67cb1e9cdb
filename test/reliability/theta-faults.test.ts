import { expect, oneEvent, waitUntil } from '@open-wc/testing';
import '../../src/theta-live-setup/index.js';
import type { ThetaStreamCreatedDetail } from '../../src/theta-live-setup/events.js';
import type { ThetaLiveSetup } from '../../src/theta-live-setup/index.js';
import { ThetaSimulatorHandle } from '../support/simulators.js';

/**
 * The Theta faults of the fault matrix where the service and the page disagree: a create the service carried out but
 * whose answer was lost, a selection the service let lapse while the page still counted down, and a stream deleted
 * while the go-live step showed it. Each test drives the element against the simulator behind the proxy.
 */

let simulator: ThetaSimulatorHandle | undefined;
const elements: ThetaLiveSetup[] = [];

afterEach(async () => {
  for (const element of elements.splice(0)) element.remove();
  sessionStorage.clear();
  await simulator?.close();
  simulator = undefined;
});

type Answer<T> = { body: T };
type Listed = { id: string; name: string };

const root = (element: ThetaLiveSetup) => element.shadowRoot!;
const text = (element: ThetaLiveSetup) => root(element).textContent?.replace(/\s+/g, ' ') ?? '';
const button = (element: ThetaLiveSetup, name: string) =>
  [...root(element).querySelectorAll('button')].find((candidate) => candidate.textContent?.trim() === name);

async function until(condition: () => unknown, message: string, timeout = 5000): Promise<void> {
  await waitUntil(condition, message, { timeout, interval: 25 });
}

async function press(element: ThetaLiveSetup, name: string): Promise<void> {
  await until(() => button(element, name) && !button(element, name)!.disabled, `no "${name}" button`);
  button(element, name)!.click();
}

/** A simulator with `options` (and what `prepare` adds), and an element on it that has listed the account's streams. */
async function setup(
  options: Record<string, unknown> = {},
  prepare?: (sim: ThetaSimulatorHandle) => Promise<unknown>,
): Promise<{ element: ThetaLiveSetup; sim: ThetaSimulatorHandle }> {
  const sim = (simulator = await ThetaSimulatorHandle.start(options));
  await prepare?.(sim);
  const element = document.createElement('theta-live-setup');
  element.setAttribute('api-base', sim.apiBase);
  element.setAttribute('poll-interval', '250');
  elements.push(element);
  document.body.append(element);
  await until(() => element.currentStep === 'stream' && !text(element).includes('Loading'), 'the streams were not listed');
  return { element, sim };
}

async function createStream(element: ThetaLiveSetup, name: string): Promise<void> {
  root(element).querySelector('input')!.value = name;
  await press(element, 'Create stream');
}

/** Creates a stream and selects the nearest ingestor; the stream's id. */
async function goLive(element: ThetaLiveSetup): Promise<string> {
  await createStream(element, 'Show');
  const selected = oneEvent(element, 'theta-ingestor-selected');
  await press(element, 'Select');
  return (await selected).detail.streamId;
}

const accountStreams = async (sim: ThetaSimulatorHandle) =>
  (await sim.api<Answer<{ streams: Listed[] }>>('GET', `/service_account/${sim.serviceAccountId}/streams`)).body.streams;

describe('<theta-live-setup> when the service and the page disagree', function () {
  this.timeout(15_000);

  it('Retry after a create whose answer was lost adopts the stream the service made, and makes no second one', async () => {
    // An older stream of the same name, listed before the attempt: never the one to adopt.
    let older: Listed | undefined;
    const { element, sim } = await setup(
      {},
      async (sim) => (older = (await sim.api<Answer<Listed>>('POST', '/stream', { name: 'Show' })).body),
    );
    const created: ThetaStreamCreatedDetail[] = [];
    element.addEventListener('theta-stream-created', (event) => created.push(event.detail));
    // The service creates the stream; its answer is cut after 5 bytes and the connection reset.
    await sim.fault({ method: 'POST', path: '^/stream$', truncate: { afterBytes: 5, then: 'reset' } });
    const lost = oneEvent(element, 'theta-error');
    await createStream(element, 'Show');
    expect((await lost).detail).to.include({ action: 'create-stream', code: 'server-error', status: 502 });
    const made = (await accountStreams(sim)).find((stream) => stream.name === 'Show' && stream.id !== older!.id);
    expect(made, 'the service made the stream').to.exist;

    await press(element, 'Retry');
    await until(() => element.currentStep === 'ingestor', 'the adopted stream was not used');
    expect(created.map((detail) => detail.stream.id)).to.deep.equal([made!.id]);
    expect((await accountStreams(sim)).map((stream) => stream.id).sort()).to.deep.equal([older!.id, made!.id].sort());
  });

  it('shows a selection the service let lapse as expired at once, whatever the countdown says', async () => {
    const { element } = await setup({ selectionTtlMs: 1000 });
    await goLive(element);
    await until(() => text(element).includes('selection expired'), 'the lapsed selection was still offered');
    expect(element.currentStep).to.equal('live');
    expect(root(element).querySelector('[part="credentials"]'), 'the server and key of a lapsed selection').to.equal(null);
    expect(text(element)).not.to.contain('expires in');
    expect(button(element, 'Select again')).to.exist;
    // The element's own countdown (selection-timeout, 5 minutes) was far from over; a reload offers it no more either.
    expect(sessionStorage.length).to.equal(1);
    expect(JSON.parse(sessionStorage.getItem(sessionStorage.key(0)!)!)).not.to.have.property('ingestorId');
  });

  it('goes back to the stream step when the stream is deleted elsewhere, as its own Delete does', async () => {
    const { element, sim } = await setup();
    const streamId = await goLive(element);
    expect(sessionStorage.length, 'progress saved').to.equal(1);
    const deleted: string[] = [];
    element.addEventListener('theta-stream-deleted', (event) => deleted.push(event.detail.streamId));
    await sim.api('DELETE', `/stream/${streamId}`);
    await until(() => element.currentStep === 'stream', 'not back at the stream step');
    expect(deleted).to.deep.equal([streamId]);
    await element.updateComplete;
    expect(root(element).querySelector('[role="alert"]'), 'an error box').to.equal(null);
    expect(root(element).querySelector('[role="status"]')?.textContent).to.equal('Show was deleted.');
    expect(sessionStorage.length, 'saved progress').to.equal(0);
    await until(() => text(element).includes('No streams yet'), 'the deleted stream is still listed');
  });
});
