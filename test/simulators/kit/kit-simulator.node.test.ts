import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import {
  startKitSimulator,
  type KitMediaFactory,
  type KitMediaSessionInfo,
  type KitSimulator,
  type KitSimulatorOptions,
} from '../../../demo/simulators/kit/kit-simulator.js';
import { rawExchange, rawRequestText } from '../shared/raw-http.js';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests walk untyped JSON answers and let assert check them
  json: any;
}

async function call(
  url: string,
  init: { method?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined = init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(url, { method: init.method ?? 'GET', headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

async function withSimulator(options: KitSimulatorOptions, run: (simulator: KitSimulator) => Promise<void>): Promise<void> {
  const simulator = await startKitSimulator({ port: 0, host: '127.0.0.1', readyAfterMs: 0, ...options });
  try {
    await run(simulator);
  } finally {
    await simulator.close();
  }
}

function fakeMedia(): {
  factory: KitMediaFactory;
  calls: KitMediaSessionInfo[];
  faults: string[];
  closed: () => number;
} {
  const calls: KitMediaSessionInfo[] = [];
  const faults: string[] = [];
  let closed = 0;
  let nextPort = 41000;
  const factory: KitMediaFactory = async (session) => {
    calls.push(session);
    const port = nextPort;
    nextPort += 2;
    return {
      signaling: { sourcePort: port, destinationPort: 49100 },
      media: { sourcePort: port + 1, destinationPort: 47998 },
      close: async () => {
        closed += 1;
      },
      fault: (kind: string) => {
        if (kind === 'unknown-kind') throw new Error('no such fault');
        faults.push(kind);
      },
      messages: () => [{ event_type: 'openStageRequest', payload: { url: session.usdStageUri } }],
      connections: () => 2,
    };
  };
  return { factory, calls, faults, closed: () => closed };
}

const createBody = { id: 'usd-viewer', profile: 'default' };

/** Polls a session until it answers 200; bounded so a broken simulator fails the test instead of hanging it. */
async function pollUntilReady(url: string, attempts = 100, intervalMs = 10): Promise<Reply> {
  let last: Reply | undefined;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    last = await call(url);
    if (last.status !== 202) return last;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  assert.fail(`session still pending after ${attempts} polls: ${last?.text}`);
}

test('POST /stream answers 200 with documented routes at once when readyAfterMs is 0', async () => {
  const media = fakeMedia();
  await withSimulator({ media: media.factory }, async (simulator) => {
    const created = await call(`${simulator.url}/stream`, { method: 'POST', body: createBody });
    assert.equal(created.status, 200);
    assert.match(created.json.id, uuidPattern);
    assert.deepEqual(created.json.status, { condition: 'ready', message: 'Session is active', status: true });
    assert.deepEqual(created.json.routes, {
      '127.0.0.1': [
        { description: 'signaling', protocol: 'TCP', source_port: 41000, destination_port: 49100 },
        { description: 'media', protocol: 'UDP', source_port: 41001, destination_port: 47998 },
      ],
    });
    const fetched = await call(`${simulator.url}/stream/${created.json.id}`);
    assert.equal(fetched.status, 200);
    assert.deepEqual(fetched.json, created.json);
    assert.deepEqual(simulator.sessions(), [
      { id: created.json.id, ready: true, state: 'ready', appId: 'usd-viewer', profile: 'default', version: '107.0.3' },
    ]);
  });
});

test('a pending session answers 202 until it is ready, then 200 with routes', async () => {
  const media = fakeMedia();
  await withSimulator({ media: media.factory, readyAfterMs: 60 }, async (simulator) => {
    const created = await call(`${simulator.url}/stream`, { method: 'POST', body: createBody });
    assert.equal(created.status, 202);
    assert.deepEqual(created.json, {
      id: created.json.id,
      status: { condition: 'pending', message: 'Session is being prepared', status: false },
    });
    assert.equal(created.headers.get('retry-after'), null);
    assert.equal(media.calls.length, 0, 'media starts only when the session becomes ready');
    const pending = await call(`${simulator.url}/stream/${created.json.id}`);
    assert.equal(pending.status, 202);
    assert.equal(simulator.sessions()[0]?.ready, false);

    const ready = await pollUntilReady(`${simulator.url}/stream/${created.json.id}`);
    assert.equal(ready.status, 200);
    assert.equal(ready.json.status.condition, 'ready');
    assert.equal(ready.json.routes['127.0.0.1'][0].source_port, 41000);
    assert.equal(simulator.sessions()[0]?.ready, true);
  });
});

test("routesShape 'nested' puts the routes one level deeper, as NVIDIA's sample reads them", async () => {
  const media = fakeMedia();
  await withSimulator({ media: media.factory, routesShape: 'nested', routeIp: '10.20.30.40' }, async (simulator) => {
    const created = await call(`${simulator.url}/stream`, { method: 'POST', body: createBody });
    assert.equal(created.status, 200);
    assert.deepEqual(Object.keys(created.json.routes), ['10.20.30.40']);
    assert.equal(created.json.routes['10.20.30.40'].routes.length, 2);
    assert.equal(created.json.routes['10.20.30.40'].routes[1].protocol, 'UDP');

    simulator.setOptions({ routesShape: 'flat' });
    const flat = await call(`${simulator.url}/stream/${created.json.id}`);
    assert.ok(Array.isArray(flat.json.routes['10.20.30.40']));
  });
});

test('a path prefix serves the API under it and leaves other paths 404', async () => {
  await withSimulator({ prefix: '/streaming/' }, async (simulator) => {
    assert.equal(simulator.url, `${simulator.origin}/streaming`);
    assert.equal(simulator.origin, `http://127.0.0.1:${simulator.port}`);
    const created = await call(`${simulator.origin}/streaming/stream`, { method: 'POST', body: createBody });
    assert.equal(created.status, 200);
    const outside = await call(`${simulator.origin}/stream`, { method: 'POST', body: createBody });
    assert.equal(outside.status, 404);
    assert.deepEqual(outside.json, { detail: 'Not Found' });
    assert.deepEqual(
      simulator.requests().map((entry) => entry.path),
      ['/stream', '/stream'],
      'the log names paths after the prefix, and the whole path outside it',
    );
    const apps = await call(`${simulator.url}/cfg/apps`);
    assert.equal(apps.status, 200);
  });
});

test('POST /stream validation answers 422 in the FastAPI shape', async () => {
  await withSimulator({}, async (simulator) => {
    const post = (body: unknown, rawBody?: string): Promise<Reply> =>
      call(`${simulator.url}/stream`, { method: 'POST', ...(rawBody === undefined ? { body } : { rawBody }) });

    const missingId = await post({ profile: 'default' });
    assert.equal(missingId.status, 422);
    assert.deepEqual(missingId.json, { detail: [{ loc: ['body', 'id'], msg: 'Field required', type: 'missing' }] });

    const empty = await post(undefined, '');
    assert.equal(empty.status, 422);
    assert.deepEqual(
      empty.json.detail.map((issue: { loc: string[] }) => issue.loc),
      [
        ['body', 'id'],
        ['body', 'profile'],
      ],
    );

    const broken = await post(undefined, '{"id": "usd-viewer",');
    assert.equal(broken.status, 422);
    assert.equal(broken.json.detail[0].type, 'json_invalid');

    const wrongType = await post({ id: 5, profile: 'default', arguments: [] });
    assert.equal(wrongType.status, 422);
    assert.deepEqual(
      wrongType.json.detail.map((issue: { loc: string[]; type: string }) => [issue.loc.join('.'), issue.type]),
      [
        ['body.id', 'string_type'],
        ['body.arguments', 'dict_type'],
      ],
    );

    const unknownApp = await post({ id: 'paint', profile: 'default' });
    assert.equal(unknownApp.status, 422);
    assert.deepEqual(unknownApp.json.detail[0].loc, ['body', 'id']);
    assert.equal(unknownApp.json.detail[0].type, 'value_error');
    assert.match(unknownApp.json.detail[0].msg, /Unknown application 'paint'.*usd-viewer, usd-composer/);

    const unknownVersion = await post({ id: 'usd-viewer', profile: 'default', version: '1.0' });
    assert.equal(unknownVersion.status, 422);
    assert.deepEqual(unknownVersion.json.detail[0].loc, ['body', 'version']);
    assert.match(unknownVersion.json.detail[0].msg, /no version '1\.0'.*107\.0\.3, 106\.5\.0/);

    const unknownProfile = await post({ id: 'usd-composer', profile: 'high-quality' });
    assert.equal(unknownProfile.status, 422);
    assert.deepEqual(unknownProfile.json.detail[0].loc, ['body', 'profile']);
    assert.match(unknownProfile.json.detail[0].msg, /no profile 'high-quality'.*Available profiles: default/);

    const latest = await post({ id: 'usd-viewer', profile: 'high-quality', version: 'latest' });
    assert.equal(latest.status, 200);
    const older = await post({ id: 'usd-viewer', profile: 'default', version: '106.5.0', arguments: { usd_stage_uri: 's3://stage.usd' } });
    assert.equal(older.status, 200);
    assert.deepEqual(
      simulator.sessions().map(({ version, profile, usdStageUri }) => ({ version, profile, usdStageUri })),
      [
        { version: '107.0.3', profile: 'high-quality', usdStageUri: undefined },
        { version: '106.5.0', profile: 'default', usdStageUri: 's3://stage.usd' },
      ],
    );
  });
});

test('unknown and terminated sessions answer 404', async () => {
  await withSimulator({}, async (simulator) => {
    const unknown = await call(`${simulator.url}/stream/00000000-0000-0000-0000-000000000000`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.json.detail, /Session not found/);

    const created = await call(`${simulator.url}/stream`, { method: 'POST', body: createBody });
    const ended = await call(`${simulator.url}/stream/${created.json.id}`, { method: 'DELETE' });
    assert.equal(ended.status, 200);
    assert.equal((await call(`${simulator.url}/stream/${created.json.id}`)).status, 404);
    assert.equal((await call(`${simulator.url}/stream/${created.json.id}`, { method: 'DELETE' })).status, 404);
  });
});

test('GET /stream lists sessions with limit and offset', async () => {
  const media = fakeMedia();
  await withSimulator({ media: media.factory }, async (simulator) => {
    const ids: string[] = [];
    for (let index = 0; index < 3; index += 1) {
      ids.push((await call(`${simulator.url}/stream`, { method: 'POST', body: createBody })).json.id);
    }
    const all = await call(`${simulator.url}/stream`);
    assert.equal(all.status, 200);
    assert.equal(all.json.limit, 50);
    assert.equal(all.json.offset, 0);
    assert.equal(all.json.count, 3);
    assert.deepEqual(
      all.json.items.map((item: { id: string }) => item.id),
      ids,
    );
    assert.ok(Array.isArray(all.json.items[0].routes['127.0.0.1']));

    const page = await call(`${simulator.url}/stream?limit=2&offset=1`);
    assert.deepEqual({ offset: page.json.offset, limit: page.json.limit, count: page.json.count }, { offset: 1, limit: 2, count: 3 });
    assert.deepEqual(
      page.json.items.map((item: { id: string }) => item.id),
      ids.slice(1, 3),
    );

    const badLimit = await call(`${simulator.url}/stream?limit=many`);
    assert.equal(badLimit.status, 422);
    assert.deepEqual(badLimit.json.detail[0].loc, ['query', 'limit']);
    assert.equal(badLimit.json.detail[0].type, 'int_parsing');
    const badOffset = await call(`${simulator.url}/stream?offset=-1`);
    assert.equal(badOffset.status, 422);
    assert.deepEqual(badOffset.json.detail[0].loc, ['query', 'offset']);
  });
});

test('both terminate forms end the session and close its media', async () => {
  const media = fakeMedia();
  await withSimulator({ media: media.factory }, async (simulator) => {
    const first = (await call(`${simulator.url}/stream`, { method: 'POST', body: createBody })).json.id;
    const second = (await call(`${simulator.url}/stream`, { method: 'POST', body: createBody })).json.id;

    const byPath = await call(`${simulator.url}/stream/${first}`, { method: 'DELETE' });
    assert.equal(byPath.status, 200);
    assert.equal(byPath.json.id, first);
    assert.equal(media.closed(), 1);

    const byBody = await call(`${simulator.url}/stream`, { method: 'DELETE', body: { id: second } });
    assert.equal(byBody.status, 200);
    assert.equal(byBody.json.id, second);
    assert.equal(media.closed(), 2);
    assert.deepEqual(simulator.sessions(), []);

    const unknownByBody = await call(`${simulator.url}/stream`, { method: 'DELETE', body: { id: second } });
    assert.equal(unknownByBody.status, 404);
    const missingId = await call(`${simulator.url}/stream`, { method: 'DELETE', body: {} });
    assert.equal(missingId.status, 422);
    assert.deepEqual(missingId.json.detail[0].loc, ['body', 'id']);
  });
});

test("terminateForms 'path' and 'body' leave only one form, the other answering 405", async () => {
  await withSimulator({ terminateForms: 'path' }, async (simulator) => {
    const id = (await call(`${simulator.url}/stream`, { method: 'POST', body: createBody })).json.id;
    const byBody = await call(`${simulator.url}/stream`, { method: 'DELETE', body: { id } });
    assert.equal(byBody.status, 405);
    assert.deepEqual(byBody.json, { detail: 'Method Not Allowed' });
    assert.equal(byBody.headers.get('allow'), 'GET, POST');
    assert.equal((await call(`${simulator.url}/stream/${id}`, { method: 'DELETE' })).status, 200);
  });
  await withSimulator({ terminateForms: 'body' }, async (simulator) => {
    const id = (await call(`${simulator.url}/stream`, { method: 'POST', body: createBody })).json.id;
    const byPath = await call(`${simulator.url}/stream/${id}`, { method: 'DELETE' });
    assert.equal(byPath.status, 405);
    assert.equal(byPath.headers.get('allow'), 'GET');
    assert.equal((await call(`${simulator.url}/stream`, { method: 'DELETE', body: { id } })).status, 200);
    assert.deepEqual(simulator.sessions(), []);
  });
});

test('creating more sessions than the limit answers 503 saying what to do', async () => {
  await withSimulator({ sessionLimit: 2 }, async (simulator) => {
    const ids: string[] = [];
    for (let index = 0; index < 2; index += 1) {
      const created = await call(`${simulator.url}/stream`, { method: 'POST', body: createBody });
      assert.equal(created.status, 200);
      ids.push(created.json.id);
    }
    const refused = await call(`${simulator.url}/stream`, { method: 'POST', body: createBody });
    assert.equal(refused.status, 503);
    assert.match(refused.json.detail, /limit reached: 2 of 2/);
    assert.match(refused.json.detail, /Terminate a session/);

    await call(`${simulator.url}/stream/${ids[0]}`, { method: 'DELETE' });
    assert.equal((await call(`${simulator.url}/stream`, { method: 'POST', body: createBody })).status, 200);
  });
});

test('faults answer with a status and JSON or HTML body, only for matching requests and only so many times', async () => {
  await withSimulator({}, async (simulator) => {
    simulator.addFaults([
      { method: 'post', path: '^/stream$', status: 500, body: '{"detail": "GPU pool exhausted"}', times: 2 },
      { method: 'GET', path: '^/cfg/apps$', status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' },
    ]);
    const untouched = await call(`${simulator.url}/stream`);
    assert.equal(untouched.status, 200, 'a GET does not match a POST fault');

    for (let attempt = 0; attempt < 2; attempt += 1) {
      const faulted = await call(`${simulator.url}/stream`, { method: 'POST', body: createBody, headers: { origin: 'http://app.test' } });
      assert.equal(faulted.status, 500);
      assert.deepEqual(faulted.json, { detail: 'GPU pool exhausted' });
      assert.equal(faulted.headers.get('content-type'), 'application/json');
      assert.equal(faulted.headers.get('access-control-allow-origin'), 'http://app.test');
    }
    assert.equal((await call(`${simulator.url}/stream`, { method: 'POST', body: createBody })).status, 200);

    const html = await call(`${simulator.url}/cfg/apps`);
    assert.equal(html.status, 502);
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(html.text, /502 Bad Gateway/);
    assert.deepEqual(simulator.faults(), []);

    const faultedPosts = simulator.requests().filter((entry) => entry.method === 'POST');
    assert.equal(faultedPosts.length, 3, 'faulted requests are still logged');
    assert.deepEqual(faultedPosts[0]?.body, createBody);
  });
});

test('a broken-JSON fault sends exactly the given body and content type', async () => {
  await withSimulator({}, async (simulator) => {
    simulator.addFaults([{ path: '^/stream/', status: 200, body: '{"id": "abc", "routes": {', contentType: 'application/json' }]);
    const reply = await call(`${simulator.url}/stream/abc`);
    assert.equal(reply.status, 200);
    assert.equal(reply.text, '{"id": "abc", "routes": {');
    assert.equal(reply.headers.get('content-type'), 'application/json');
  });
});

test('a delay-only fault answers late with the normal answer; a headers-only fault adds headers', async () => {
  await withSimulator({}, async (simulator) => {
    simulator.addFaults([{ path: '^/cfg/apps$', delayMs: 150 }]);
    const started = Date.now();
    const late = await call(`${simulator.url}/cfg/apps`);
    assert.ok(Date.now() - started >= 140, `answered after ${Date.now() - started} ms`);
    assert.equal(late.status, 200);
    assert.equal(late.json.items.length, 2);

    simulator.addFaults([{ path: '^/cfg/apps$', headers: { 'X-Gateway': 'edge-7', 'Cache-Control': 'max-age=5' } }]);
    const decorated = await call(`${simulator.url}/cfg/apps`);
    assert.equal(decorated.status, 200);
    assert.equal(decorated.headers.get('x-gateway'), 'edge-7');
    assert.equal(decorated.headers.get('cache-control'), 'max-age=5');
  });
});

test('a drop fault closes the connection without an answer', async () => {
  await withSimulator({}, async (simulator) => {
    simulator.addFaults([{ method: 'POST', path: '^/stream$', drop: true }]);
    await assert.rejects(call(`${simulator.url}/stream`, { method: 'POST', body: createBody }));
    assert.deepEqual(simulator.sessions(), []);
    assert.equal(simulator.requests().length, 1);
    assert.equal((await call(`${simulator.url}/stream`, { method: 'POST', body: createBody })).status, 200);
  });
});

test('truncating faults, armed over the control endpoint: a gateway page that stalls, an API answer reset mid-body', async () => {
  const log: string[] = [];
  await withSimulator({ log: (line) => log.push(line) }, async (simulator) => {
    const gatewayPage = '<html><body><h1>502 Bad Gateway</h1></body></html>';
    const armed = await call(`${simulator.origin}/_control/faults`, {
      method: 'POST',
      body: [
        { method: 'GET', path: '^/stream$', status: 502, body: gatewayPage, truncate: { afterBytes: 12, then: 'stall' } },
        { method: 'POST', path: '^/stream$', truncate: { afterBytes: 6, then: 'reset' } },
      ],
    });
    assert.equal(armed.status, 200);
    assert.deepEqual(armed.json[1].truncate, { afterBytes: 6, then: 'reset' });

    const stalled = await rawExchange(simulator.port, rawRequestText('/stream', { headers: { Origin: 'http://app.test' } }));
    assert.equal(stalled.status, 502);
    assert.equal(stalled.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(stalled.headers['content-length'], String(gatewayPage.length), 'the whole body is promised');
    assert.equal(stalled.headers['access-control-allow-origin'], 'http://app.test');
    assert.equal(stalled.body.toString(), gatewayPage.slice(0, 12));
    assert.equal(stalled.outcome, 'open');
    stalled.socket.destroy();
    for (let attempt = 0; attempt < 100 && !log.some((line) => line.startsWith('GET /stream closed')); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(
      log.some((line) => line.startsWith('GET /stream closed without an answer')),
      'the simulator let go when the client left',
    );

    const body = JSON.stringify(createBody);
    const reset = await rawExchange(
      simulator.port,
      rawRequestText('/stream', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } }),
    );
    assert.equal(reset.outcome, 'reset');
    assert.equal(reset.status, 200, "the API's own answer");
    assert.equal(reset.headers['content-type'], 'application/json');
    assert.equal(reset.body.toString(), '{"id":');
    assert.ok(Number(reset.headers['content-length']) > 6);
    assert.equal(simulator.sessions().length, 1, 'the session exists though the client never learnt its id');
    assert.deepEqual(simulator.faults(), []);

    const refused = await call(`${simulator.origin}/_control/faults`, {
      method: 'POST',
      body: { status: 500, body: '{}', truncate: { afterBytes: 2, then: 'stall' } },
    });
    assert.equal(refused.status, 422);
    assert.equal(refused.json.detail, "fault.truncate.afterBytes must be less than the body's 2 bytes, or the answer would be whole");
  });
});

test('faults can be armed, listed and cleared over the control endpoint', async () => {
  await withSimulator({}, async (simulator) => {
    const armed = await call(`${simulator.origin}/_control/faults`, {
      method: 'POST',
      body: [{ path: '^/stream$', status: 403, times: 3 }],
    });
    assert.equal(armed.status, 200);
    assert.equal(armed.json[0].remaining, 3);
    const forbidden = await call(`${simulator.url}/stream`);
    assert.equal(forbidden.status, 403);
    assert.deepEqual(forbidden.json, { detail: 'Forbidden' });
    assert.equal((await call(`${simulator.origin}/_control/faults`)).json[0].remaining, 2);

    assert.equal((await call(`${simulator.origin}/_control/faults`, { method: 'DELETE' })).status, 204);
    assert.equal((await call(`${simulator.url}/stream`)).status, 200);

    const invalid = await call(`${simulator.origin}/_control/faults`, { method: 'POST', body: [{ path: '(', status: 500 }] });
    assert.equal(invalid.status, 422);
    assert.match(invalid.json.detail, /faults\[0\]\.path is not a valid regular expression/);
    const unknownField = await call(`${simulator.origin}/_control/faults`, { method: 'POST', body: { stauts: 500 } });
    assert.equal(unknownField.status, 422);
    assert.equal(
      unknownField.json.detail,
      'fault.stauts is not a fault field (known: method, path, times, status, body, contentType, headers, delayMs, drop, truncate)',
    );
    const tooLate = await call(`${simulator.origin}/_control/faults`, { method: 'POST', body: { delayMs: 600_001 } });
    assert.equal(tooLate.status, 422);
    assert.equal(tooLate.json.detail, 'fault.delayMs must be a number of milliseconds from 0 to 600000');
    assert.throws(() => simulator.addFaults([{ status: 99 }]), /status must be an integer from 200 to 599/);
  });
});

test('pending answers carry Retry-After when retryAfterSeconds is set', async () => {
  await withSimulator({ readyAfterMs: 5000, retryAfterSeconds: 3 }, async (simulator) => {
    const created = await call(`${simulator.url}/stream`, { method: 'POST', body: createBody, headers: { origin: 'http://app.test' } });
    assert.equal(created.status, 202);
    assert.equal(created.headers.get('retry-after'), '3');
    assert.equal(created.headers.get('access-control-expose-headers'), 'Retry-After');
    const polled = await call(`${simulator.url}/stream/${created.json.id}`);
    assert.equal(polled.headers.get('retry-after'), '3');

    simulator.setOptions({ retryAfterSeconds: undefined });
    assert.equal((await call(`${simulator.url}/stream/${created.json.id}`)).headers.get('retry-after'), null);
  });
});

test('CORS: preflights answer 204 and every answer allows the calling origin', async () => {
  await withSimulator({ prefix: '/streaming' }, async (simulator) => {
    const preflight = await call(`${simulator.url}/stream`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://app.test:8000',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, x-tenant',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://app.test:8000');
    assert.equal(preflight.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'GET, POST, DELETE, OPTIONS');
    assert.equal(preflight.headers.get('access-control-allow-headers'), 'authorization, content-type, x-tenant');
    assert.match(preflight.headers.get('vary') ?? '', /Origin/);

    const withOrigin = await call(`${simulator.url}/stream/unknown`, { headers: { origin: 'http://app.test:8000' } });
    assert.equal(withOrigin.status, 404);
    assert.equal(withOrigin.headers.get('access-control-allow-origin'), 'http://app.test:8000');
    assert.equal(withOrigin.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(withOrigin.headers.get('access-control-expose-headers'), 'Retry-After');
    assert.equal(withOrigin.headers.get('vary'), 'Origin');

    const withoutOrigin = await call(`${simulator.url}/stream`);
    assert.equal(withoutOrigin.headers.get('access-control-allow-origin'), '*');
    assert.equal(withoutOrigin.headers.get('access-control-allow-credentials'), null);

    const control = await call(`${simulator.origin}/_control/sessions`, { headers: { origin: 'http://app.test:8000' } });
    assert.equal(control.headers.get('access-control-allow-origin'), 'http://app.test:8000');

    assert.deepEqual(
      simulator.requests().map((entry) => entry.method),
      ['GET', 'GET'],
      'preflights and control requests are not logged',
    );
  });
});

test('the request log records method, path, query, parsed body and authentication headers', async () => {
  await withSimulator({}, async (simulator) => {
    const before = Date.now();
    await call(`${simulator.url}/stream?limit=5&offset=0`, {
      headers: { authorization: 'Bearer secret-token', cookie: 'session=abc', 'x-tenant': 'acme', 'user-agent': 'test' },
    });
    await call(`${simulator.url}/stream`, { method: 'POST', rawBody: 'not json', headers: { 'content-type': 'text/plain' } });
    await call(`${simulator.url}/stream`, { method: 'POST', body: { ...createBody, arguments: { usd_stage_uri: 'omniverse://x.usd' } } });

    const log = simulator.requests();
    assert.equal(log.length, 3);
    const [list, raw, create] = log;
    assert.ok(list && raw && create);
    assert.ok(list.time >= before && list.time <= Date.now());
    assert.equal(list.method, 'GET');
    assert.equal(list.path, '/stream');
    assert.deepEqual(list.query, { limit: '5', offset: '0' });
    assert.equal(list.body, null);
    assert.deepEqual(list.headers, { authorization: 'Bearer secret-token', cookie: 'session=abc', 'x-tenant': 'acme' });
    assert.equal(raw.body, 'not json');
    assert.deepEqual(create.body, { ...createBody, arguments: { usd_stage_uri: 'omniverse://x.usd' } });
    assert.equal(create.headers['content-type'], 'application/json');

    const overHttp = await call(`${simulator.origin}/_control/requests`);
    assert.deepEqual(overHttp.json, JSON.parse(JSON.stringify(log)));
    assert.equal((await call(`${simulator.origin}/_control/requests`, { method: 'DELETE' })).status, 204);
    assert.deepEqual(simulator.requests(), []);
  });
});

test('the media factory gets the session details and its media closes on terminate and on close()', async () => {
  const media = fakeMedia();
  const simulator = await startKitSimulator({ port: 0, readyAfterMs: 0, media: media.factory, routeIp: '10.1.2.3' });
  let closedByClose = false;
  try {
    const created = await call(`${simulator.url}/stream`, {
      method: 'POST',
      body: {
        id: 'usd-viewer',
        profile: 'high-quality',
        version: '106.5.0',
        arguments: { usd_stage_uri: 'https://assets.test/stage.usd' },
      },
    });
    assert.equal(created.status, 200);
    assert.deepEqual(media.calls, [
      {
        id: created.json.id,
        usdStageUri: 'https://assets.test/stage.usd',
        routeIp: '10.1.2.3',
        appId: 'usd-viewer',
        profile: 'high-quality',
        version: '106.5.0',
      },
    ]);
    assert.deepEqual(Object.keys(created.json.routes), ['10.1.2.3']);
    await call(`${simulator.url}/stream/${created.json.id}`, { method: 'DELETE' });
    assert.equal(media.closed(), 1);

    await call(`${simulator.url}/stream`, { method: 'POST', body: createBody });
    await call(`${simulator.url}/stream`, { method: 'POST', body: createBody });
    assert.equal(media.closed(), 1);
    await simulator.close();
    closedByClose = true;
    assert.equal(media.closed(), 3);
    assert.deepEqual(simulator.sessions(), []);
  } finally {
    if (!closedByClose) await simulator.close();
  }
});

test('a media factory that fails turns the session into a 500 that says to start over', async () => {
  let failures = 0;
  const failing: KitMediaFactory = async () => {
    failures += 1;
    throw new Error('no GPU available');
  };
  await withSimulator({ media: failing }, async (simulator) => {
    const immediate = await call(`${simulator.url}/stream`, { method: 'POST', body: createBody });
    assert.equal(immediate.status, 500);
    assert.equal(typeof immediate.json.detail, 'string');
    assert.deepEqual(simulator.sessions(), []);

    simulator.setOptions({ readyAfterMs: 10 });
    const created = await call(`${simulator.url}/stream`, { method: 'POST', body: createBody });
    assert.equal(created.status, 202);
    const failed = await pollUntilReady(`${simulator.url}/stream/${created.json.id}`);
    assert.equal(failed.status, 500);
    assert.match(failed.json.detail, /no GPU available.*Terminate this session/);
    assert.equal(failures, 2);
    assert.equal((await call(`${simulator.url}/stream/${created.json.id}`, { method: 'DELETE' })).status, 200);
  });
});

test('control endpoints report sessions, change options and drive session media', async () => {
  const media = fakeMedia();
  await withSimulator({ media: media.factory }, async (simulator) => {
    const options = await call(`${simulator.origin}/_control/options`, { method: 'POST', body: { readyAfterMs: 0, sessionLimit: 1 } });
    assert.equal(options.status, 200);
    assert.equal(options.json.sessionLimit, 1);
    const badOption = await call(`${simulator.origin}/_control/options`, { method: 'POST', body: { routesShape: 'deep' } });
    assert.equal(badOption.status, 422);
    assert.match(badOption.json.detail, /routesShape/);
    assert.throws(() => simulator.setOptions({ port: 1 }), /cannot change/);

    const id = (await call(`${simulator.url}/stream`, { method: 'POST', body: createBody })).json.id;
    const sessions = await call(`${simulator.origin}/_control/sessions`);
    assert.deepEqual(sessions.json, simulator.sessions());

    const fault = await call(`${simulator.origin}/_control/sessions/${id}/fault`, { method: 'POST', body: { kind: 'drop-signaling' } });
    assert.equal(fault.status, 200);
    assert.deepEqual(media.faults, ['drop-signaling']);
    const failedFault = await call(`${simulator.origin}/_control/sessions/${id}/fault`, { method: 'POST', body: { kind: 'unknown-kind' } });
    assert.equal(failedFault.status, 422);
    const unknownSession = await call(`${simulator.origin}/_control/sessions/nope/fault`, { method: 'POST', body: { kind: 'stop-media' } });
    assert.equal(unknownSession.status, 404);

    const messages = await call(`${simulator.origin}/_control/sessions/${id}/messages`);
    assert.deepEqual(messages.json, [{ event_type: 'openStageRequest', payload: {} }]);
    const connections = await call(`${simulator.origin}/_control/sessions/${id}/connections`);
    assert.deepEqual(connections.json, { connections: 2 });

    assert.equal((await call(`${simulator.origin}/_control/reset`, { method: 'POST' })).status, 204);
    assert.deepEqual(simulator.sessions(), []);
    assert.equal(media.closed(), 1);
    assert.equal((await call(`${simulator.origin}/_control/nothing`)).status, 404);
  });
});

test('session faults answer 501 when the media cannot fault, and the default media has real-looking ports', async () => {
  await withSimulator({}, async (simulator) => {
    const created = await call(`${simulator.url}/stream`, { method: 'POST', body: createBody });
    const [signaling, media] = created.json.routes['127.0.0.1'];
    assert.ok(signaling.source_port > 0 && signaling.source_port < 65536);
    assert.equal(signaling.destination_port, 49100);
    assert.ok(media.source_port > 0 && media.source_port < 65536);
    const fault = await call(`${simulator.origin}/_control/sessions/${created.json.id}/fault`, {
      method: 'POST',
      body: { kind: 'stop-media' },
    });
    assert.equal(fault.status, 501);
    assert.deepEqual((await call(`${simulator.origin}/_control/sessions/${created.json.id}/messages`)).json, []);
    assert.deepEqual((await call(`${simulator.origin}/_control/sessions/${created.json.id}/connections`)).json, { connections: 0 });
  });
});

test('the catalogue lists apps, versions and profiles', async () => {
  await withSimulator({ prefix: '/api' }, async (simulator) => {
    const apps = await call(`${simulator.url}/cfg/apps`);
    assert.deepEqual(
      apps.json.items.map((app: { id: string }) => app.id),
      ['usd-viewer', 'usd-composer'],
    );
    assert.equal(apps.json.count, 2);
    assert.equal(typeof apps.json.items[0].name, 'string');
    const versions = await call(`${simulator.url}/cfg/apps/usd-viewer/versions`);
    assert.deepEqual(versions.json.items, [{ version: '107.0.3' }, { version: '106.5.0' }]);
    const profiles = await call(`${simulator.url}/cfg/apps/usd-viewer/versions/106.5.0/profiles`);
    assert.deepEqual(
      profiles.json.items.map((profile: { id: string }) => profile.id),
      ['default', 'high-quality'],
    );
    assert.equal((await call(`${simulator.url}/cfg/apps/paint/versions`)).status, 404);
    assert.equal((await call(`${simulator.url}/cfg/apps/usd-viewer/versions/9/profiles`)).status, 404);
    assert.equal((await call(`${simulator.url}/cfg/apps`, { method: 'POST', body: {} })).status, 405);

    simulator.setOptions({ apps: [{ id: 'factory', versions: [{ version: '1.0', profiles: [{ id: 'lite' }] }] }] });
    assert.deepEqual((await call(`${simulator.url}/cfg/apps`)).json.items, [{ id: 'factory', name: 'factory', description: '', tags: [] }]);
    assert.equal((await call(`${simulator.url}/stream`, { method: 'POST', body: { id: 'factory', profile: 'lite' } })).status, 200);
    assert.throws(() => simulator.setOptions({ apps: [{ id: 'x', versions: [] }] }), /versions must be a non-empty array/);
  });
});

test('unknown paths answer 404, wrong methods 405, oversized bodies 413', async () => {
  await withSimulator({}, async (simulator) => {
    const unknown = await call(`${simulator.url}/nothing/here`);
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.json, { detail: 'Not Found' });
    assert.equal((await call(`${simulator.url}/stream/`)).status, 404);
    assert.equal((await call(`${simulator.url}/stream/a/b`)).status, 404);

    const wrongMethod = await call(`${simulator.url}/stream`, { method: 'PUT', body: createBody });
    assert.equal(wrongMethod.status, 405);
    assert.deepEqual(wrongMethod.json, { detail: 'Method Not Allowed' });

    const huge = await call(`${simulator.url}/stream`, {
      method: 'POST',
      body: { ...createBody, arguments: { padding: 'x'.repeat(200 * 1024) } },
    });
    assert.equal(huge.status, 413);
    assert.match(huge.json.detail, /65536 bytes/);
    assert.deepEqual(simulator.sessions(), []);
    assert.equal((await call(`${simulator.url}/stream`, { method: 'POST', body: createBody })).status, 200);
  });
});

test('aborted requests and malformed HTTP do not disturb the server', async () => {
  await withSimulator({}, async (simulator) => {
    // A body cut off half way: the client promises more bytes than it sends, then goes away.
    await new Promise<void>((resolve, reject) => {
      const socket = connect(simulator.port, '127.0.0.1', () => {
        socket.write(`POST /stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"id": "usd-`);
        setTimeout(() => socket.destroy(), 30);
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    const garbage = await new Promise<string>((resolve, reject) => {
      const socket = connect(simulator.port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    assert.match(garbage, /^HTTP\/1\.1 400/);
    const controlGarbage = await call(`${simulator.origin}/_control/options`, { method: 'POST', rawBody: '{oops' });
    assert.equal(controlGarbage.status, 400);
    assert.equal((await call(`${simulator.url}/stream`, { method: 'POST', body: createBody })).status, 200);
  });
});

test('close() ends connections, pending timers, delayed answers and media, leaving no handle open', async () => {
  const media = fakeMedia();
  // Tracks every timer and socket created from here on, so handles left by earlier tests do not blur the count.
  const watched = new Set(['Timeout', 'TCPWRAP', 'TCPSERVERWRAP', 'UDPWRAP']);
  const live = new Map<number, string>();
  const hook = createHook({
    init(asyncId, type) {
      if (watched.has(type)) live.set(asyncId, type);
    },
    destroy(asyncId) {
      live.delete(asyncId);
    },
  }).enable();
  try {
    const simulator = await startKitSimulator({ port: 0, readyAfterMs: 60_000, media: media.factory });
    const send = (method: string, path: string, body?: unknown): Promise<number> =>
      new Promise((resolve) => {
        const outgoing = httpRequest(
          { host: '127.0.0.1', port: simulator.port, method, path, agent: false, headers: { 'content-type': 'application/json' } },
          (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode ?? 0));
            response.on('error', () => resolve(-1));
          },
        );
        outgoing.on('error', () => resolve(-1));
        outgoing.end(body === undefined ? undefined : JSON.stringify(body));
      });

    assert.equal(await send('POST', '/stream', createBody), 202, 'a session waits on a ready timer');
    simulator.setOptions({ readyAfterMs: 0 });
    assert.equal(await send('POST', '/stream', createBody), 200, 'a ready session holds media');
    simulator.addFaults([{ path: '^/cfg/apps$', delayMs: 60_000 }]);
    const delayed = send('GET', '/cfg/apps');
    // An idle connection must be closed too.
    const idle = connect(simulator.port, '127.0.0.1');
    await new Promise((resolve) => idle.once('connect', resolve));
    for (let attempt = 0; attempt < 50 && simulator.requests().length < 3; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(simulator.requests().length, 3);

    let closeGuard: NodeJS.Timeout | undefined;
    const closedInTime = await Promise.race([
      simulator.close().then(() => true),
      new Promise<boolean>((resolve) => (closeGuard = setTimeout(() => resolve(false), 2000))),
    ]);
    clearTimeout(closeGuard);
    assert.ok(closedInTime, 'close() resolves without waiting for timers or clients');
    assert.equal(await delayed, -1, 'the delayed request ends without an answer');
    assert.equal(media.closed(), 1);
    await simulator.close();
    await new Promise((resolve) => idle.once('close', resolve));

    // The waiting below uses timers of its own; a Timeout converts to its async id, which tells them apart.
    const waitTimers = new Set<number>();
    const leftOpen = (): string[] => [...live].filter(([asyncId]) => !waitTimers.has(asyncId)).map(([, type]) => type);
    for (let attempt = 0; attempt < 100 && leftOpen().length > 0; attempt += 1) {
      await new Promise((resolve) => waitTimers.add(Number(setTimeout(resolve, 10))));
    }
    assert.deepEqual(leftOpen(), [], 'timers and sockets still open after close()');
  } finally {
    hook.disable();
  }
});
