import { expect, oneEvent, waitUntil } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import '../../src/theta-live-setup/index.js';
import type { ThetaLiveSetup } from '../../src/theta-live-setup/index.js';
import type { HlsLibrary, HlsPlayer } from '../../src/theta-live-setup/index.js';
import type { ThetaErrorDetail, ThetaIngestorSelectedDetail, ThetaStatusChangeDetail } from '../../src/theta-live-setup/events.js';
import { ThetaSimulatorHandle } from '../support/simulators.js';

let simulator: ThetaSimulatorHandle | undefined;
const elements: ThetaLiveSetup[] = [];

async function setup(
  options: Record<string, unknown> = {},
  attributes: Record<string, string> = {},
  configure?: (element: ThetaLiveSetup, sim: ThetaSimulatorHandle) => void,
): Promise<{ element: ThetaLiveSetup; sim: ThetaSimulatorHandle }> {
  const sim = simulator ?? (await ThetaSimulatorHandle.start(options));
  simulator = sim;
  const element = document.createElement('theta-live-setup');
  element.setAttribute('api-base', sim.apiBase);
  element.setAttribute('poll-interval', '250');
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  configure?.(element, sim);
  elements.push(element);
  document.body.append(element);
  await element.updateComplete;
  return { element, sim };
}

const root = (element: ThetaLiveSetup) => element.shadowRoot!;
const text = (element: ThetaLiveSetup) => root(element).textContent?.replace(/\s+/g, ' ') ?? '';
const buttons = (element: ThetaLiveSetup, name: string) =>
  [...root(element).querySelectorAll('button')].filter((button) => button.textContent?.trim() === name);
const button = (element: ThetaLiveSetup, name: string) => buttons(element, name)[0];
const preview = (element: ThetaLiveSetup) => root(element).querySelector<HTMLVideoElement>('video[part="preview"]');
const errorText = (element: ThetaLiveSetup) => root(element).querySelector('[role="alert"] p')?.textContent?.trim() ?? '';

async function until(condition: () => boolean | Promise<boolean>, message: string, timeout = 8000): Promise<void> {
  await waitUntil(condition, message, { timeout, interval: 25 });
}

async function untilButton(element: ThetaLiveSetup, name: string): Promise<HTMLButtonElement> {
  await until(() => button(element, name) !== undefined && !button(element, name).disabled, `no "${name}" button`);
  return button(element, name);
}

/** A setup whose simulator already has `fault` armed, and the first `theta-error` it reports. */
async function setupWithFault(
  fault: Record<string, unknown>,
): Promise<{ element: ThetaLiveSetup; sim: ThetaSimulatorHandle; firstError: Promise<CustomEvent<ThetaErrorDetail>> }> {
  const sim = await ThetaSimulatorHandle.start();
  simulator = sim;
  await sim.fault(fault);
  const firstError = new Promise<CustomEvent<ThetaErrorDetail>>((resolve) =>
    document.addEventListener('theta-error', (event) => resolve(event), { once: true }),
  );
  const { element } = await setup();
  return { element, sim, firstError };
}

async function createStream(element: ThetaLiveSetup, name: string): Promise<void> {
  await until(() => element.currentStep === 'stream' && root(element).querySelector('input') !== null, 'no stream form');
  const input = root(element).querySelector('input')!;
  input.value = name;
  (await untilButton(element, 'Create stream')).click();
}

/** Creates a stream, selects the nearest ingestor, and returns the selection event's detail. */
async function goLive(element: ThetaLiveSetup, name = 'Evening show'): Promise<ThetaIngestorSelectedDetail> {
  await createStream(element, name);
  const selected = oneEvent(element, 'theta-ingestor-selected');
  (await untilButton(element, 'Select')).click();
  return (await selected).detail;
}

/** Publishes the test pattern to the selection, as OBS would, and waits for the element to see the stream live. */
async function publish(
  element: ThetaLiveSetup,
  sim: ThetaSimulatorHandle,
  selected: ThetaIngestorSelectedDetail,
): Promise<ThetaStatusChangeDetail> {
  const on = oneEvent(element, 'theta-status-change');
  await sim.publish(`${selected.server}/${selected.key}`);
  const live = (await on).detail;
  expect(live.status).to.equal('on');
  return live;
}

/** Turns the stream on without a publisher: its playlist is live but never gets a segment. */
async function forceLive(element: ThetaLiveSetup, sim: ThetaSimulatorHandle, streamId: string): Promise<ThetaStatusChangeDetail> {
  const on = oneEvent(element, 'theta-status-change');
  await fetch(`${sim.simulatorUrl}/_control/streams/${streamId}/status`, { method: 'POST', body: '{"status":"on"}' });
  return (await on).detail;
}

// Every test's requests are counted from a clean slate, never dropped from a full buffer.
performance.setResourceTimingBufferSize(10_000);
beforeEach(() => performance.clearResourceTimings());

/**
 * Requests this page started for addresses under `prefix` since `since` (a `performance.now()` time), as Resource
 * Timing lists them. Entries are listed once their answer is complete, so count some time after `since`.
 */
const requestsTo = (prefix: string, since = 0) =>
  performance.getEntriesByType('resource').filter((entry) => entry.name.startsWith(prefix) && entry.startTime >= since).length;

/** A stand-in for hls.js that records what the element asks of it. */
function fakeHls() {
  const calls: Array<[string, unknown]> = [];
  class FakeHls implements HlsPlayer {
    static instances = 0;
    constructor() {
      FakeHls.instances++;
      calls.push(['new', undefined]);
    }
    loadSource(url: string) {
      calls.push(['loadSource', url]);
    }
    attachMedia(media: HTMLMediaElement) {
      calls.push(['attachMedia', media]);
    }
    on(event: string) {
      calls.push(['on', event]);
    }
    destroy() {
      calls.push(['destroy', undefined]);
    }
  }
  return { Hls: FakeHls as HlsLibrary, calls, called: (name: string) => calls.filter(([call]) => call === name) };
}

/** Makes this browser look like one without native HLS, as Firefox is, until the test ends. */
function withoutNativeHls(): void {
  const original = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type: string) {
    return /mpegurl/i.test(type) ? '' : original.call(this, type);
  };
  restores.push(() => (HTMLMediaElement.prototype.canPlayType = original));
}

const restores: Array<() => void> = [];

afterEach(async () => {
  for (const restore of restores.splice(0)) restore();
  for (const element of elements.splice(0)) element.remove();
  sessionStorage.clear();
  await simulator?.close();
  simulator = undefined;
});

describe('<theta-live-setup>', function () {
  this.timeout(30_000);

  it('creates a stream, lists ingestors nearest first with a map, and is accessible at each step', async () => {
    const { element } = await setup();
    await until(() => text(element).includes('No streams yet'), 'the empty list was not shown');
    await expect(element).to.be.accessible();
    const created = oneEvent(element, 'theta-stream-created');
    const chosen = oneEvent(element, 'theta-stream-selected');
    await createStream(element, 'Evening show');
    expect((await created).detail.stream).to.include({ name: 'Evening show', status: 'off' });
    expect((await chosen).detail.stream.name).to.equal('Evening show');
    await until(() => buttons(element, 'Select').length > 1, 'no ingestors listed');
    expect(element.currentStep).to.equal('ingestor');
    const rows = [...root(element).querySelectorAll('tbody tr')];
    expect(rows[0].textContent).to.contain('Nearest');
    expect(rows.slice(1).every((row) => !row.textContent!.includes('Nearest'))).to.equal(true);
    const map = root(element).querySelector('svg[part="map"]')!;
    expect(map.querySelectorAll('.map-point').length).to.equal(rows.length);
    expect(map.getAttribute('aria-label')).to.contain(`${rows.length} ingestors`);
    await expect(element).to.be.accessible();
  });

  it('shows the service message at the 3-stream limit and suggests reusing a stream', async () => {
    const sim = await ThetaSimulatorHandle.start();
    simulator = sim;
    for (const name of ['one', 'two', 'three']) await sim.api('POST', '/stream', { name });
    const { element } = await setup();
    await until(() => buttons(element, 'Use this stream').length === 3, 'the three streams were not listed');
    const error = oneEvent(element, 'theta-error');
    await createStream(element, 'four');
    expect((await error).detail.message).to.equal('Live stream limit reached - you already have 3/3 streams');
    await element.updateComplete;
    expect(errorText(element)).to.equal('Live stream limit reached - you already have 3/3 streams');
    expect(text(element)).to.contain('Reuse one of your streams');
    await expect(element).to.be.accessible();
    button(element, 'Use this stream').click();
    await until(() => element.currentStep === 'ingestor', 'reusing a stream did not move on');
  });

  it('never creates two streams from a double click', async () => {
    const { element, sim } = await setup();
    await sim.fault({ method: 'POST', path: '^/stream$', delayMs: 300 });
    await until(() => root(element).querySelector('input') !== null && button(element, 'Create stream') !== undefined, 'no form');
    root(element).querySelector('input')!.value = 'Once';
    button(element, 'Create stream').click();
    button(element, 'Create stream').click();
    await until(() => element.currentStep === 'ingestor', 'no stream created');
    const list = await sim.api<{ body: { streams: unknown[] } }>('GET', `/service_account/${sim.serviceAccountId}/streams`);
    expect(list.body.streams).to.have.length(1);
  });

  it('selects an ingestor, masks and reveals the key, copies server and key', async () => {
    const { element } = await setup();
    const selected = await goLive(element);
    expect(selected.server).to.match(/^rtmp:\/\/127\.0\.0\.1:\d+\/live$/);
    expect(selected.key).to.be.a('string').and.not.equal('');
    expect(selected.expiresAt).to.be.greaterThan(Date.now());
    await element.updateComplete;
    expect(element.currentStep).to.equal('live');
    expect(text(element)).to.contain(selected.server);
    expect(text(element)).not.to.contain(selected.key);
    expect(text(element)).to.contain('Settings > Stream');
    expect(text(element)).to.contain('Custom');
    expect(text(element)).to.match(/expires in [45]:\d\d/);
    await expect(element).to.be.accessible();

    button(element, 'Show key').click();
    await element.updateComplete;
    expect(text(element)).to.contain(selected.key);
    expect(button(element, 'Hide key')).to.exist;

    button(element, 'Copy server').click();
    await until(async () => (await navigator.clipboard.readText()) === selected.server, 'the server was not copied');
    button(element, 'Copy key').click();
    await until(async () => (await navigator.clipboard.readText()) === selected.key, 'the key was not copied');
    await until(() => root(element).querySelector('[role="status"]')!.textContent!.includes('copied'), 'the copy was not announced');
  });

  it('goes LIVE when a stream is published over RTMP, and says when it ended', async () => {
    const { element, sim } = await setup();
    const selected = await goLive(element);
    const on = oneEvent(element, 'theta-status-change');
    await sim.publish(`${selected.server}/${selected.key}`);
    const live = (await on).detail;
    expect(live.status).to.equal('on');
    expect(live.playbackUri).to.match(/\.m3u8$/);
    await element.updateComplete;
    expect(root(element).querySelector('[part="live-badge"]')?.textContent).to.equal('LIVE');
    expect(root(element).querySelector(`a[href="${live.playbackUri}"]`)).to.exist;
    await expect(element).to.be.accessible();
    const off = oneEvent(element, 'theta-status-change');
    await sim.stopPublishing();
    expect((await off).detail.status).to.equal('off');
    await element.updateComplete;
    expect(text(element)).to.contain('The stream ended');
  });

  it('says when an unused selection expired, and selects again', async () => {
    const { element } = await setup({ selectionTtlMs: 1200 }, { 'selection-timeout': '1200' });
    const first = await goLive(element);
    await until(() => text(element).includes('selection expired'), 'the expiry was not shown', 6000);
    await expect(element).to.be.accessible();
    // The service let it go: there is nothing to unselect, and asking it to would only fail.
    expect(buttons(element, 'Unselect')).to.have.length(0);
    const again = oneEvent(element, 'theta-ingestor-selected');
    button(element, 'Select again').click();
    const second = (await again).detail;
    expect(second.ingestorId).to.equal(first.ingestorId);
    expect(second.expiresAt).to.be.greaterThan(first.expiresAt);
    await element.updateComplete;
    expect(text(element)).to.match(/expires in 0:0[01]/);
  });

  it('unselects the ingestor and goes back through the steps', async () => {
    const { element } = await setup();
    const selected = await goLive(element);
    const released = oneEvent(element, 'theta-ingestor-unselected');
    button(element, 'Unselect').click();
    expect((await released).detail.ingestorId).to.equal(selected.ingestorId);
    await until(() => element.currentStep === 'ingestor', 'not back at the ingestor step');
    (await untilButton(element, 'Back')).click();
    await until(() => element.currentStep === 'stream', 'not back at the stream step');
    await until(() => buttons(element, 'Use this stream').length === 1, 'the stream list is missing the created stream');
  });

  it('keeps a stream created while the list was loading, when the list answers late', async () => {
    // The list is answered before the stream exists, but that answer reaches the element only after the creation.
    const nativeFetch = window.fetch;
    let created!: () => void;
    const creation = new Promise<void>((resolve) => (created = resolve));
    let listings = 0;
    let lateAnswerDelivered = false;
    window.fetch = async (input, init) => {
      const response = await nativeFetch(input, init);
      if (!/\/streams$/.test(String(input)) || listings++ > 0) return response;
      const body = await response.text();
      await creation;
      lateAnswerDelivered = true;
      return new Response(body, response);
    };
    restores.push(() => (window.fetch = nativeFetch));
    const { element } = await setup();
    const event = oneEvent(element, 'theta-stream-created');
    await createStream(element, 'Made during the listing');
    const { stream } = (await event).detail;
    created();
    await until(() => lateAnswerDelivered, 'the late list answer was not delivered');
    await new Promise((resolve) => setTimeout(resolve, 100));
    (await untilButton(element, 'Back')).click();
    await until(() => element.currentStep === 'stream', 'not back at the stream step');
    await until(() => buttons(element, 'Use this stream').length === 1, 'the stream list lost the created stream');
    expect(root(element).querySelector(`#stream-${stream.id}`)?.textContent).to.equal('Made during the listing');
    expect(listings, 'the list was asked for again').to.equal(2);
  });

  it('resumes after a reload from sessionStorage, without storing the key', async () => {
    const { element, sim } = await setup();
    const selected = await goLive(element);
    const saved = JSON.stringify({ ...sessionStorage });
    expect(saved).not.to.contain(selected.key);
    expect(saved).not.to.contain(sim.secret);
    element.remove();
    const { element: reloaded } = await setup();
    await until(() => reloaded.currentStep === 'live', 'did not resume at the go-live step');
    await until(() => text(reloaded).includes(selected.server), 'the server was not shown again');
    expect(text(reloaded)).to.match(/expires in [45]:\d\d/);
  });

  it('begins again when api-base changes, and uses properties set right after insertion', async () => {
    const first = await ThetaSimulatorHandle.start();
    const second = await ThetaSimulatorHandle.start();
    try {
      await first.api('POST', '/stream', { name: 'On the first service' });
      await second.api('POST', '/stream', { name: 'On the second service' });
      const element = document.createElement('theta-live-setup');
      elements.push(element);
      document.body.append(element);
      // A framework sets properties after inserting the element: the default api-base is never called.
      element.apiBase = first.apiBase;
      await until(() => text(element).includes('On the first service'), 'the first service was not listed');
      element.apiBase = second.apiBase;
      await until(() => text(element).includes('On the second service'), 'the second service was not listed');
      expect(text(element)).not.to.contain('On the first service');
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('resumes LIVE after a reload, however long ago the ingestor was selected', async () => {
    // The service keeps the selection long enough for a publisher that starts late on a loaded machine; the element's
    // own window is 1 s, and is over before the reload.
    const { element, sim } = await setup({ selectionTtlMs: 60_000 }, { 'selection-timeout': '1000' });
    const selected = await goLive(element);
    const on = oneEvent(element, 'theta-status-change');
    await sim.publish(`${selected.server}/${selected.key}`);
    expect((await on).detail.status).to.equal('on');
    await until(() => Date.now() > selected.expiresAt + 100, 'the selection window did not pass', 3000);
    element.remove();
    const { element: reloaded } = await setup({}, { 'selection-timeout': '1000' });
    await until(
      () => reloaded.currentStep === 'live' && root(reloaded).querySelector('[part="live-badge"]') !== null,
      'LIVE was not resumed',
    );
    await sim.stopPublishing();
  });

  it('uses a secret set before the element was defined, and keeps it off the element', async () => {
    const sim = await ThetaSimulatorHandle.start();
    simulator = sim;
    await sim.api('POST', '/stream', { name: 'Direct' });
    // An element created in an inert document is upgraded only once it joins this one.
    const early = document.implementation.createHTMLDocument('').createElement('theta-live-setup') as ThetaLiveSetup;
    Object.assign(early, { serviceAccountSecret: sim.secret });
    early.setAttribute('api-base', sim.simulatorUrl);
    early.setAttribute('service-account-id', sim.serviceAccountId);
    elements.push(early);
    document.body.append(early);
    await until(() => text(early).includes('Direct'), 'the account was not listed with the early secret');
    expect(Object.keys(early)).not.to.include('serviceAccountSecret');
    expect(Object.getOwnPropertyDescriptor(early, 'serviceAccountSecret')).to.equal(undefined);
  });

  it('starts at the ingestor step with stream-id', async () => {
    const sim = await ThetaSimulatorHandle.start();
    simulator = sim;
    const created = await sim.api<{ body: { id: string } }>('POST', '/stream', { name: 'Preset' });
    const { element } = await setup({}, { 'stream-id': created.body.id });
    await until(() => element.currentStep === 'ingestor' && buttons(element, 'Select').length > 0, 'did not start at the ingestor step');
    expect(text(element)).to.contain('Preset');
  });

  describe('errors', () => {
    const failures = [
      { step: 'listing streams', path: '^/service_account/', method: 'GET' },
      { step: 'listing ingestors', path: '^/ingestor/filter$', method: 'GET' },
      { step: 'selecting an ingestor', path: '/select$', method: 'PUT' },
    ];
    for (const { step, path, method } of failures) {
      it(`shows the service message when ${step} fails, and Retry recovers`, async () => {
        const { element, firstError: error } = await setupWithFault({
          method,
          path,
          status: 500,
          body: '{"status":"error","message":"Edge network is having a moment"}',
          contentType: 'application/json',
        });
        if (step !== 'listing streams') await createStream(element, 'Show');
        if (step === 'selecting an ingestor') (await untilButton(element, 'Select')).click();
        const detail = (await error).detail;
        expect(detail.message).to.equal('Edge network is having a moment');
        expect(detail.status).to.equal(500);
        await element.updateComplete;
        expect(errorText(element)).to.equal('Edge network is having a moment');
        await expect(element).to.be.accessible();
        button(element, 'Retry').click();
        await until(() => !root(element).querySelector('[role="alert"]'), 'Retry did not clear the error');
      });
    }

    it('says so when the service answers with an HTML page', async () => {
      const { element, firstError } = await setupWithFault({
        method: 'GET',
        path: '^/service_account/',
        status: 502,
        body: '<html><body><h1>Bad gateway</h1></body></html>',
        contentType: 'text/html',
      });
      expect((await firstError).detail.message).to.contain('HTML page instead of JSON');
      await element.updateComplete;
      expect(errorText(element)).to.contain('HTML page instead of JSON');
    });

    it('shows the unselect refusal from the service', async () => {
      const { element, sim } = await setup();
      await goLive(element);
      await sim.fault({
        method: 'PUT',
        path: '/unselect$',
        status: 403,
        body: '{"status":"error","message":"You are not authorized to unselect this ingestor"}',
        contentType: 'application/json',
      });
      button(element, 'Unselect').click();
      await until(() => errorText(element) === 'You are not authorized to unselect this ingestor', 'the refusal was not shown');
      expect(element.currentStep).to.equal('live');
    });
  });

  it('renders an error message containing HTML as text', async () => {
    const { element, firstError } = await setupWithFault({
      method: 'GET',
      path: '^/service_account/',
      status: 500,
      body: '{"status":"error","message":"<img src=x onerror=alert(1)>Broken"}',
      contentType: 'application/json',
    });
    await firstError;
    await element.updateComplete;
    expect(errorText(element)).to.equal('<img src=x onerror=alert(1)>Broken');
    expect(root(element).querySelector('img')).to.equal(null);
  });

  it('renders a stream name containing HTML as text', async () => {
    const { element } = await setup();
    await createStream(element, '<img src=x onerror=alert(1)>Show');
    await until(() => element.currentStep === 'ingestor', 'no stream created');
    await element.updateComplete;
    expect(text(element)).to.contain('<img src=x onerror=alert(1)>Show');
    expect(root(element).querySelector('img')).to.equal(null);
  });

  it('keeps the secret out of the DOM, attributes, events, storage and console', async () => {
    const sim = await ThetaSimulatorHandle.start();
    simulator = sim;
    const logged: string[] = [];
    const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
    const originals = methods.map((method) => console[method]);
    methods.forEach((method) => {
      console[method] = (...args: unknown[]) => logged.push(args.map(String).join(' '));
    });
    const details: unknown[] = [];
    const names = [
      'theta-stream-created',
      'theta-stream-selected',
      'theta-ingestor-selected',
      'theta-ingestor-unselected',
      'theta-status-change',
      'theta-error',
    ];
    const record = (event: Event) => details.push((event as CustomEvent).detail);
    names.forEach((name) => document.addEventListener(name, record));
    try {
      // The direct mode: the page holds the secret (local tools only), the strongest test of where it could leak.
      await sim.fault({
        method: 'PUT',
        path: '/unselect$',
        status: 403,
        body: '{"status":"error","message":"You are not authorized to unselect this ingestor"}',
        contentType: 'application/json',
      });
      const { element } = await setup({}, { 'api-base': sim.simulatorUrl, 'service-account-id': sim.serviceAccountId }, (element) => {
        element.serviceAccountSecret = sim.secret;
      });
      await goLive(element);
      button(element, 'Show key').click();
      button(element, 'Unselect').click();
      await until(() => errorText(element) !== '', 'no error shown');
      await element.updateComplete;
      const haystacks = [
        element.outerHTML,
        root(element).innerHTML,
        [...element.attributes].map((attribute) => `${attribute.name}=${attribute.value}`).join(' '),
        JSON.stringify(details),
        JSON.stringify({ ...sessionStorage }),
        logged.join('\n'),
      ];
      expect(details.length).to.be.greaterThan(2);
      for (const haystack of haystacks) expect(haystack).not.to.contain(sim.secret);
      expect(element.hasAttribute('service-account-secret')).to.equal(false);
    } finally {
      methods.forEach((method, index) => (console[method] = originals[index]));
      names.forEach((name) => document.removeEventListener(name, record));
    }
  });

  describe('live preview', () => {
    it('plays the stream natively, muted, says how far behind live it is, and stops downloading when removed', async () => {
      const { element, sim } = await setup();
      const live = await publish(element, sim, await goLive(element));
      await element.updateComplete;
      const video = preview(element)!;
      expect(video, 'no preview video').to.exist;
      expect(video.muted).to.equal(true);
      expect(video.autoplay).to.equal(true);
      expect(text(element)).to.contain('Waiting for the first seconds of video');
      await until(() => video.readyState >= 2 && video.currentTime > 0, 'the preview did not play', 20_000);
      expect(video.src).to.equal(live.playbackUri);
      await until(() => /About \d+ s behind live/.test(text(element)), 'no behind-live figure');
      const behind = Number(/About (\d+) s behind live/.exec(text(element))![1]);
      expect(behind).to.be.within(1, 15);
      expect(root(element).querySelector('a[href]')?.textContent).to.equal('Open the player page');
      await expect(element).to.be.accessible();

      button(element, 'Unmute').click();
      await element.updateComplete;
      expect(video.muted).to.equal(false);
      button(element, 'Mute').click();
      await element.updateComplete;
      expect(video.muted).to.equal(true);

      // Resource Timing sees the player's playlist and segment requests: first prove it, then that they stop.
      const prefix = live.playbackUri!.replace(/[^/]*$/, '');
      const playing = performance.now();
      await until(() => requestsTo(prefix, playing) > 0, 'the player made no requests to observe', 5000);
      const removedAt = performance.now();
      element.remove();
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(requestsTo(prefix, removedAt)).to.equal(0);
      expect(video.hasAttribute('src')).to.equal(false);
    });

    it('ends with the stream, and plays the new address when the stream goes live again', async () => {
      const { element, sim } = await setup();
      const first = await publish(element, sim, await goLive(element));
      await until(() => (preview(element)?.currentTime ?? 0) > 0, 'the preview did not play', 20_000);
      const video = preview(element)!;
      const off = oneEvent(element, 'theta-status-change');
      await sim.stopPublishing();
      expect((await off).detail.status).to.equal('off');
      await element.updateComplete;
      expect(text(element)).to.contain('The stream ended');
      expect(preview(element)).to.equal(null);
      expect(video.hasAttribute('src')).to.equal(false);
      const prefix = first.playbackUri!.replace(/[^/]*$/, '');
      const endedAt = performance.now();

      // The service released the ingestor when the publisher stopped: select again and publish again.
      (await untilButton(element, 'Back')).click();
      const again = oneEvent(element, 'theta-ingestor-selected');
      (await untilButton(element, 'Select')).click();
      const second = await publish(element, sim, (await again).detail);
      expect(second.playbackUri).not.to.equal(first.playbackUri);
      await until(() => preview(element)?.src === second.playbackUri, 'the preview did not take the new address', 15_000);
      expect(requestsTo(prefix, endedAt)).to.equal(0);
    });

    it('uses the hlsLibrary given where the browser has no native HLS, and destroys it on unselect', async () => {
      withoutNativeHls();
      const fake = fakeHls();
      const { element, sim } = await setup({}, {}, (element) => (element.hlsLibrary = fake.Hls));
      const live = await publish(element, sim, await goLive(element));
      await until(() => fake.called('attachMedia').length > 0, 'hls.js was not used', 15_000);
      expect(fake.called('loadSource')).to.deep.equal([['loadSource', live.playbackUri]]);
      expect(fake.called('attachMedia')[0][1]).to.equal(preview(element));
      expect(fake.called('on').map(([, event]) => event)).to.include('hlsError');
      expect(preview(element)!.hasAttribute('src')).to.equal(false);
      expect(fake.called('destroy')).to.have.length(0);
      button(element, 'Unselect').click();
      await until(() => fake.called('destroy').length === 1, 'hls.js was not destroyed on unselect');
      await until(() => element.currentStep === 'ingestor', 'not back at the ingestor step');
    });

    it('imports hls.js from a URL given as hlsLibrary, and destroys it when removed', async () => {
      withoutNativeHls();
      const record: string[] = [];
      (window as unknown as { hlsCalls: string[] }).hlsCalls = record;
      const module = URL.createObjectURL(
        new Blob(
          [
            `const calls = window.hlsCalls;
            export default class { constructor() { calls.push('new'); } loadSource() { calls.push('loadSource'); }
              attachMedia() { calls.push('attachMedia'); } on() {} destroy() { calls.push('destroy'); } static isSupported() { return true; } }`,
          ],
          { type: 'text/javascript' },
        ),
      );
      restores.push(() => URL.revokeObjectURL(module));
      const { element, sim } = await setup({}, {}, (element) => (element.hlsLibrary = module));
      await publish(element, sim, await goLive(element));
      await until(() => record.includes('attachMedia'), 'the imported hls.js was not used', 15_000);
      element.remove();
      expect(record).to.deep.equal(['new', 'loadSource', 'attachMedia', 'destroy']);
    });

    it('says in one sentence that the browser cannot play the preview without native HLS or hls.js', async () => {
      withoutNativeHls();
      const { element, sim } = await setup();
      const selected = await goLive(element);
      await forceLive(element, sim, selected.streamId);
      await element.updateComplete;
      expect(text(element)).to.contain('This browser cannot play the preview');
      expect(preview(element)).to.equal(null);
      expect(root(element).querySelector('a[href]')?.textContent).to.equal('Open the player page');
      await expect(element).to.be.accessible();
    });

    it('waits while the first segments are produced', async () => {
      const { element, sim } = await setup();
      const selected = await goLive(element);
      const live = await forceLive(element, sim, selected.streamId);
      await element.updateComplete;
      const video = preview(element)!;
      expect(video).to.exist;
      await new Promise((resolve) => setTimeout(resolve, 1200));
      // The playlist has no segments: the player is not started (Chromium would refuse it), the element waits.
      expect(text(element)).to.contain('Waiting for the first seconds of video');
      expect(video.hasAttribute('src')).to.equal(false);
      expect(requestsTo(live.playbackUri!)).to.be.greaterThan(1);
      await expect(element).to.be.accessible();
    });
  });

  it('deletes a stream only after confirmation in the element, and points at Delete at the limit', async () => {
    const sim = await ThetaSimulatorHandle.start();
    simulator = sim;
    for (const name of ['one', 'two', 'three']) await sim.api('POST', '/stream', { name });
    const originalConfirm = window.confirm;
    window.confirm = () => expect.fail('confirm() was called');
    restores.push(() => (window.confirm = originalConfirm));
    const { element } = await setup();
    await until(() => buttons(element, 'Delete').length === 3, 'no Delete buttons');
    await createStream(element, 'four');
    await until(() => text(element).includes('Delete button'), 'the limit did not point at Delete');

    const remove = buttons(element, 'Delete')[0];
    const name = root(element).getElementById(remove.getAttribute('aria-describedby')!);
    expect(name?.textContent).to.equal('one');
    remove.click();
    await until(() => button(element, 'Delete stream') !== undefined, 'no confirmation');
    expect(root(element).activeElement?.textContent?.trim()).to.equal('Cancel');
    await expect(element).to.be.accessible();
    button(element, 'Cancel').click();
    await until(() => button(element, 'Delete stream') === undefined, 'Cancel did not close the confirmation');
    expect(buttons(element, 'Delete')).to.have.length(3);
    expect(root(element).activeElement).to.equal(buttons(element, 'Delete')[0]);

    buttons(element, 'Delete')[0].click();
    const deleted = oneEvent(element, 'theta-stream-deleted');
    (await untilButton(element, 'Delete stream')).click();
    const { streamId } = (await deleted).detail;
    const list = await sim.api<{ body: { streams: Array<{ id: string; name: string }> } }>(
      'GET',
      `/service_account/${sim.serviceAccountId}/streams`,
    );
    expect(list.body.streams.map((stream) => stream.name)).to.deep.equal(['two', 'three']);
    expect(list.body.streams.some((stream) => stream.id === streamId)).to.equal(false);
    await until(() => buttons(element, 'Delete').length === 2, 'the deleted stream is still listed');
    expect(text(element)).not.to.contain('Delete button');
    await expect(element).to.be.accessible();
  });

  it('lists ingestors that are not available with their state and a disabled Select', async () => {
    const { element } = await setup();
    await createStream(element, 'States');
    await until(() => buttons(element, 'Select').length > 3, 'no ingestors listed');
    const rows = [...root(element).querySelectorAll('tbody tr')];
    const states = rows.map((row) => row.children[1].textContent!.trim());
    expect(states).to.include.members(['available', 'busy', 'selected', 'unavailable']);
    rows.forEach((row, index) => {
      expect(row.querySelector('button')!.disabled, `${states[index]} ingestor`).to.equal(states[index] !== 'available');
    });
    await expect(element).to.be.accessible();
  });

  it('highlights the ingestor on the map when its row is hovered or focused, and the row from the map', async () => {
    const { element } = await setup();
    await createStream(element, 'Map');
    await until(() => buttons(element, 'Select').length > 1, 'no ingestors listed');
    const rows = () => [...root(element).querySelectorAll('tbody tr')];
    const markers = () => [...root(element).querySelectorAll('svg[part="map"] .map-point')];
    rows()[1].dispatchEvent(new MouseEvent('mouseenter'));
    await element.updateComplete;
    expect(markers()[1].classList.contains('highlighted')).to.equal(true);
    expect(rows()[1].classList.contains('highlighted')).to.equal(true);
    rows()[2].querySelector('button')!.focus();
    await element.updateComplete;
    expect(markers()[2].classList.contains('highlighted')).to.equal(true);
    (markers()[0] as SVGElement).focus();
    await element.updateComplete;
    expect(rows()[0].classList.contains('highlighted')).to.equal(true);
    expect(rows()[2].classList.contains('highlighted')).to.equal(false);
  });

  it('shows progress while a slow unselect releases the ingestor', async () => {
    const { element, sim } = await setup();
    const selected = await goLive(element);
    await sim.fault({ method: 'PUT', path: '/unselect$', delayMs: 2600 });
    const released = oneEvent(element, 'theta-ingestor-unselected');
    button(element, 'Unselect').click();
    await until(() => text(element).includes('Releasing the ingestor... 0 s'), 'no progress shown');
    expect(button(element, 'Unselect').disabled).to.equal(true);
    await until(() => /Releasing the ingestor\.\.\. [12] s/.test(text(element)), 'the elapsed time did not grow', 4000);
    expect((await released).detail.ingestorId).to.equal(selected.ingestorId);
    await until(() => element.currentStep === 'ingestor', 'not back at the ingestor step');
    expect(text(element)).not.to.contain('Releasing');
  });

  it('asks for service-account-id when the secret is given without a proxy', async () => {
    const sim = await ThetaSimulatorHandle.start();
    simulator = sim;
    const error = new Promise<CustomEvent<ThetaErrorDetail>>((resolve) =>
      document.addEventListener('theta-error', (event) => resolve(event), { once: true }),
    );
    const { element } = await setup({}, { 'api-base': sim.simulatorUrl }, (element) => (element.serviceAccountSecret = sim.secret));
    const { detail } = await error;
    expect(detail.code).to.equal('configuration');
    expect(detail.action).to.equal('list-streams');
    expect(detail.message).to.contain('service-account-id');
    await element.updateComplete;
    expect(errorText(element)).to.equal(detail.message);
    expect(errorText(element)).not.to.contain(sim.secret);
  });

  it('can be used with the keyboard alone', async () => {
    const { element } = await setup();
    await until(() => root(element).querySelector('input') !== null, 'no form');
    const input = root(element).querySelector('input')!;
    input.value = '';
    input.focus();
    await sendKeys({ type: 'Keyboard show' });
    await sendKeys({ press: 'Enter' });
    await until(() => buttons(element, 'Select').length > 0, 'Enter did not create the stream');
    buttons(element, 'Select')[0].focus();
    await sendKeys({ press: 'Enter' });
    await until(() => element.currentStep === 'live', 'Enter did not select the ingestor');
    await element.updateComplete;
    button(element, 'Show key').focus();
    await sendKeys({ press: 'Space' });
    await until(() => button(element, 'Hide key') !== undefined, 'Space did not reveal the key');
  });
});
