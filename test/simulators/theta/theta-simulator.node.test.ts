import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  defaultIngestors,
  startThetaSimulator,
  type ThetaSimulator,
  type ThetaSimulatorOptions,
} from '../../../demo/simulators/theta/theta-simulator.js';
import { publishTestPattern } from '../../../demo/simulators/theta/test-pattern-publisher.js';
import { type GeoPoint, distanceKm } from '../../../demo/simulators/theta/theta-service.js';

const ffmpegPath = '/usr/bin/ffmpeg';
const accountA = { id: 'srvacc_alpha', secret: 'alpha-secret-7f3a9c' };
const accountB = { id: 'srvacc_bravo', secret: 'bravo-secret-2b8e1d' };

interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests walk untyped JSON answers and let assert check them
  json: any;
  text: string;
}

async function call(
  simulator: ThetaSimulator,
  method: string,
  path: string,
  options: { account?: { id: string; secret: string } | null; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.account) {
    headers['x-tva-sa-id'] = options.account.id;
    headers['x-tva-sa-secret'] = options.account.secret;
  }
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(simulator.url + path, { method, headers, body, signal: AbortSignal.timeout(5000) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

describe('Theta simulator', () => {
  const started: ThetaSimulator[] = [];
  async function simulator(options: ThetaSimulatorOptions = {}): Promise<ThetaSimulator> {
    const instance = await startThetaSimulator({ serviceAccounts: [accountA, accountB], rtmp: false, ...options });
    started.push(instance);
    return instance;
  }
  after(async () => {
    await Promise.all(started.map((instance) => instance.close()));
  });

  test('creates a stream in the documented envelope, status off', async () => {
    const sim = await simulator();
    const answer = await call(sim, 'POST', '/stream', { account: accountA, body: { name: 'demo' } });
    assert.equal(answer.status, 200);
    assert.equal(answer.json.status, 'success');
    const stream = answer.json.body;
    assert.match(stream.id, /^stream_[a-z0-9]{25}$/);
    assert.equal(stream.name, 'demo');
    assert.equal(stream.status, 'off');
    assert.equal(stream.playback_uri, null);
    assert.equal(stream.player_uri, null);
    assert.ok(!Number.isNaN(Date.parse(stream.update_time)));
    assert.equal('stream_key' in stream, false);
  });

  test('validates the stream name and the JSON body', async () => {
    const sim = await simulator();
    for (const body of [{}, { name: '' }, { name: '   ' }, { name: 42 }, { name: 'x'.repeat(200) }]) {
      const answer = await call(sim, 'POST', '/stream', { account: accountA, body });
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal(answer.json.status, 'error');
      assert.match(answer.json.message, /name/);
    }
    const broken = await call(sim, 'POST', '/stream', {
      account: accountA,
      rawBody: '{"name":',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(broken.status, 400);
    assert.equal(broken.json.message, 'Invalid JSON body');
  });

  test('refuses a fourth stream with the documented message', async () => {
    const sim = await simulator();
    for (const name of ['one', 'two', 'three']) {
      assert.equal((await call(sim, 'POST', '/stream', { account: accountA, body: { name } })).status, 200);
    }
    const fourth = await call(sim, 'POST', '/stream', { account: accountA, body: { name: 'four' } });
    assert.equal(fourth.status, 400);
    assert.deepEqual(fourth.json, { status: 'error', message: 'Live stream limit reached - you already have 3/3 streams' });
    // The limit is per account.
    assert.equal((await call(sim, 'POST', '/stream', { account: accountB, body: { name: 'b' } })).status, 200);
  });

  test('requires valid credentials, with messages, and keeps anonymous reads without server and key', async () => {
    const sim = await simulator();
    const missing = await call(sim, 'POST', '/stream', { body: { name: 'x' } });
    assert.equal(missing.status, 401);
    assert.match(missing.json.message, /x-tva-sa-id/);
    const wrong = await call(sim, 'GET', '/ingestor/filter', { account: { id: accountA.id, secret: 'not-it' } });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.json.message, 'Invalid service account credentials');
    const unknown = await call(sim, 'GET', '/ingestor/filter', { account: { id: 'srvacc_nobody', secret: accountA.secret } });
    assert.equal(unknown.status, 403);
    const half = await call(sim, 'GET', '/ingestor/filter', { headers: { 'x-tva-sa-id': accountA.id } });
    assert.equal(half.status, 401);
    for (const answer of [missing, wrong, unknown, half]) assert.equal(answer.json.status, 'error');

    const stream = (await call(sim, 'POST', '/stream', { account: accountA, body: { name: 'cam' } })).json.body;
    const ingestor = (await call(sim, 'GET', '/ingestor/filter', { account: accountA })).json.body.ingestors[0];
    const selected = await call(sim, 'PUT', `/ingestor/${ingestor.id}/select`, { account: accountA, body: { tva_stream: stream.id } });
    assert.equal(selected.status, 200);

    const owner = await call(sim, 'GET', `/stream/${stream.id}`, { account: accountA });
    assert.equal(owner.json.body.stream_server, selected.json.body.stream_server);
    assert.equal(owner.json.body.stream_key, selected.json.body.stream_key);
    const anonymous = await call(sim, 'GET', `/stream/${stream.id}`);
    assert.equal(anonymous.status, 200);
    assert.equal(anonymous.json.body.id, stream.id);
    assert.equal('stream_server' in anonymous.json.body, false);
    assert.equal('stream_key' in anonymous.json.body, false);
    const stranger = await call(sim, 'GET', `/stream/${stream.id}`, { account: accountB });
    assert.equal('stream_key' in stranger.json.body, false);
    const wrongSecretRead = await call(sim, 'GET', `/stream/${stream.id}`, { account: { id: accountA.id, secret: 'nope' } });
    assert.equal(wrongSecretRead.status, 403);
  });

  test("lists an account's streams with total_count and the status filter", async () => {
    const sim = await simulator();
    const first = (await call(sim, 'POST', '/stream', { account: accountA, body: { name: 'first' } })).json.body;
    await call(sim, 'POST', '/stream', { account: accountA, body: { name: 'second' } });
    await call(sim, 'POST', '/stream', { account: accountB, body: { name: 'other' } });
    await call(sim, 'POST', `/_control/streams/${first.id}/status`, { body: { status: 'on' } });

    const all = await call(sim, 'GET', `/service_account/${accountA.id}/streams`, { account: accountA });
    assert.equal(all.status, 200);
    assert.equal(all.json.body.total_count, 2);
    assert.deepEqual(all.json.body.streams.map((s: { name: string }) => s.name).sort(), ['first', 'second']);
    for (const stream of all.json.body.streams) assert.equal(stream.service_account_id, accountA.id);

    const on = await call(sim, 'GET', `/service_account/${accountA.id}/streams?status=on`, { account: accountA });
    assert.deepEqual(
      on.json.body.streams.map((s: { name: string }) => s.name),
      ['first'],
    );
    assert.equal(on.json.body.total_count, 1);
    const off = await call(sim, 'GET', `/service_account/${accountA.id}/streams?status=off`, { account: accountA });
    assert.deepEqual(
      off.json.body.streams.map((s: { name: string }) => s.name),
      ['second'],
    );

    const bad = await call(sim, 'GET', `/service_account/${accountA.id}/streams?status=maybe`, { account: accountA });
    assert.equal(bad.status, 400);
    const foreign = await call(sim, 'GET', `/service_account/${accountA.id}/streams`, { account: accountB });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.json.status, 'error');
  });

  test('lists only available ingestors, nearest the configured location first', async () => {
    const location: [number, number] = [8.6, 50.0];
    const sim = await simulator({ location });
    const answer = await call(sim, 'GET', '/ingestor/filter', { account: accountA });
    assert.equal(answer.status, 200);
    const { total_count: total, ingestors } = answer.json.body;
    const available = defaultIngestors.filter((ingestor) => ingestor.state !== 'offline');
    assert.equal(total, available.length);
    assert.equal(ingestors.length, available.length);
    const distances = ingestors.map((ingestor: { geo: GeoPoint }) => distanceKm(location, ingestor.geo));
    assert.deepEqual(
      [...distances].sort((a, b) => a - b),
      distances,
    );
    assert.equal(ingestors[0].ip, '203.0.113.45', 'Frankfurt is nearest to Frankfurt');
    for (const ingestor of ingestors) {
      assert.deepEqual(Object.keys(ingestor).sort(), ['geo', 'id', 'ip', 'stakes', 'state', 'stream_key']);
      assert.equal(ingestor.state, 'available');
      assert.equal(ingestor.stream_key, null);
      assert.equal(ingestor.geo.length, 2);
    }

    const moved = await call(sim, 'POST', '/_control/options', { body: { location: [139.7, 35.7] } });
    assert.equal(moved.status, 200);
    const fromTokyo = await call(sim, 'GET', '/ingestor/filter', { account: accountA });
    assert.equal(fromTokyo.json.body.ingestors[0].ip, '203.0.113.61');
  });

  test("selects and unselects ingestors for the caller's own streams only", async () => {
    const sim = await simulator();
    const stream = (await call(sim, 'POST', '/stream', { account: accountA, body: { name: 'mine' } })).json.body;
    const [first, second] = (await call(sim, 'GET', '/ingestor/filter', { account: accountA })).json.body.ingestors;

    const stolen = await call(sim, 'PUT', `/ingestor/${first.id}/select`, { account: accountB, body: { tva_stream: stream.id } });
    assert.equal(stolen.status, 403);
    assert.deepEqual(stolen.json, { status: 'error', message: 'You are not authorized to select this ingestor' });
    const missingStream = await call(sim, 'PUT', `/ingestor/${first.id}/select`, { account: accountA, body: {} });
    assert.equal(missingStream.status, 400);
    const unknownIngestor = await call(sim, 'PUT', '/ingestor/0xdoesnotexist/select', {
      account: accountA,
      body: { tva_stream: stream.id },
    });
    assert.equal(unknownIngestor.status, 404);
    assert.equal(unknownIngestor.json.status, 'error');

    const selected = await call(sim, 'PUT', `/ingestor/${first.id}/select`, { account: accountA, body: { tva_stream: stream.id } });
    assert.equal(selected.status, 200);
    assert.equal(selected.json.status, 'success');
    assert.match(selected.json.body.stream_server, /^rtmp:\/\/.+\/live$/);
    assert.match(selected.json.body.stream_key, /^[0-9a-f]{32}$/);
    const again = await call(sim, 'PUT', `/ingestor/${first.id}/select`, { account: accountA, body: { tva_stream: stream.id } });
    assert.equal(again.json.body.stream_key, selected.json.body.stream_key, 'selecting again keeps the key');

    const listed = (await call(sim, 'GET', '/ingestor/filter', { account: accountA })).json.body.ingestors;
    assert.equal(
      listed.some((ingestor: { id: string }) => ingestor.id === first.id),
      false,
      'a selected ingestor is not available',
    );

    const otherStream = (await call(sim, 'POST', '/stream', { account: accountB, body: { name: 'theirs' } })).json.body;
    const busy = await call(sim, 'PUT', `/ingestor/${first.id}/select`, { account: accountB, body: { tva_stream: otherStream.id } });
    assert.equal(busy.status, 409);
    assert.match(busy.json.message, /not available/);

    const foreignUnselect = await call(sim, 'PUT', `/ingestor/${first.id}/unselect`, { account: accountB, body: {} });
    assert.equal(foreignUnselect.status, 403);
    assert.deepEqual(foreignUnselect.json, { status: 'error', message: 'You are not authorized to unselect this ingestor' });

    // Choosing another ingestor for the same stream frees the first.
    const moved = await call(sim, 'PUT', `/ingestor/${second.id}/select`, { account: accountA, body: { tva_stream: stream.id } });
    assert.equal(moved.status, 200);
    const afterMove = (await call(sim, 'GET', '/ingestor/filter', { account: accountA })).json.body.ingestors;
    assert.equal(
      afterMove.some((ingestor: { id: string }) => ingestor.id === first.id),
      true,
    );

    const unselected = await call(sim, 'PUT', `/ingestor/${second.id}/unselect`, { account: accountA, body: {} });
    assert.equal(unselected.status, 200);
    assert.deepEqual(unselected.json, { status: 'success', body: {} });
    const read = await call(sim, 'GET', `/stream/${stream.id}`, { account: accountA });
    assert.equal('stream_key' in read.json.body, false);
    const notSelected = await call(sim, 'PUT', `/ingestor/${second.id}/unselect`, { account: accountA, body: {} });
    assert.equal(notSelected.status, 400);
  });

  test('an unused selection expires and the ingestor becomes available again', async () => {
    const sim = await simulator({ selectionTtlMs: 60_000 });
    const options = await call(sim, 'POST', '/_control/options', { body: { selectionTtlMs: 150 } });
    assert.equal(options.json.options.selectionTtlMs, 150);
    const stream = (await call(sim, 'POST', '/stream', { account: accountA, body: { name: 'ttl' } })).json.body;
    const ingestor = (await call(sim, 'GET', '/ingestor/filter', { account: accountA })).json.body.ingestors[0];
    const selectedAt = Date.now();
    await call(sim, 'PUT', `/ingestor/${ingestor.id}/select`, { account: accountA, body: { tva_stream: stream.id } });
    assert.match((await call(sim, 'GET', `/stream/${stream.id}`, { account: accountA })).json.body.stream_key, /^[0-9a-f]{32}$/);

    await waitFor(
      'the selection to expire',
      async () => {
        const listed = (await call(sim, 'GET', '/ingestor/filter', { account: accountA })).json.body.ingestors;
        return listed.some((candidate: { id: string }) => candidate.id === ingestor.id) ? true : undefined;
      },
      3000,
    );
    assert.ok(Date.now() - selectedAt >= 140, 'not before the TTL');
    const read = await call(sim, 'GET', `/stream/${stream.id}`, { account: accountA });
    assert.equal('stream_key' in read.json.body, false);
  });

  test('deletes streams, 404 when missing', async () => {
    const sim = await simulator();
    const stream = (await call(sim, 'POST', '/stream', { account: accountA, body: { name: 'gone' } })).json.body;
    const foreign = await call(sim, 'DELETE', `/stream/${stream.id}`, { account: accountB });
    assert.equal(foreign.status, 403);
    const deleted = await call(sim, 'DELETE', `/stream/${stream.id}`, { account: accountA });
    assert.equal(deleted.status, 200);
    assert.equal(deleted.json.status, 'success');
    const again = await call(sim, 'DELETE', `/stream/${stream.id}`, { account: accountA });
    assert.equal(again.status, 404);
    assert.deepEqual(again.json, { status: 'error', message: 'Stream not found' });
    assert.equal((await call(sim, 'GET', `/stream/${stream.id}`)).status, 404);
  });

  test('answers unknown calls and methods with JSON errors', async () => {
    const sim = await simulator();
    const unknown = await call(sim, 'GET', '/nope', { account: accountA });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.status, 'error');
    const method = await call(sim, 'PATCH', '/ingestor/filter', { account: accountA });
    assert.equal(method.status, 405);
    assert.equal(method.json.status, 'error');
  });

  test('allows any page origin (CORS) and answers preflights with 204', async () => {
    const sim = await simulator();
    const preflight = await call(sim, 'OPTIONS', '/stream', {
      headers: {
        Origin: 'http://studio.test',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type, x-tva-sa-id, x-tva-sa-secret',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://studio.test');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /x-tva-sa-secret/i);
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /PUT/);
    const error = await call(sim, 'GET', '/ingestor/filter', { headers: { Origin: 'http://studio.test' } });
    assert.equal(error.status, 401);
    assert.equal(error.headers.get('access-control-allow-origin'), 'http://studio.test');
  });

  test('injects faults: HTML pages, drops and delays, then behaves again', async () => {
    const sim = await simulator();
    const armed = await call(sim, 'POST', '/_control/faults', {
      body: [
        { method: 'GET', path: '^/ingestor/filter$', status: 502, body: '<html><body>Bad gateway</body></html>', contentType: 'text/html' },
        { path: '^/stream$', drop: true },
      ],
    });
    assert.equal(armed.json.armed, 2);
    const html = await call(sim, 'GET', '/ingestor/filter', { account: accountA });
    assert.equal(html.status, 502);
    assert.match(html.headers.get('content-type') ?? '', /text\/html/);
    assert.match(html.text, /Bad gateway/);
    assert.equal((await call(sim, 'GET', '/ingestor/filter', { account: accountA })).status, 200, 'times defaults to 1');
    await assert.rejects(call(sim, 'POST', '/stream', { account: accountA, body: { name: 'x' } }));

    await call(sim, 'POST', '/_control/faults', { body: { path: '^/ingestor/filter$', delayMs: 300 } });
    const started = Date.now();
    const late = await call(sim, 'GET', '/ingestor/filter', { account: accountA });
    assert.equal(late.status, 200);
    assert.ok(Date.now() - started >= 280, 'answered late');

    await call(sim, 'POST', '/_control/faults', { body: { status: 500, times: 5 } });
    assert.equal((await call(sim, 'GET', '/ingestor/filter', { account: accountA })).status, 500);
    const cleared = await call(sim, 'DELETE', '/_control/faults');
    assert.equal(cleared.status, 204);
    assert.equal((await call(sim, 'GET', '/ingestor/filter', { account: accountA })).status, 200);

    const invalid = await call(sim, 'POST', '/_control/faults', { body: { times: 0 } });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.json.message, 'fault.times must be a positive integer');
    const withHeaders = await call(sim, 'POST', '/_control/faults', { body: { status: 500, headers: { 'x-extra': '1' } } });
    assert.equal(withHeaders.status, 400);
    assert.equal(
      withHeaders.json.message,
      'fault.headers is not a fault field (known: method, path, times, status, body, contentType, delayMs, drop)',
    );
    const tooLate = await call(sim, 'POST', '/_control/faults', { body: [{ delayMs: 120_001 }] });
    assert.equal(tooLate.status, 400);
    assert.equal(tooLate.json.message, 'faults[0].delayMs must be a number of milliseconds from 0 to 120000');
    assert.deepEqual((await call(sim, 'GET', '/_control/faults')).json, { faults: [] }, 'a refused fault arms nothing');
  });

  test('logs API requests with header names only, never the secret', async () => {
    const sim = await simulator();
    await call(sim, 'GET', '/ingestor/filter?x=1', { account: accountA });
    const log = await call(sim, 'GET', '/_control/requests');
    assert.equal(log.status, 200);
    const entry = log.json.requests.at(-1);
    assert.equal(entry.method, 'GET');
    assert.equal(entry.path, '/ingestor/filter');
    assert.equal(entry.query, '?x=1');
    assert.ok(entry.headerNames.includes('x-tva-sa-secret'));
    assert.ok(!Number.isNaN(Date.parse(entry.time)));
    assert.equal(log.text.includes(accountA.secret), false);
    assert.equal(JSON.stringify(sim.requestLog()).includes(accountA.secret), false);
  });

  test('a forced status fills playback and player addresses that the simulator serves', async () => {
    const sim = await simulator();
    const stream = (await call(sim, 'POST', '/stream', { account: accountA, body: { name: '<Live & "loud">' } })).json.body;
    const forced = await call(sim, 'POST', `/_control/streams/${stream.id}/status`, { body: { status: 'on' } });
    assert.equal(forced.status, 200);
    const read = (await call(sim, 'GET', `/stream/${stream.id}`)).json.body;
    assert.equal(read.status, 'on');
    assert.match(read.playback_uri, /\.m3u8$/);
    assert.ok(read.player_uri.startsWith(sim.url));

    const page = await fetch(read.player_uri, { signal: AbortSignal.timeout(5000) });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    assert.ok(html.includes('&#60;Live &#38; &#34;loud&#34;&#62;'), 'the name is escaped');
    const playlist = await fetch(read.playback_uri, { signal: AbortSignal.timeout(5000) });
    assert.equal(playlist.status, 200);
    assert.match(await playlist.text(), /^#EXTM3U/);

    await call(sim, 'POST', `/_control/streams/${stream.id}/status`, { body: { status: 'off' } });
    const off = (await call(sim, 'GET', `/stream/${stream.id}`)).json.body;
    assert.equal(off.status, 'off');
    assert.equal(off.playback_uri, null);
    assert.equal((await fetch(read.playback_uri, { signal: AbortSignal.timeout(5000) })).status, 404);
  });

  test('close() stops answering', async () => {
    const sim = await startThetaSimulator({ rtmp: false });
    assert.equal(sim.serviceAccounts[0]!.id, 'srvacc_demo');
    assert.ok(sim.serviceAccounts[0]!.secret.length >= 16);
    await sim.close();
    await sim.close();
    await assert.rejects(fetch(`${sim.url}/ingestor/filter`, { signal: AbortSignal.timeout(2000) }));
  });
});

describe('Theta simulator RTMP ingest', { skip: existsSync(ffmpegPath) ? false : 'ffmpeg is not installed' }, () => {
  let sim: ThetaSimulator;
  before(async () => {
    sim = await startThetaSimulator({ serviceAccounts: [accountA, accountB] });
  });
  after(async () => {
    await sim?.close();
  });

  const publish = (url: string, seconds: number) => publishTestPattern(url, { seconds, ffmpegPath });

  test('publishing with the selected key turns the stream on, stopping turns it off', async (t) => {
    assert.match(sim.rtmpUrl ?? '', /^rtmp:\/\/127\.0\.0\.1:\d+\/live$/);
    const stream = (await call(sim, 'POST', '/stream', { account: accountA, body: { name: 'rtmp' } })).json.body;
    const ingestor = (await call(sim, 'GET', '/ingestor/filter', { account: accountA })).json.body.ingestors[0];
    const { stream_server: server, stream_key: key } = (
      await call(sim, 'PUT', `/ingestor/${ingestor.id}/select`, { account: accountA, body: { tva_stream: stream.id } })
    ).json.body;
    assert.equal(server, sim.rtmpUrl);

    const startedAt = Date.now();
    const publisher = publish(`${server}/${key}`, 3);
    t.after(() => publisher.stop());
    const live = await waitFor(
      'the stream to turn on',
      async () => {
        const body = (await call(sim, 'GET', `/stream/${stream.id}`, { account: accountA })).json.body;
        return body.status === 'on' ? body : undefined;
      },
      5000,
    );
    const onLatency = Date.now() - startedAt;
    assert.match(live.playback_uri, /\.m3u8$/);
    assert.match(live.player_uri, /\/player\//);
    const listedOn = await call(sim, 'GET', `/service_account/${accountA.id}/streams?status=on`, { account: accountA });
    assert.deepEqual(
      listedOn.json.body.streams.map((s: { id: string }) => s.id),
      [stream.id],
    );

    const { code } = await publisher.exited;
    assert.equal(code, 0);
    const endedAt = Date.now();
    const off = await waitFor(
      'the stream to turn off',
      async () => {
        const body = (await call(sim, 'GET', `/stream/${stream.id}`, { account: accountA })).json.body;
        return body.status === 'off' ? body : undefined;
      },
      3000,
    );
    assert.equal(off.playback_uri, null);
    assert.equal(off.stream_key, key, 'the ingestor stays selected for the next session');
    t.diagnostic(`publish-to-on ${onLatency} ms (from spawning ffmpeg), exit-to-off ${Date.now() - endedAt} ms`);
  });

  test('a publish with a wrong key is refused and changes nothing', async () => {
    const stream = (await call(sim, 'POST', '/stream', { account: accountB, body: { name: 'refused' } })).json.body;
    const ingestor = (await call(sim, 'GET', '/ingestor/filter', { account: accountB })).json.body.ingestors[0];
    await call(sim, 'PUT', `/ingestor/${ingestor.id}/select`, { account: accountB, body: { tva_stream: stream.id } });
    const startedAt = Date.now();
    const publisher = publish(`${sim.rtmpUrl}/0123456789abcdef0123456789abcdef`, 3);
    const { code } = await publisher.exited;
    assert.notEqual(code, 0);
    assert.ok(Date.now() - startedAt < 2500, 'refused before the publish would have ended');
    const read = (await call(sim, 'GET', `/stream/${stream.id}`, { account: accountB })).json.body;
    assert.equal(read.status, 'off');
  });

  test('simulators in one process share the ingest, which outlives any one of them', async () => {
    const second = await startThetaSimulator({ serviceAccounts: [accountA] });
    assert.equal(second.rtmpUrl, sim.rtmpUrl);
    await second.close();
    const port = Number(new URL((sim.rtmpUrl ?? '').replace(/^rtmp:/, 'http:')).port);
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
      socket.setTimeout(2000, () => reject(new Error('RTMP port did not accept')));
    });
  });
});
