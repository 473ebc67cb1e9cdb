/**
 * The HTTP rows of the fault matrix, against the simulators on loopback: each fault a gateway or a network produces
 * ends in a typed error a page can show (the code, the status when there was an answer, a message that never
 * carries markup), and the call after it, once the fault is spent, succeeds. The Kit session client talks to the Kit
 * simulator; the Theta client talks to the Theta simulator through the proxy, whose own answers are checked too.
 *
 * Run: node --import tsx --test test/reliability/http-faults.node.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startKitSimulator, type KitMediaFactory, type KitSimulator } from '../../demo/simulators/kit/kit-simulator.js';
import type { SimulatorFault } from '../../demo/simulators/shared/faults.js';
import type { ThetaSimulator } from '../../demo/simulators/theta/theta-simulator.js';
import { KitSessionClient } from '../../src/kit-stream-player/session-client.js';
import { ThetaClient } from '../../src/theta-live-setup/theta-client.js';
import type { ServedFetchHandler } from '../../src/theta-proxy/node-server.js';
import { startThetaBehindProxy, type ThetaBehindProxy } from '../support/theta-behind-proxy.js';

/** The request timeout of the clients here, and the proxy's upstream timeout: long enough for loopback under load. */
const TIMEOUT_MS = 500;
/** A slow answer well inside {@link TIMEOUT_MS}, and one well past it. */
const JUST_UNDER_MS = 150;
const JUST_OVER_MS = 900;

const GATEWAY_PAGE = '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>';
const LOGIN_PAGE = '<!doctype html><html><head><title>Sign in</title></head><body><form action="/login"></form></body></html>';

/** What a page reads from a failure; a RegExp where the words are the client's own. */
interface Expected {
  code: string;
  status?: number;
  message: string | RegExp;
}

interface Row {
  name: string;
  /** Armed for one request; the next request meets the service as it is. */
  fault: SimulatorFault;
  expected: Expected;
}

async function expectFailure(call: Promise<unknown>, expected: Expected, row: string): Promise<void> {
  const error = await call.then(
    (value) => assert.fail(`${row}: expected a failure, got ${JSON.stringify(value)}`),
    (reason: unknown) => reason,
  );
  assert.ok(error instanceof Error, `${row}: an Error, got ${String(error)}`);
  const { code, status, message } = error as Error & { code?: unknown; status?: unknown };
  assert.deepEqual({ code, status }, { code: expected.code, status: expected.status }, `${row}: ${message}`);
  if (typeof expected.message === 'string') assert.equal(message, expected.message, row);
  else assert.match(message, expected.message, row);
  assert.doesNotMatch(message, /</, `${row}: no markup in a message`);
}

/**
 * The rows every client meets the same way: error statuses with each kind of body, gateways, bodies that are no JSON.
 * `serverError` writes the service's own error body; `allowHeaders` says whether the simulator's faults can add headers.
 */
function commonRows(serverError: (message: string) => string, allowHeaders: boolean): Row[] {
  const rows: Row[] = [];
  for (const status of [500, 502, 503]) {
    rows.push(
      {
        name: `${status} with JSON`,
        fault: { status, body: serverError('The service is having a moment'), contentType: 'application/json' },
        expected: { code: 'server-error', status, message: 'The service is having a moment' },
      },
      {
        name: `${status} with an HTML page`,
        fault: { status, body: GATEWAY_PAGE, contentType: 'text/html' },
        expected: {
          code: 'server-error',
          status,
          message: new RegExp(`${status} with an HTML page instead of JSON \\("502 Bad Gateway"\\)`),
        },
      },
      {
        name: `${status} with an empty body`,
        fault: { status, body: '', contentType: 'text/plain' },
        expected: { code: 'server-error', status, message: new RegExp(`\\b${status}\\b`) },
      },
    );
  }
  rows.push(
    {
      name: '401 from a gateway, with its sign-in page',
      fault: {
        status: 401,
        body: LOGIN_PAGE,
        contentType: 'text/html',
        ...(allowHeaders ? { headers: { 'WWW-Authenticate': 'Bearer realm="gateway"' } } : {}),
      },
      expected: { code: 'unauthorized', status: 401, message: /401 with an HTML page instead of JSON \("Sign in"\)/ },
    },
    {
      name: '403 from a gateway, with an empty body',
      fault: { status: 403, body: '' },
      expected: { code: 'forbidden', status: 403, message: /\b403\b/ },
    },
    {
      name: '200 with JSON cut short',
      fault: { status: 200, body: '{"status": "success", "body": {"id": "abc", "rou', contentType: 'application/json' },
      expected: {
        code: 'malformed-response',
        status: 200,
        message: /200 with a body that is not valid JSON \(content type application\/json\)/,
      },
    },
    {
      name: '200 with an HTML page labelled as JSON',
      fault: { status: 200, body: GATEWAY_PAGE, contentType: 'application/json' },
      expected: { code: 'malformed-response', status: 200, message: /200 with an HTML page instead of JSON/ },
    },
  );
  return rows;
}

describe('Kit session client: HTTP faults', () => {
  /** Sessions whose routes name ports nothing listens on: these tests never connect. */
  const routesOnly: KitMediaFactory = async () => ({
    signaling: { sourcePort: 41000, destinationPort: 49100 },
    media: { sourcePort: 41001, destinationPort: 47998 },
    close: async () => {},
  });
  const viewer = { appId: 'usd-viewer', profile: 'default' };
  let simulator: KitSimulator;
  let client: KitSessionClient;

  before(async () => {
    simulator = await startKitSimulator({ host: '127.0.0.1', port: 0, readyAfterMs: 0, media: routesOnly });
    client = new KitSessionClient({ server: simulator.url, requestTimeoutMs: TIMEOUT_MS });
  });
  beforeEach(async () => {
    await simulator.reset();
    simulator.setOptions({ readyAfterMs: 0 });
  });
  after(async () => {
    await simulator.close();
  });

  const rows: Row[] = [
    ...commonRows((message) => JSON.stringify({ detail: message }), true),
    {
      name: '200 without routes',
      fault: { status: 200, body: JSON.stringify({ id: 'abc', status: { condition: 'ready', status: true } }) },
      expected: { code: 'no-signaling-route', message: /no routes to connect to/ },
    },
    {
      name: '200 with routes of the wrong shape',
      fault: { status: 200, body: JSON.stringify({ id: 'abc', routes: { '127.0.0.1': 'signaling:41000' } }) },
      expected: { code: 'no-signaling-route', message: /no signaling route/ },
    },
    {
      name: 'an answer that never finishes',
      fault: { truncate: { afterBytes: 20, then: 'stall' } },
      expected: { code: 'timeout', message: /^No answer from http:\/\/127\.0\.0\.1:\d+\/stream within 0\.5 s/ },
    },
    {
      name: 'a connection reset mid-body',
      fault: { truncate: { afterBytes: 20, then: 'reset' } },
      expected: { code: 'network', message: /^Could not reach http:\/\/127\.0\.0\.1:\d+\/stream: / },
    },
    {
      name: 'an answer just over the request timeout',
      fault: { delayMs: JUST_OVER_MS },
      expected: { code: 'timeout', message: /within 0\.5 s/ },
    },
  ];

  for (const { name, fault, expected } of rows) {
    it(`create: ${name}, then the next call succeeds`, async () => {
      simulator.addFaults([{ method: 'POST', path: '^/stream$', ...fault }]);
      await expectFailure(client.create(viewer), expected, name);
      const session = await client.create(viewer);
      assert.equal(session.ready, true);
    });
  }

  it('create: an answer just under the request timeout, and a session labelled text/plain, are read', async () => {
    simulator.addFaults([
      { method: 'POST', path: '^/stream$', delayMs: JUST_UNDER_MS },
      { method: 'POST', path: '^/stream$', headers: { 'Content-Type': 'text/plain' } },
    ]);
    assert.equal((await client.create(viewer)).ready, true);
    assert.equal((await client.create(viewer)).ready, true);
  });

  it('polling: 5xx pages, empty bodies, answers cut short and slow answers are retried until the session is ready', async () => {
    simulator.setOptions({ readyAfterMs: 2500 });
    const pending = await client.create(viewer);
    assert.equal(pending.ready, false);
    const poll = `^/stream/${pending.id}$`;
    simulator.addFaults([
      { method: 'GET', path: poll, status: 502, body: GATEWAY_PAGE, contentType: 'text/html' },
      { method: 'GET', path: poll, status: 503, body: '' },
      { method: 'GET', path: poll, truncate: { afterBytes: 10, then: 'reset' } },
      { method: 'GET', path: poll, truncate: { afterBytes: 10, then: 'stall' } },
      { method: 'GET', path: poll, delayMs: JUST_OVER_MS },
    ]);
    const ready = await client.pollUntilReady(pending.id, { intervalMs: 100, timeoutMs: 15_000 });
    assert.equal(ready.id, pending.id);
    assert.deepEqual(simulator.faults(), [], 'every fault met a poll');
  });

  it('polling: a gateway that asks for credentials ends the wait at once', async () => {
    simulator.setOptions({ readyAfterMs: 60_000 });
    const pending = await client.create(viewer);
    simulator.addFaults([{ method: 'GET', path: `^/stream/${pending.id}$`, status: 401, body: '' }]);
    const started = performance.now();
    await expectFailure(
      client.pollUntilReady(pending.id, { intervalMs: 100, timeoutMs: 15_000 }),
      {
        code: 'unauthorized',
        status: 401,
        message: /\b401\b/,
      },
      '401 while polling',
    );
    assert.ok(performance.now() - started < 5000);
  });
});

describe('Theta client through the proxy: HTTP faults', () => {
  const account = { id: 'srvacc_httpfaults', secret: 'http-faults-secret-7c1d9e' };
  let stack: ThetaBehindProxy | undefined;
  let simulator: ThetaSimulator;
  let proxy: ServedFetchHandler;
  let client: ThetaClient;

  before(async () => {
    stack = await startThetaBehindProxy(account, TIMEOUT_MS);
    ({ simulator, proxy } = stack);
    client = new ThetaClient({ apiBase: proxy.url, timeoutMs: 5000 });
  });
  beforeEach(() => simulator.faults.clear());
  after(async () => {
    await stack?.close();
  });

  const rows: Row[] = [
    ...commonRows((message) => JSON.stringify({ status: 'error', message }), false),
    {
      name: '200 with a body of the wrong shape',
      fault: { status: 200, body: JSON.stringify({ status: 'success', body: { ingestors: 'none' } }) },
      expected: { code: 'malformed-response', status: 200, message: 'The service sent an ingestor list without ingestors' },
    },
    {
      name: 'an answer that never finishes (the proxy gives up)',
      fault: { truncate: { afterBytes: 20, then: 'stall' } },
      expected: { code: 'server-error', status: 504, message: /did not answer within 0\.5 s/ },
    },
    {
      name: 'a connection reset mid-body (the proxy says so)',
      fault: { truncate: { afterBytes: 20, then: 'reset' } },
      expected: { code: 'server-error', status: 502, message: /^Could not reach the Theta Video API/ },
    },
    {
      name: 'an answer just over the proxy timeout',
      fault: { delayMs: JUST_OVER_MS },
      expected: { code: 'server-error', status: 504, message: /did not answer within 0\.5 s/ },
    },
  ];

  for (const { name, fault, expected } of rows) {
    it(`list ingestors: ${name}, then the next call succeeds`, async () => {
      simulator.faults.add({ method: 'GET', path: '^/ingestor/filter$', ...fault });
      await expectFailure(client.listIngestors(), expected, name);
      assert.ok((await client.listIngestors()).ingestors.length > 0);
    });
  }

  it('list ingestors: an answer just under the proxy timeout is read', async () => {
    simulator.faults.add({ method: 'GET', path: '^/ingestor/filter$', delayMs: JUST_UNDER_MS });
    assert.ok((await client.listIngestors()).ingestors.length > 0);
  });

  it('the proxy answers a cut or endless upstream answer with JSON of its own, in time, without the secret', async () => {
    simulator.faults.add([
      { method: 'GET', path: '^/ingestor/filter$', truncate: { afterBytes: 20, then: 'stall' } },
      { method: 'GET', path: '^/ingestor/filter$', truncate: { afterBytes: 20, then: 'reset' } },
    ]);
    for (const status of [504, 502]) {
      const started = performance.now();
      const response = await fetch(`${proxy.url}/ingestor/filter`, { signal: AbortSignal.timeout(5000) });
      const text = await response.text();
      assert.equal(response.status, status);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(Object.keys(JSON.parse(text) as object).sort(), ['message', 'status']);
      assert.doesNotMatch(text, new RegExp(account.secret));
      assert.ok(performance.now() - started < TIMEOUT_MS + 1000, `answered after ${Math.round(performance.now() - started)} ms`);
    }
  });
});
