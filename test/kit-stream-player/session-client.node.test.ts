/**
 * The Kit App Streaming REST client against the Kit simulator on loopback: create, get, poll, terminate, and every
 * way a request can fail (statuses, bodies that are no JSON, time-outs, refused connections, aborts). Failures are
 * checked as a page sees them in a `kit-error` detail: code, status (absent without an answer) and message.
 *
 * Run: node --import tsx --test test/kit-stream-player/session-client.node.test.ts
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { SimulatorFault } from '../../demo/simulators/shared/faults.js';
import { startKitSimulator, type KitMediaFactory, type KitSimulator } from '../../demo/simulators/kit/kit-simulator.js';
import { KitSessionClient } from '../../src/kit-stream-player/session-client.js';

/** The ports the simulated sessions' routes name; nothing listens on them, and nothing here connects. */
const SIGNALING_PORT = 41000;
const MEDIA_PORT = 41001;

const routesOnly: KitMediaFactory = async () => ({
  signaling: { sourcePort: SIGNALING_PORT, destinationPort: 49100 },
  media: { sourcePort: MEDIA_PORT, destinationPort: 47998 },
  close: async () => {},
});

const viewer = { appId: 'usd-viewer', profile: 'default' };

/** The options every test starts from: sessions are ready at once unless a test says otherwise. */
const baseOptions = {
  readyAfterMs: 0,
  retryAfterSeconds: null,
  terminateForms: 'both',
  routesShape: 'flat',
  routeIp: '127.0.0.1',
  prefix: '',
  sessionLimit: 4,
};

let simulator: KitSimulator;

async function control(path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${simulator.origin}/_control/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(response.ok, `control ${path} answered ${response.status}: ${await response.text()}`);
}

/** Arms faults through the simulator's control endpoint, as a browser test would. */
const fault = (...faults: SimulatorFault[]) => control('faults', faults);
const setOptions = (patch: Record<string, unknown>) => control('options', patch);

function client(options: { requestInit?: RequestInit; requestTimeoutMs?: number; server?: string } = {}): KitSessionClient {
  return new KitSessionClient({ server: simulator.url, requestTimeoutMs: 2000, ...options });
}

/** The API requests the simulator received, as `METHOD path`. */
const requestLines = () => simulator.requests().map((entry) => `${entry.method} ${entry.path}`);

/** Times between successive `GET /stream/{id}` requests, in ms, as the simulator saw them arrive. */
function pollGaps(id: string): number[] {
  const times = simulator
    .requests()
    .filter((entry) => entry.method === 'GET' && entry.path === `/stream/${id}`)
    .map((entry) => entry.time);
  return times.slice(1).map((time, index) => time - times[index]);
}

/** What a page reads from a failure: the fields of the `kit-error` detail. */
interface ErrorDetail {
  code: string;
  status?: number;
  message: string | RegExp;
}

/**
 * Awaits a rejection and compares code, status and message: the exact text where it is the server's own, a pattern
 * of what it must say where the words are the client's. No message ever echoes markup.
 */
async function rejectsWith(promise: Promise<unknown>, expected: ErrorDetail): Promise<void> {
  const error = await promise.then(
    (value) => assert.fail(`expected a failure, got ${JSON.stringify(value)}`),
    (reason: unknown) => reason,
  );
  assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
  const { code, status, message } = error as Error & { code?: unknown; status?: unknown };
  assert.deepEqual({ code, status }, { code: expected.code, status: expected.status }, message);
  if (typeof expected.message === 'string') assert.equal(message, expected.message);
  else assert.match(message, expected.message);
  assert.doesNotMatch(message, /</, 'no markup in a message');
}

/** A port nothing listens on: taken from the system, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  return port;
}

/** Timers of this process that are still to fire: the simulator's own, and any the client left behind. */
const activeTimers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;

async function createPending(readyAfterMs: number): Promise<string> {
  await setOptions({ readyAfterMs });
  const created = await client().create(viewer);
  assert.equal(created.ready, false);
  return created.id;
}

before(async () => {
  simulator = await startKitSimulator({ host: '127.0.0.1', port: 0, readyAfterMs: 0, media: routesOnly });
});

beforeEach(async () => {
  await control('reset');
  await setOptions(baseOptions);
});

after(async () => {
  await simulator.close();
});

describe('KitSessionClient.create', () => {
  it('gives a ready session with its connection target when the service answers 200', async () => {
    const created = await client().create(viewer);
    assert.equal(created.ready, true);
    assert.match(created.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(created.ready && created.target, { host: '127.0.0.1', signalingPort: SIGNALING_PORT, mediaPort: MEDIA_PORT });
    assert.equal(created.message, 'Session is active');
    assert.deepEqual(requestLines(), ['POST /stream']);
    assert.deepEqual(simulator.requests()[0].body, { id: 'usd-viewer', profile: 'default' }, 'no version, no empty arguments');
  });

  it('sends version and arguments when given, with the caller’s headers merged under its own', async () => {
    const withAuth = client({ requestInit: { headers: { authorization: 'Bearer t0k3n', 'content-type': 'text/plain', 'x-tenant': 'a' } } });
    await withAuth.create({ ...viewer, version: '106.5.0', arguments: { usd_stage_uri: 'omniverse://host/stage.usd' } });
    const [request] = simulator.requests();
    assert.deepEqual(request.body, {
      id: 'usd-viewer',
      profile: 'default',
      version: '106.5.0',
      arguments: { usd_stage_uri: 'omniverse://host/stage.usd' },
    });
    assert.equal(request.headers.authorization, 'Bearer t0k3n');
    assert.equal(request.headers['x-tenant'], 'a');
    assert.equal(request.headers['content-type'], 'application/json', 'the call’s content type wins');
    assert.equal(simulator.sessions()[0].usdStageUri, 'omniverse://host/stage.usd');
  });

  it('gives a pending session on 202, with the Retry-After the service sends', async () => {
    await setOptions({ readyAfterMs: 60_000 });
    const pending = await client().create(viewer);
    assert.deepEqual(pending, { id: pending.id, ready: false, message: 'Session is being prepared', retryAfterMs: undefined });
    await setOptions({ retryAfterSeconds: 3 });
    const told = await client().create(viewer);
    assert.equal(!told.ready && told.retryAfterMs, 3000);
  });

  it('works under a path prefix, whether the server URL ends with a slash or not', async () => {
    await setOptions({ prefix: '/streaming' });
    for (const server of [`${simulator.origin}/streaming`, `${simulator.origin}/streaming/`]) {
      assert.equal((await client({ server }).create(viewer)).ready, true);
    }
    assert.deepEqual(requestLines(), ['POST /stream', 'POST /stream'], 'both under the prefix');
  });

  it('reports a 422 with the location of each rejected field', async () => {
    await rejectsWith(client().create({ appId: 'usd-viewer', profile: 'ultra' }), {
      code: 'invalid-request',
      status: 422,
      message:
        "body.profile: Application 'usd-viewer' version '107.0.3' has no profile 'ultra'. Available profiles: default, high-quality.",
    });
    await fault({
      method: 'POST',
      status: 422,
      body: JSON.stringify({ detail: [{ loc: ['body', 'id'], msg: 'Field required' }, { msg: 'bad' }] }),
    });
    await rejectsWith(client().create(viewer), { code: 'invalid-request', status: 422, message: 'body.id: Field required; bad' });
  });

  it('reports the session limit as a server error with the service’s own message', async () => {
    await setOptions({ sessionLimit: 0 });
    await rejectsWith(client().create(viewer), {
      code: 'server-error',
      status: 503,
      message: /^Session limit reached: 0 of 0 streaming sessions are in use\./,
    });
  });

  it('maps 403, 404 and 5xx answers to their codes, with the server’s detail or a plain default', async () => {
    await fault(
      { method: 'POST', status: 403, body: '{"detail":"Token expired"}' },
      { method: 'POST', status: 403, body: '' },
      { method: 'POST', status: 404, body: '{"message":"No such route"}' },
      { method: 'POST', status: 500, body: '{"detail":"An unexpected error occurred."}' },
      { method: 'POST', status: 418, body: '{}' },
    );
    await rejectsWith(client().create(viewer), { code: 'forbidden', status: 403, message: 'Token expired' });
    await rejectsWith(client().create(viewer), { code: 'forbidden', status: 403, message: /\b403\b/ });
    await rejectsWith(client().create(viewer), { code: 'not-found', status: 404, message: 'No such route' });
    await rejectsWith(client().create(viewer), { code: 'server-error', status: 500, message: 'An unexpected error occurred.' });
    await rejectsWith(client().create(viewer), { code: 'http-error', status: 418, message: /\b418\b/ });
  });

  it('describes an HTML error page by its title, without echoing its markup', async () => {
    const page = '<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1><script>x()</script></body></html>';
    await fault({ method: 'POST', status: 502, body: page, contentType: 'text/html' }, { method: 'POST', status: 200, body: page });
    await rejectsWith(client().create(viewer), {
      code: 'server-error',
      status: 502,
      message: /\b502 with an HTML page instead of JSON \("502 Bad Gateway"\)/,
    });
    await rejectsWith(client().create(viewer), {
      code: 'malformed-response',
      status: 200,
      message: /\b200 with an HTML page instead of JSON \("502 Bad Gateway"\)/,
    });
  });

  it('refuses 200 answers that are not a session', async () => {
    await fault(
      { method: 'POST', status: 200, body: '{"id": "abc",', contentType: 'text/plain; charset=utf-8' },
      { method: 'POST', status: 200, body: '', contentType: 'application/json' },
      { method: 'POST', status: 200, body: '[1, 2]' },
      { method: 'POST', status: 202, body: '{"status": {"condition": "pending"}}' },
      { method: 'POST', status: 200, body: '{"id": "abc", "status": {"condition": "ready"}, "routes": {"10.0.0.1": []}}' },
    );
    await rejectsWith(client().create(viewer), {
      code: 'malformed-response',
      status: 200,
      message: /\b200 with a body that is not valid JSON \(content type text\/plain\)/,
    });
    await rejectsWith(client().create(viewer), {
      code: 'malformed-response',
      status: 200,
      message: /\b200 with an empty body instead of JSON/,
    });
    await rejectsWith(client().create(viewer), { code: 'malformed-response', status: 200, message: /\b200\b/ });
    await rejectsWith(client().create(viewer), {
      code: 'malformed-response',
      status: 202,
      message: /\b202 without a session id/,
    });
    await rejectsWith(client().create(viewer), { code: 'no-signaling-route', status: undefined, message: /no signaling route/ });
  });

  it('reports a refused connection and a dropped one as network failures without a status', async () => {
    const port = await closedPort();
    await rejectsWith(new KitSessionClient({ server: `http://127.0.0.1:${port}/api?token=secret` }).create(viewer), {
      code: 'network',
      status: undefined,
      // The address without its query, which may carry credentials.
      message: new RegExp(`^Could not reach http://127\\.0\\.0\\.1:${port}/api: `),
    });
    await fault({ method: 'POST', drop: true });
    await rejectsWith(client().create(viewer), {
      code: 'network',
      status: undefined,
      message: /^Could not reach http:\/\/127\.0\.0\.1:\d+\/stream: /,
    });
  });

  it('gives up on a request that gets no answer within the request timeout', async () => {
    await fault({ method: 'POST', delayMs: 3000 });
    const started = performance.now();
    await rejectsWith(client({ requestTimeoutMs: 200 }).create(viewer), {
      code: 'timeout',
      status: undefined,
      message: /^No answer from http:\/\/127\.0\.0\.1:\d+\/stream within 0\.2 s/,
    });
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 190 && elapsed < 1500, `gave up after ${elapsed} ms`);
  });

  it('rejects with the abort reason, and sends nothing when the signal is already aborted', async () => {
    const reason = new Error('the page went away');
    await assert.rejects(client().create(viewer, AbortSignal.abort(reason)), (error) => error === reason);
    assert.deepEqual(simulator.requests(), []);
    await fault({ method: 'POST', delayMs: 3000 });
    const controller = new AbortController();
    const creating = client().create(viewer, controller.signal);
    setTimeout(() => controller.abort(reason), 50);
    await assert.rejects(creating, (error) => error === reason);
  });
});

describe('KitSessionClient.get', () => {
  it('reads a pending and then a ready session, keeping the id it asked for', async () => {
    const id = await createPending(150);
    const pending = await client().get(id);
    assert.deepEqual(pending, { id, ready: false, message: 'Session is being prepared', retryAfterMs: undefined });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const ready = await client().get(id);
    assert.equal(ready.ready, true);
    assert.deepEqual(ready.ready && ready.target, { host: '127.0.0.1', signalingPort: SIGNALING_PORT, mediaPort: MEDIA_PORT });
    await fault({ method: 'GET', status: 202, body: '{"status": {"message": "Warming up"}}' });
    assert.deepEqual(await client().get(id), { id, ready: false, message: 'Warming up', retryAfterMs: undefined });
  });

  it('reads the nested route shape and a 200 that still says pending', async () => {
    await setOptions({ routesShape: 'nested', routeIp: '10.20.30.40' });
    const { id } = await client().create(viewer);
    const ready = await client().get(id);
    assert.deepEqual(ready.ready && ready.target, { host: '10.20.30.40', signalingPort: SIGNALING_PORT, mediaPort: MEDIA_PORT });
    await fault({ method: 'GET', status: 200, body: JSON.stringify({ id, status: { condition: 'pending', status: false } }) });
    assert.equal((await client().get(id)).ready, false);
  });

  it('reports an unknown session as not found with the service’s message, and encodes the id in the path', async () => {
    await rejectsWith(client().get('no such/id'), {
      code: 'not-found',
      status: 404,
      message: "Session not found: no active session has id 'no such/id'.",
    });
    assert.deepEqual(requestLines(), ['GET /stream/no%20such%2Fid']);
  });
});

describe('KitSessionClient.pollUntilReady', () => {
  it('waits longer after each pending answer and reports each one', async () => {
    const id = await createPending(900);
    const pending: Array<{ id: string; elapsedMs: number; attempt: number; message?: string }> = [];
    const ready = await client().pollUntilReady(id, { intervalMs: 250, timeoutMs: 10_000, onPending: (info) => pending.push(info) });
    assert.equal(ready.ready, true);
    assert.deepEqual(ready.target, { host: '127.0.0.1', signalingPort: SIGNALING_PORT, mediaPort: MEDIA_PORT });
    assert.deepEqual(
      pending.map(({ id, attempt, message }) => ({ id, attempt, message })),
      [1, 2, 3].map((attempt) => ({ id, attempt, message: 'Session is being prepared' })),
    );
    assert.ok(
      pending.every((info, index) => index === 0 || info.elapsedMs > pending[index - 1].elapsedMs),
      'elapsed time grows',
    );
    const gaps = pollGaps(id);
    assert.equal(gaps.length, 3, 'four polls: three pending, then ready');
    // 250 ms, then x1.5 each time.
    for (const [index, expected] of [250, 375, 562].entries()) {
      assert.ok(gaps[index] >= expected - 10 && gaps[index] < expected + 300, `gap ${index}: ${gaps[index]} ms, expected ${expected}`);
    }
  });

  it('waits what Retry-After says, but never less than a quarter second', async () => {
    const id = await createPending(700);
    await fault({ method: 'GET', path: '^/stream/[^/]+$', headers: { 'Retry-After': '1' } });
    await client().pollUntilReady(id, { intervalMs: 250, timeoutMs: 10_000 });
    const [told] = pollGaps(id);
    assert.ok(told >= 990 && told < 1400, `waited ${told} ms after Retry-After: 1`);

    const soon = await createPending(100);
    await fault({ method: 'GET', path: '^/stream/[^/]+$', headers: { 'Retry-After': '0' } });
    await client().pollUntilReady(soon, { intervalMs: 10, timeoutMs: 10_000 });
    const [zero] = pollGaps(soon);
    assert.ok(zero >= 240 && zero < 600, `waited ${zero} ms after Retry-After: 0`);
  });

  it('retries server errors and request time-outs, and stops at once on other failures', async () => {
    const { id } = await client().create(viewer);
    await fault({ method: 'GET', status: 503, body: '{"detail":"busy"}' }, { method: 'GET', delayMs: 1000 });
    const ready = await client({ requestTimeoutMs: 150 }).pollUntilReady(id, { intervalMs: 250, timeoutMs: 10_000 });
    assert.equal(ready.id, id);
    assert.equal(pollGaps(id).length, 2, 'a 503, a time-out, then the ready answer');

    await fault({ method: 'GET', status: 403, body: '{"detail":"Token expired"}' });
    const sent = simulator.requests().length;
    await rejectsWith(client().pollUntilReady(id, { intervalMs: 250, timeoutMs: 10_000 }), {
      code: 'forbidden',
      status: 403,
      message: 'Token expired',
    });
    assert.equal(simulator.requests().length, sent + 1, 'one request, no retry');
    await rejectsWith(client().pollUntilReady('gone', { intervalMs: 250, timeoutMs: 10_000 }), {
      code: 'not-found',
      status: 404,
      message: "Session not found: no active session has id 'gone'.",
    });
  });

  it('gives up with a timeout error when the session is not ready in time', async () => {
    const id = await createPending(60_000);
    const started = performance.now();
    await rejectsWith(client().pollUntilReady(id, { intervalMs: 250, timeoutMs: 600 }), {
      code: 'timeout',
      status: undefined,
      message: /^The app was not ready after \d+:\d\d\. It may still be starting: try again, or raise the timeout\.$/,
    });
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 590 && elapsed < 1500, `gave up after ${elapsed} ms`);
    assert.equal(pollGaps(id).length, 2, 'polls at 0, 250 and 600 ms: the last wait is cut to the time left');

    // The time counts from `startedAt`: a wait that began long ago has no time left after the first answer.
    await control('reset');
    const late = await createPending(60_000);
    await rejectsWith(client().pollUntilReady(late, { intervalMs: 250, timeoutMs: 65_000, startedAt: performance.now() - 70_000 }), {
      code: 'timeout',
      status: undefined,
      message: 'The app was not ready after 1:05. It may still be starting: try again, or raise the timeout.',
    });
    assert.deepEqual(requestLines(), ['POST /stream', `GET /stream/${late}`]);
  });

  it('stops at once when aborted between polls, and leaves no listener or request behind', async () => {
    const id = await createPending(60_000);
    const timers = activeTimers();
    const controller = new AbortController();
    const reason = new Error('stopped');
    let pendingCalls = 0;
    const polling = client().pollUntilReady(id, {
      signal: controller.signal,
      intervalMs: 250,
      timeoutMs: 10_000,
      onPending: () => {
        pendingCalls++;
        // Aborted while the client waits for the next poll.
        setTimeout(() => controller.abort(reason), 20);
      },
    });
    const started = performance.now();
    await assert.rejects(polling, (error) => error === reason);
    assert.ok(performance.now() - started < 200, 'rejects on abort, not after the wait');
    assert.equal(pendingCalls, 1);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0, 'the wait removed its abort listener');
    assert.equal(activeTimers(), timers, 'the wait cleared its timer');
    const polls = simulator.requests().length;
    // The next poll was due 250 ms after the first.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(simulator.requests().length, polls, 'no poll after the abort');
  });

  it('stops at once when aborted during a request', async () => {
    const id = await createPending(60_000);
    await fault({ method: 'GET', delayMs: 3000 });
    const controller = new AbortController();
    const reason = new Error('stopped');
    const polling = client().pollUntilReady(id, { signal: controller.signal, intervalMs: 250, timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    controller.abort(reason);
    await assert.rejects(polling, (error) => error === reason);
    assert.ok(performance.now() - started < 200, 'the request was cancelled, not awaited');
    assert.deepEqual(requestLines(), ['POST /stream', `GET /stream/${id}`]);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('removes its abort listener when the session becomes ready', async () => {
    const id = await createPending(100);
    const controller = new AbortController();
    await client().pollUntilReady(id, { signal: controller.signal, intervalMs: 250, timeoutMs: 10_000 });
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });
});

describe('KitSessionClient.terminate', () => {
  let fetchCalls: Array<{ url: string; method: string | undefined; keepalive: boolean | undefined; body: unknown }> = [];
  const realFetch = globalThis.fetch;

  beforeEach(() => {
    fetchCalls = [];
    globalThis.fetch = (input, init) => {
      fetchCalls.push({ url: String(input), method: init?.method, keepalive: init?.keepalive, body: init?.body });
      return realFetch(input, init);
    };
  });

  afterEach(() => {
    globalThis.fetch = realFetch;
  });

  it('ends a session with DELETE /stream/{id}', async () => {
    const { id } = await client().create(viewer);
    await client().terminate(id);
    assert.deepEqual(requestLines(), ['POST /stream', `DELETE /stream/${id}`]);
    assert.deepEqual(simulator.sessions(), []);
    assert.equal(fetchCalls.at(-1)?.keepalive, undefined);
  });

  it('falls back to DELETE /stream with the id in the body when the path form answers 405', async () => {
    await setOptions({ terminateForms: 'body' });
    const { id } = await client().create(viewer);
    await client().terminate(id);
    assert.deepEqual(requestLines(), ['POST /stream', `DELETE /stream/${id}`, 'DELETE /stream']);
    assert.deepEqual(simulator.requests()[2].body, { id });
    assert.deepEqual(simulator.sessions(), []);
  });

  it('reports a session neither form knows as not found, and other failures of the path form at once', async () => {
    await rejectsWith(client().terminate('gone'), {
      code: 'not-found',
      status: 404,
      message: "Session not found: no active session has id 'gone'.",
    });
    assert.deepEqual(requestLines(), ['DELETE /stream/gone', 'DELETE /stream']);
    await control('reset');
    await fault({ method: 'DELETE', status: 403, body: '{"detail":"Not yours"}' });
    await rejectsWith(client().terminate('gone'), { code: 'forbidden', status: 403, message: 'Not yours' });
    assert.deepEqual(requestLines(), ['DELETE /stream/gone'], 'no second form after a refusal');
  });

  it('sends both forms at once with keepalive, and passes the flag to fetch', async () => {
    const { id } = await client().create(viewer);
    await client().terminate(id, { keepalive: true });
    assert.deepEqual(requestLines().slice(1).sort(), ['DELETE /stream', `DELETE /stream/${id}`]);
    assert.deepEqual(simulator.sessions(), []);
    const deletes = fetchCalls.filter((call) => call.method === 'DELETE');
    assert.equal(deletes.length, 2);
    assert.ok(
      deletes.every((call) => call.keepalive === true),
      'both requests keep alive',
    );
    await rejectsWith(client().terminate('gone', { keepalive: true }), {
      code: 'not-found',
      status: 404,
      message: "Session not found: no active session has id 'gone'.",
    });
  });

  it('rejects with the abort reason', async () => {
    const { id } = await client().create(viewer);
    const reason = new Error('stopped');
    await assert.rejects(client().terminate(id, { signal: AbortSignal.abort(reason) }), (error) => error === reason);
    assert.equal(simulator.sessions().length, 1);
  });
});
