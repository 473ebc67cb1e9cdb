import { expect, oneEvent, waitUntil } from '@open-wc/testing';
import '../../src/theta-live-setup/index.js';
import type { ThetaStreamCreatedDetail } from '../../src/theta-live-setup/events.js';
import type { ThetaLiveSetup } from '../../src/theta-live-setup/index.js';
import { ThetaSimulatorHandle } from '../support/simulators.js';

/**
 * The Theta faults of the fault matrix where the service and the page disagree: a create the service carried out but
 * whose answer was lost, a selection the service let lapse while the page still counted down, a stream deleted while
 * the go-live step showed it or before saved progress resumed it, a selection the page remembers for another stream
 * or for a deleted one, and a release of what the service freed already. Each test drives the element against the
 * simulator behind the proxy.
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
const buttons = (element: ThetaLiveSetup, name: string) =>
  [...root(element).querySelectorAll('button')].filter((candidate) => candidate.textContent?.trim() === name);
const button = (element: ThetaLiveSetup, name: string) => buttons(element, name)[0];
const alert = (element: ThetaLiveSetup) => root(element).querySelector('[role="alert"]');
const announced = (element: ThetaLiveSetup) => root(element).querySelector('[role="status"]')?.textContent;

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
  const element = mount(sim);
  await until(() => element.currentStep === 'stream' && !text(element).includes('Loading'), 'the streams were not listed');
  return { element, sim };
}

/** An element on `sim`, in the page; `listen` adds listeners before it begins. */
function mount(sim: ThetaSimulatorHandle, listen?: (element: ThetaLiveSetup) => void): ThetaLiveSetup {
  const element = document.createElement('theta-live-setup');
  element.setAttribute('api-base', sim.apiBase);
  element.setAttribute('poll-interval', '250');
  listen?.(element);
  elements.push(element);
  document.body.append(element);
  return element;
}

/** The details of `element`'s events of these names from now on, by name. */
function record(element: ThetaLiveSetup, names: Array<keyof HTMLElementEventMap>): Record<string, unknown[]> {
  const seen: Record<string, unknown[]> = {};
  for (const name of names) {
    seen[name] = [];
    element.addEventListener(name, (event) => seen[name].push((event as CustomEvent).detail));
  }
  return seen;
}

/** The progress the element saved (it saves under one key). */
const savedProgress = () => JSON.parse(sessionStorage.getItem(sessionStorage.key(0)!)!) as Record<string, unknown>;

/** Goes back from the go-live step to the stream step, which lists the account's streams. */
async function backToStreams(element: ThetaLiveSetup): Promise<void> {
  await press(element, 'Back');
  await until(() => element.currentStep === 'ingestor', 'not back at the ingestor step');
  await press(element, 'Back');
  await until(() => element.currentStep === 'stream' && button(element, 'Use this stream'), 'the streams were not listed');
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
    expect(alert(element), 'an error box').to.equal(null);
    expect(announced(element)).to.equal('Show was deleted.');
    expect(sessionStorage.length, 'saved progress').to.equal(0);
    await until(() => text(element).includes('No streams yet'), 'the deleted stream is still listed');
  });

  it('resumes saved progress of a stream deleted since at the stream step, named or not, without an error', async () => {
    const { element, sim } = await setup();
    const selected = oneEvent(element, 'theta-ingestor-selected');
    const streamId = await goLive(element);
    const { ingestorId } = (await selected).detail;
    const storageKey = sessionStorage.key(0)!;
    // As saved before selections named their stream, and without a name.
    const nameless = JSON.stringify({ streamId, ingestorId, selectedAt: Date.now() });
    element.remove();
    await sim.api('DELETE', `/stream/${streamId}`);

    for (const [name, announcement] of [
      ['named', 'Show was deleted.'],
      ['nameless', 'The saved stream was deleted.'],
    ]) {
      if (name === 'nameless') sessionStorage.setItem(storageKey, nameless);
      let events: Record<string, unknown[]> = {};
      const reloaded = mount(sim, (element) => (events = record(element, ['theta-stream-deleted', 'theta-error'])));
      await until(() => announced(reloaded) === announcement || alert(reloaded), `${name}: the deletion was not announced`);
      expect(alert(reloaded)?.textContent, `${name}: an error box`).to.equal(undefined);
      expect(reloaded.currentStep, name).to.equal('stream');
      expect(events['theta-stream-deleted'], name).to.deep.equal([{ streamId }]);
      expect(events['theta-error'], name).to.deep.equal([]);
      expect(sessionStorage.length, `${name}: saved progress`).to.equal(0);
      await until(() => text(reloaded).includes('No streams yet'), `${name}: the streams were not listed`);
      reloaded.remove();
    }
  });

  it("selects the same ingestor for another stream afresh: that stream's key, the first stream's selection released", async () => {
    const { element, sim } = await setup();
    const first = oneEvent(element, 'theta-ingestor-selected');
    const firstStreamId = await goLive(element);
    const { ingestorId, key: firstKey } = (await first).detail;
    await backToStreams(element);
    await createStream(element, 'Other');
    await until(() => element.currentStep === 'ingestor' && button(element, 'Select'), 'no ingestors for the other stream');
    const events = record(element, ['theta-ingestor-selected', 'theta-ingestor-unselected', 'theta-error']);

    await press(element, 'Select');
    await until(() => element.currentStep === 'live' || alert(element), 'neither went on nor failed');
    expect(events['theta-ingestor-selected'], 'selections').to.have.length(1);
    const [selected] = events['theta-ingestor-selected'] as Array<{ streamId: string; ingestorId: string; key: string }>;
    expect(selected.streamId).not.to.equal(firstStreamId);
    expect(selected.ingestorId).to.equal(ingestorId);
    expect(events['theta-ingestor-unselected']).to.deep.equal([{ streamId: firstStreamId, ingestorId }]);
    expect(events['theta-error']).to.deep.equal([]);
    const other = (await sim.api<Answer<{ stream_key: string }>>('GET', `/stream/${selected.streamId}`)).body;
    expect(selected.key).to.equal(other.stream_key);
    expect(selected.key).not.to.equal(firstKey);
    await press(element, 'Show key');
    await until(() => text(element).includes(other.stream_key), "the other stream's key is not shown");
    expect(text(element)).not.to.contain(firstKey);
    const saved = savedProgress().selection;
    expect(saved).to.deep.include({ streamId: selected.streamId, ingestorId });
    expect(saved, 'what is fetched again').not.to.have.any.keys('server', 'key');
  });

  it('never releases the selection of a deleted stream, and takes a release answered 404 as done', async () => {
    const { element, sim } = await setup();
    await goLive(element);
    await backToStreams(element);
    await press(element, 'Delete');
    await press(element, 'Delete stream');
    await until(() => text(element).includes('No streams yet'), 'the stream was not deleted');
    await createStream(element, 'Other');
    await until(() => buttons(element, 'Select').length > 1, 'no ingestors for the other stream');
    const events = record(element, ['theta-ingestor-selected', 'theta-ingestor-unselected', 'theta-error']);

    // Not the ingestor the deleted stream had: the service freed that one with the stream.
    buttons(element, 'Select')[1].click();
    await until(() => element.currentStep === 'live' || alert(element), 'neither went on nor failed');
    expect(events['theta-error']).to.deep.equal([]);
    expect(events['theta-ingestor-unselected'], 'a release').to.deep.equal([]);
    const [selected] = events['theta-ingestor-selected'] as Array<{ streamId: string; ingestorId: string }>;

    // The service answers a release with 404, as for an ingestor it freed already.
    await sim.fault({ method: 'PUT', path: '/unselect$', status: 404, body: '{"status":"error","message":"Not found"}' });
    await press(element, 'Unselect');
    await until(() => element.currentStep === 'ingestor', 'not back at the ingestor step');
    expect(events['theta-ingestor-unselected']).to.deep.equal([{ streamId: selected.streamId, ingestorId: selected.ingestorId }]);
    expect(events['theta-error']).to.deep.equal([]);
    expect(alert(element), 'an error box').to.equal(null);
  });
});
