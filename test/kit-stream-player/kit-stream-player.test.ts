import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import '../../src/kit-stream-player/index.js';
import { defineElement } from '../../src/internal/live-element.js';
import { KitStreamPlayer } from '../../src/kit-stream-player/index.js';
import type { KitConnector } from '../../src/kit-stream-player/connector.js';
import type { KitErrorDetail } from '../../src/kit-stream-player/events.js';
import { KitSimulatorHandle } from '../support/simulators.js';

let simulator: KitSimulatorHandle | undefined;
const players: KitStreamPlayer[] = [];

async function startSimulator(options: Record<string, unknown> = {}): Promise<KitSimulatorHandle> {
  simulator = await KitSimulatorHandle.start(options);
  return simulator;
}

/** A connector that never connects: these tests are about sessions, and stay in 'connecting' once one is ready. */
const waitingConnector: KitConnector = {
  connect: ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
};

/** A player on the page, listening from the first moment so no event is missed. */
async function player(attributes: Record<string, string>, setup?: (element: KitStreamPlayer) => void): Promise<KitStreamPlayer> {
  const element = document.createElement('kit-stream-player');
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.connector = waitingConnector;
  setup?.(element);
  players.push(element);
  document.body.append(element);
  await element.updateComplete;
  return element;
}

const shadow = (element: KitStreamPlayer) => element.shadowRoot!;
const statusText = (element: KitStreamPlayer) => shadow(element).querySelector('[role="status"]')?.textContent?.trim() ?? '';
const errorText = (element: KitStreamPlayer) => shadow(element).querySelector('[part="error-message"]')?.textContent?.trim() ?? '';
const retryButton = (element: KitStreamPlayer) =>
  [...shadow(element).querySelectorAll('button')].find((button) => button.textContent?.trim() === 'Retry');

async function untilState(element: KitStreamPlayer, state: string, timeout = 8000): Promise<void> {
  await waitUntil(() => element.state === state, `state stayed ${element.state}, expected ${state}`, { timeout, interval: 20 });
}

async function errorOf(element: KitStreamPlayer): Promise<KitErrorDetail> {
  const event = await oneEvent(element, 'kit-error');
  return event.detail;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(async () => {
  for (const element of players.splice(0)) element.remove();
  await simulator?.close();
  simulator = undefined;
});

describe('<kit-stream-player> sessions', () => {
  it('is registered, and a second registration does not throw', () => {
    expect(customElements.get('kit-stream-player')).to.equal(KitStreamPlayer);
    expect(() => defineElement('kit-stream-player', class extends HTMLElement {})).not.to.throw();
    expect(customElements.get('kit-stream-player')).to.equal(KitStreamPlayer);
  });

  it('stays idle and accessible without a server', async () => {
    const element = await fixture<KitStreamPlayer>(html`<kit-stream-player></kit-stream-player>`);
    expect(element.state).to.equal('idle');
    expect(element.getAttribute('state')).to.equal('idle');
    await expect(element).to.be.accessible();
  });

  it('says which attributes are missing', async () => {
    const sim = await startSimulator({ readyAfterMs: 0 });
    const element = await player({ server: sim.url, 'app-id': 'usd-viewer' });
    await untilState(element, 'error');
    expect(errorText(element)).to.contain('profile');
    expect((await sim.requests()).length).to.equal(0);
  });

  it('connects at once when POST /stream answers ready', async () => {
    const sim = await startSimulator({ readyAfterMs: 0 });
    const ready = new Promise<CustomEvent>((resolve) =>
      document.addEventListener('kit-session-ready', resolve as EventListener, { once: true }),
    );
    const element = await player({
      server: sim.url,
      'app-id': 'usd-viewer',
      profile: 'default',
      'usd-stage-uri': 'omniverse://demo/stage.usd',
    });
    const { detail } = await ready;
    const [session] = await sim.sessions();
    expect(detail.id).to.equal(session.id);
    expect(detail.host).to.equal('127.0.0.1');
    const routes = (detail.routes as Record<string, Array<{ description: string; source_port: number }>>)['127.0.0.1'];
    expect(detail.signalingPort).to.equal(routes.find((route) => route.description === 'signaling')!.source_port);
    expect(detail.mediaPort).to.equal(routes.find((route) => route.description === 'media')!.source_port);
    expect(element.state).to.equal('connecting');
    expect(element.sessionId).to.equal(session.id);
    expect(element.getAttribute('session-id')).to.equal(session.id);
    expect(statusText(element)).to.equal('Connecting...');
    const [create] = await sim.requests();
    expect(create.method).to.equal('POST');
    expect(create.path).to.equal('/stream');
    expect(create.body).to.deep.equal({ id: 'usd-viewer', profile: 'default', arguments: { usd_stage_uri: 'omniverse://demo/stage.usd' } });
    expect(session.usdStageUri).to.equal('omniverse://demo/stage.usd');
    await expect(element).to.be.accessible();
  });

  it('sends version and extra arguments, and requestInit headers, to a server with a path prefix', async () => {
    const sim = await startSimulator({ readyAfterMs: 0, prefix: '/streaming' });
    expect(sim.url).to.match(/\/streaming$/);
    const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default', version: '106.5.0' }, (element) => {
      element.arguments = { extra: 'yes' };
      element.requestInit = { headers: { authorization: 'Bearer test-token' } };
    });
    await untilState(element, 'connecting');
    const [create] = await sim.requests();
    expect(create.body).to.deep.equal({ id: 'usd-viewer', profile: 'default', version: '106.5.0', arguments: { extra: 'yes' } });
    expect(create.headers.authorization).to.equal('Bearer test-token');
  });

  for (const routesShape of ['flat', 'nested']) {
    it(`polls a pending session until ready (${routesShape} routes)`, async () => {
      const sim = await startSimulator({ readyAfterMs: 500, routesShape });
      const pending: CustomEvent[] = [];
      const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default', 'poll-interval': '100' }, (element) =>
        element.addEventListener('kit-session-pending', (event) => pending.push(event)),
      );
      await untilState(element, 'pending');
      expect(statusText(element)).to.match(/^Preparing the app\.\.\. 0:0\d$/);
      await expect(element).to.be.accessible();
      const { detail } = await oneEvent(element, 'kit-session-ready');
      expect(detail.host).to.equal('127.0.0.1');
      expect(detail.signalingPort).to.be.a('number');
      expect(detail.mediaPort).to.be.a('number');
      expect(pending.length).to.be.greaterThan(1);
      expect(pending[0].detail.id).to.equal(detail.id);
      expect(pending.map((event) => event.detail.attempt)).to.deep.equal(pending.map((_, index) => index + 1));
      expect(pending.at(-1)!.detail.elapsed).to.be.greaterThan(pending[0].detail.elapsed);
      const polls = (await sim.requests()).filter((request) => request.method === 'GET');
      expect(polls.length).to.be.greaterThan(0);
      expect(polls.every((request) => request.path === `/stream/${detail.id}`)).to.equal(true);
    });
  }

  it('waits 1.5 times longer after each pending answer', async () => {
    // Ready after 2 s, polled from 200 ms: growing waits (200, 300, 450, 675, ...) make about 5 polls; a fixed pace, 10.
    const sim = await startSimulator({ readyAfterMs: 2000 });
    const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default', 'poll-interval': '200' });
    await untilState(element, 'connecting', 8000);
    const polls = (await sim.requests()).filter((request) => request.method === 'GET');
    expect(polls.length).to.be.within(3, 7);
  });

  it('lets a Retry-After header set the poll pace', async () => {
    const sim = await startSimulator({ readyAfterMs: 300, retryAfterSeconds: 1 });
    const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default', 'poll-interval': '60000' });
    await untilState(element, 'connecting', 5000);
  });

  describe('errors', () => {
    const cases: Array<{ name: string; fault: Record<string, unknown>; code: string; status?: number; message: RegExp }> = [
      {
        name: '403 with detail',
        fault: { status: 403, body: '{"detail":"You do not have permission to access this resource."}', contentType: 'application/json' },
        code: 'forbidden',
        status: 403,
        message: /^You do not have permission to access this resource\.$/,
      },
      {
        name: '500 with detail',
        fault: { status: 500, body: '{"detail":"An unexpected error occurred. Please try again later."}', contentType: 'application/json' },
        code: 'server-error',
        status: 500,
        message: /An unexpected error occurred/,
      },
      {
        name: 'another status',
        fault: { status: 418, body: '{"detail":"I am a teapot"}', contentType: 'application/json' },
        code: 'http-error',
        status: 418,
        message: /I am a teapot/,
      },
      {
        name: 'an HTML error page',
        fault: {
          status: 502,
          body: '<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>',
          contentType: 'text/html',
        },
        code: 'server-error',
        status: 502,
        message: /502 with an HTML page instead of JSON \("502 Bad Gateway"\)/,
      },
      {
        name: 'a 200 whose body is not JSON',
        fault: { status: 200, body: '{"id": "abc", "routes": ', contentType: 'application/json' },
        code: 'malformed-response',
        status: 200,
        message: /not valid JSON/,
      },
      // The browser may retry a request whose connection dropped, so the fault stays until the test clears it.
      { name: 'a dropped connection', fault: { drop: true, times: 5 }, code: 'network', message: /Could not reach/ },
    ];
    for (const { name, fault, code, status, message } of cases) {
      it(`shows ${name} on create, with Retry`, async () => {
        const sim = await startSimulator({ readyAfterMs: 0 });
        await sim.fault({ method: 'POST', path: '^/stream$', ...fault });
        const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default' });
        const detail = await errorOf(element);
        expect(detail.code).to.equal(code);
        expect(detail.status).to.equal(status);
        expect(detail.message).to.match(message);
        expect(element.state).to.equal('error');
        expect(errorText(element)).to.equal(detail.message);
        expect(shadow(element).querySelector('[role="alert"]')).to.exist;
        await expect(element).to.be.accessible();
        await sim.clearFaults();
        retryButton(element)!.click();
        await untilState(element, 'connecting');
      });
    }

    it('lists each 422 validation message with its location', async () => {
      const sim = await startSimulator({ readyAfterMs: 0 });
      const element = await player({ server: sim.url, 'app-id': 'no-such-app', profile: 'default' });
      const detail = await errorOf(element);
      expect(detail.code).to.equal('invalid-request');
      expect(detail.status).to.equal(422);
      expect(detail.message).to.match(/^body\.id: /);
      expect(errorText(element)).to.equal(detail.message);
    });

    it('shows every 422 validation item, each with its location', async () => {
      const sim = await startSimulator({ readyAfterMs: 0 });
      await sim.fault({
        method: 'POST',
        status: 422,
        contentType: 'application/json',
        body: JSON.stringify({
          detail: [
            { loc: ['body', 'id'], msg: 'Invalid application ID format', type: 'value_error' },
            { loc: ['body', 'profile'], msg: 'Unknown profile', type: 'value_error' },
          ],
        }),
      });
      const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default' });
      const detail = await errorOf(element);
      expect(detail.message).to.equal('body.id: Invalid application ID format; body.profile: Unknown profile');
    });

    it('renders a server message containing HTML as text', async () => {
      const sim = await startSimulator({ readyAfterMs: 0 });
      await sim.fault({
        method: 'POST',
        status: 403,
        body: '{"detail":"<img src=x onerror=alert(1)>denied"}',
        contentType: 'application/json',
      });
      const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default' });
      await untilState(element, 'error');
      expect(errorText(element)).to.equal('<img src=x onerror=alert(1)>denied');
      expect(shadow(element).querySelector('img')).to.equal(null);
    });

    it('shows 404 when attaching to an unknown session, and terminates nothing', async () => {
      const sim = await startSimulator({ readyAfterMs: 0 });
      const element = await player({ server: sim.url, 'session-id': 'no-such-session' });
      const detail = await errorOf(element);
      expect(detail.code).to.equal('not-found');
      expect(detail.status).to.equal(404);
      await sleep(100);
      expect((await sim.requests()).map((request) => request.method)).to.deep.equal(['GET']);
    });

    it('says so when a ready session has no signaling route', async () => {
      const sim = await startSimulator({ readyAfterMs: 0 });
      await sim.fault({
        method: 'POST',
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          id: 'abc',
          routes: { '127.0.0.1': [{ description: 'media', protocol: 'UDP', source_port: 31001, destination_port: 32001 }] },
          status: { condition: 'ready', message: 'Session is active', status: true },
        }),
      });
      const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default' });
      const detail = await errorOf(element);
      expect(detail.code).to.equal('no-signaling-route');
      expect(detail.message).to.contain('no signaling route');
    });

    it('keeps polling through a dropped connection and a 503 while pending', async () => {
      const sim = await startSimulator({ readyAfterMs: 600 });
      await sim.fault({ method: 'GET', path: '^/stream/', drop: true }, { method: 'GET', path: '^/stream/', status: 503, body: 'busy' });
      const errors: Event[] = [];
      const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default', 'poll-interval': '50' }, (element) =>
        element.addEventListener('kit-error', (event) => errors.push(event)),
      );
      await oneEvent(element, 'kit-session-ready');
      expect(errors).to.have.length(0);
      const polls = (await sim.requests()).filter((request) => request.method === 'GET');
      expect(polls.length).to.be.greaterThan(2);
    });

    it('times out, says so, and terminates the session it created', async () => {
      const sim = await startSimulator({ readyAfterMs: 60_000 });
      const ended: CustomEvent[] = [];
      const element = await player(
        { server: sim.url, 'app-id': 'usd-viewer', profile: 'default', 'poll-interval': '50', timeout: '400' },
        (element) => element.addEventListener('kit-session-ended', (event) => ended.push(event)),
      );
      const detail = await errorOf(element);
      expect(detail.code).to.equal('timeout');
      expect(detail.message).to.equal('The app was not ready after 0:00. It may still be starting: try again, or raise the timeout.');
      await waitUntil(async () => (await sim.sessions()).length === 0, 'the session was not terminated', { timeout: 3000 });
      expect(ended[0].detail.reason).to.equal('error');
      expect(ended[0].detail.terminated).to.equal(true);
      expect(retryButton(element)).to.exist;
      await expect(element).to.be.accessible();
    });

    it('gives up on a request that gets no answer', async () => {
      const sim = await startSimulator({ readyAfterMs: 0 });
      await sim.fault({ method: 'POST', delayMs: 5000 });
      const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default', 'request-timeout': '300' });
      const detail = await errorOf(element);
      expect(detail.code).to.equal('timeout');
      expect(detail.message).to.contain('No answer');
    });
  });

  describe('lifecycle', () => {
    it('abandons and terminates its session when an identifying attribute changes', async () => {
      const sim = await startSimulator({ readyAfterMs: 400 });
      const ended: CustomEvent[] = [];
      const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default', 'poll-interval': '50' }, (element) =>
        element.addEventListener('kit-session-ended', (event) => ended.push(event)),
      );
      await untilState(element, 'pending');
      const first = element.sessionId;
      element.profile = 'high-quality';
      const { detail } = await oneEvent(element, 'kit-session-ready');
      expect(detail.id).not.to.equal(first);
      await waitUntil(async () => (await sim.sessions()).length === 1, 'the first session was not terminated', { timeout: 3000 });
      const sessions = await sim.sessions();
      expect(sessions[0].id).to.equal(detail.id);
      expect(sessions[0].profile).to.equal('high-quality');
      expect(ended.map((event) => event.detail)).to.deep.equal([{ id: first, reason: 'replaced', terminated: true }]);
    });

    it('on removal mid-poll sends nothing more but the terminate call', async () => {
      const sim = await startSimulator({ readyAfterMs: 60_000 });
      const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default', 'poll-interval': '50' });
      await waitUntil(async () => (await sim.requests()).filter((request) => request.method === 'GET').length >= 2, 'no polls', {
        timeout: 3000,
      });
      const id = element.sessionId;
      element.remove();
      const removedAt = Date.now();
      await sleep(500);
      const after = (await sim.requests()).filter((request) => request.time >= removedAt - 5);
      expect(after.map((request) => `${request.method} ${request.path}`)).to.deep.equal([`DELETE /stream/${id}`]);
      expect(await sim.sessions()).to.have.length(0);
      expect(element.state).to.equal('idle');
    });

    it('keeps its session when moved within the page', async () => {
      const sim = await startSimulator({ readyAfterMs: 0 });
      const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default' });
      await untilState(element, 'connecting');
      const id = element.sessionId;
      const box = document.createElement('div');
      document.body.append(box);
      box.append(element);
      await untilState(element, 'connecting');
      await sleep(100);
      expect((await sim.sessions()).map((session) => session.id)).to.deep.equal([id]);
      expect((await sim.requests()).some((request) => request.method === 'DELETE')).to.equal(false);
      box.remove();
    });

    it('attaches to an existing session with session-id and never terminates it', async () => {
      const sim = await startSimulator({ readyAfterMs: 0 });
      const created = await (
        await fetch(`${sim.url}/stream`, {
          method: 'POST',
          body: JSON.stringify({ id: 'usd-viewer', profile: 'default' }),
          headers: { 'content-type': 'application/json' },
        })
      ).json();
      const element = await player({ server: sim.url, 'session-id': created.id });
      const { detail } = await oneEvent(element, 'kit-session-ready');
      expect(detail.id).to.equal(created.id);
      element.remove();
      await sleep(200);
      expect((await sim.sessions()).map((session) => session.id)).to.deep.equal([created.id]);
      expect((await sim.requests()).some((request) => request.method === 'DELETE')).to.equal(false);
    });

    it('keeps a created session on removal when terminate-on-disconnect="false", and re-attaches to it', async () => {
      const sim = await startSimulator({ readyAfterMs: 0 });
      const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default', 'terminate-on-disconnect': 'false' });
      await untilState(element, 'connecting');
      const id = element.sessionId;
      element.remove();
      await sleep(100);
      expect(await sim.sessions()).to.have.length(1);
      document.body.append(element);
      const { detail } = await oneEvent(element, 'kit-session-ready');
      expect(detail.id).to.equal(id);
      expect((await sim.requests()).filter((request) => request.method === 'POST')).to.have.length(1);
      element.stop();
      await waitUntil(async () => (await sim.sessions()).length === 0, 'stop() did not terminate the created session', { timeout: 3000 });
    });

    for (const terminateForms of ['path', 'body']) {
      it(`terminates with the ${terminateForms} form of DELETE`, async () => {
        const sim = await startSimulator({ readyAfterMs: 0, terminateForms });
        const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default' });
        await untilState(element, 'connecting');
        const id = element.sessionId;
        element.stop();
        expect(element.state).to.equal('ended');
        await element.updateComplete;
        expect(statusText(element)).to.equal('The stream has ended.');
        await waitUntil(async () => (await sim.sessions()).length === 0, 'not terminated', { timeout: 3000 });
        const deletes = (await sim.requests()).filter((request) => request.method === 'DELETE');
        const expected = terminateForms === 'path' ? [`/stream/${id}`] : [`/stream/${id}`, '/stream'];
        expect(deletes.map((request) => request.path)).to.deep.equal(expected);
        if (terminateForms === 'body') expect(deletes[1].body).to.deep.equal({ id });
        expect(element.sessionId).to.equal('');
        await expect(element).to.be.accessible();
      });
    }

    it('terminates its session on pagehide', async () => {
      const sim = await startSimulator({ readyAfterMs: 0 });
      const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default' });
      await untilState(element, 'connecting');
      const ended = oneEvent(element, 'kit-session-ended');
      window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false }));
      expect((await ended).detail.reason).to.equal('pagehide');
      await waitUntil(async () => (await sim.sessions()).length === 0, 'not terminated on pagehide', { timeout: 3000 });
    });

    it('stop() then start() begins a new session', async () => {
      const sim = await startSimulator({ readyAfterMs: 0 });
      const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default' });
      await untilState(element, 'connecting');
      element.stop();
      element.profile = 'high-quality';
      await sleep(100);
      expect(element.state).to.equal('ended');
      element.start();
      await untilState(element, 'connecting');
      const sessions = await sim.sessions();
      expect(sessions.map((session) => session.profile)).to.deep.equal(['high-quality']);
    });

    it('shows the requesting state while POST /stream is slow', async () => {
      const sim = await startSimulator({ readyAfterMs: 0 });
      await sim.fault({ method: 'POST', delayMs: 800 });
      const element = await player({ server: sim.url, 'app-id': 'usd-viewer', profile: 'default' });
      await untilState(element, 'requesting');
      expect(statusText(element)).to.equal('Requesting a session...');
      await expect(element).to.be.accessible();
      await untilState(element, 'connecting');
    });
  });
});
