import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  defaultCallerLocations,
  defaultIngestors,
  defaultLocation,
  startThetaSimulator,
  type ThetaSimulator,
  type ThetaSimulatorOptions,
} from '../../../demo/simulators/theta/theta-simulator.js';
import { publishTestPattern } from '../../../demo/simulators/theta/test-pattern-publisher.js';
import { type GeoPoint, distanceKm } from '../../../demo/simulators/theta/theta-service.js';
import { rawExchange, rawRequestText } from '../shared/raw-http.js';

const ffmpegPath = '/usr/bin/ffmpeg';
const accountA = { id: 'srvacc_alpha', secret: 'alpha-secret-7f3a9c' };
const accountB = { id: 'srvacc_bravo', secret: 'bravo-secret-2b8e1d' };
const streamKeyPattern = /^[A-Za-z0-9]{32}$/;
const ingestorIdPattern = /^0x[0-9a-fA-F]{40}$/;
const playbackPattern = /^http:\/\/127\.0\.0\.1:\d+\/hls\/[0-9a-f]{24}\/index\.m3u8$/;

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
    // Empty and null fields, as real answers carry them.
    assert.equal(stream.description, '');
    assert.equal(stream.thumbnail_uri, null);
    assert.equal(stream.use_drm, false);
    const listed = (await call(sim, 'GET', `/service_account/${accountA.id}/streams`, { account: accountA })).json.body.streams[0];
    assert.equal(listed.description, '');
    assert.equal(listed.thumbnail_uri, null);
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

  test('lists every ingestor with its state, nearest the configured location first', async () => {
    const location: [number, number] = [8.6, 50.0];
    const sim = await simulator({ location });
    const answer = await call(sim, 'GET', '/ingestor/filter', { account: accountA });
    assert.equal(answer.status, 200);
    const { total_count: total, ingestors } = answer.json.body;
    assert.equal(total, defaultIngestors.length);
    assert.equal(ingestors.length, defaultIngestors.length);
    const distances = ingestors.map((ingestor: { geo: GeoPoint }) => distanceKm(location, ingestor.geo));
    assert.deepEqual(
      [...distances].sort((a, b) => a - b),
      distances,
    );
    assert.equal(ingestors[0].ip, '203.0.113.45', 'Frankfurt is nearest to Frankfurt');
    for (const ingestor of ingestors) {
      assert.deepEqual(Object.keys(ingestor).sort(), ['geo', 'id', 'ip', 'stakes', 'state', 'stream_key']);
      assert.match(ingestor.id, ingestorIdPattern);
      assert.equal(ingestor.stream_key, null);
      assert.equal(ingestor.geo.length, 2);
    }

    const moved = await call(sim, 'POST', '/_control/options', { body: { location: [139.7, 35.7] } });
    assert.equal(moved.status, 200);
    const fromTokyo = await call(sim, 'GET', '/ingestor/filter', { account: accountA });
    assert.equal(fromTokyo.json.body.ingestors[0].ip, '203.0.113.61');
  });

  test('by default the nearest ingestors are available and further ones busy, selected or unavailable', async () => {
    const sim = await simulator();
    const { ingestors } = (await call(sim, 'GET', '/ingestor/filter', { account: accountA })).json.body;
    const states: string[] = ingestors.map((ingestor: { state: string }) => ingestor.state);
    assert.deepEqual(states.slice(0, 4), ['available', 'available', 'available', 'available']);
    for (const state of ['busy', 'selected', 'unavailable']) assert.ok(states.includes(state), `some ingestor is ${state}`);
    assert.equal(new Set(ingestors.map((ingestor: { id: string }) => ingestor.id.toLowerCase())).size, ingestors.length);
    assert.ok(
      ingestors.some((ingestor: { id: string }) => /[a-f]/.test(ingestor.id.slice(2)) && /[A-F]/.test(ingestor.id)),
      'ids are mixed-case',
    );

    const stream = (await call(sim, 'POST', '/stream', { account: accountA, body: { name: 'picky' } })).json.body;
    const select = (state: string) =>
      call(sim, 'PUT', `/ingestor/${ingestors.find((ingestor: { state: string }) => ingestor.state === state).id}/select`, {
        account: accountA,
        body: { tva_stream: stream.id },
      });
    for (const state of ['busy', 'selected']) {
      const refused = await select(state);
      assert.equal(refused.status, 409, state);
      assert.equal(refused.json.status, 'error');
      assert.match(refused.json.message, new RegExp(`not available for selection: it is ${state}`));
    }
    const down = await select('unavailable');
    assert.equal(down.status, 403);
    assert.deepEqual(down.json, { status: 'error', message: 'You are not authorized to select this ingestor' });
    assert.equal((await call(sim, 'GET', `/stream/${stream.id}`, { account: accountA })).json.body.stream_key, undefined);
  });

  test('sorts and filters by the caller: X-Forwarded-For mapped to a location, max_distance in metres', async () => {
    const sim = await simulator();
    const list = async (query = '', headers: Record<string, string> = {}) => {
      const answer = await call(sim, 'GET', `/ingestor/filter${query}`, { account: accountA, headers });
      assert.equal(answer.status, 200, answer.text);
      return answer.json.body.ingestors as Array<{ ip: string; geo: GeoPoint }>;
    };
    assert.equal((await list())[0].ip, '198.51.100.11', 'nearest to the default location without a known address');
    assert.equal((await list('', { 'X-Forwarded-For': '192.0.2.30' }))[0].ip, '203.0.113.61', 'Tokyo');
    assert.equal((await list('', { 'X-Forwarded-For': '192.0.2.20, 10.0.0.1' }))[0].ip, '203.0.113.45', 'the left-most address counts');
    assert.equal((await list('', { 'X-Forwarded-For': '2001:db8::20' }))[0].ip, '203.0.113.45');
    assert.equal(
      (await list('', { 'X-Forwarded-For': '198.18.0.1' }))[0].ip,
      '198.51.100.11',
      'an unknown address is at the default location',
    );

    const near = await list('?max_distance=2000000');
    assert.ok(near.length >= 2 && near.length < defaultIngestors.length);
    for (const ingestor of near) assert.ok(distanceKm(defaultLocation, ingestor.geo) <= 2000);
    const nearTokyo = await list('?max_distance=1000000', { 'X-Forwarded-For': '192.0.2.30' });
    assert.deepEqual(
      nearTokyo.map((ingestor) => ingestor.ip),
      ['203.0.113.61'],
    );
    assert.equal((await list('?max_distance=40000000')).length, defaultIngestors.length, 'the value public code sends lists all');
    assert.deepEqual(await list('?max_distance=0', { 'X-Forwarded-For': '192.0.2.60' }), []);
    const bad = await call(sim, 'GET', '/ingestor/filter?max_distance=far', { account: accountA });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.message, 'max_distance must be a non-negative number of metres');
    assert.deepEqual(defaultCallerLocations['192.0.2.30'], [139.6917, 35.6895]);
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
    assert.match(selected.json.body.stream_key, streamKeyPattern);
    assert.ok(/[a-z]/.test(selected.json.body.stream_key) || /[A-Z]/.test(selected.json.body.stream_key));
    const again = await call(sim, 'PUT', `/ingestor/${first.id}/select`, { account: accountA, body: { tva_stream: stream.id } });
    assert.equal(again.json.body.stream_key, selected.json.body.stream_key, 'selecting again keeps the key');
    const owned = (await call(sim, 'GET', `/stream/${stream.id}`, { account: accountA })).json.body;
    assert.equal(owned.backup_stream_server, selected.json.body.stream_server);
    assert.match(owned.backup_stream_key, streamKeyPattern);
    assert.notEqual(owned.backup_stream_key, owned.stream_key);
    assert.equal('backup_stream_key' in (await call(sim, 'GET', `/stream/${stream.id}`)).json.body, false, 'not shown to strangers');

    const listed = (await call(sim, 'GET', '/ingestor/filter', { account: accountA })).json.body.ingestors;
    assert.equal(listed.find((ingestor: { id: string }) => ingestor.id === first.id).state, 'selected');

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
    assert.equal(afterMove.find((ingestor: { id: string }) => ingestor.id === first.id).state, 'available');

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
    assert.match((await call(sim, 'GET', `/stream/${stream.id}`, { account: accountA })).json.body.stream_key, streamKeyPattern);

    await waitFor(
      'the selection to expire',
      async () => {
        const listed = (await call(sim, 'GET', '/ingestor/filter', { account: accountA })).json.body.ingestors;
        return listed.find((candidate: { id: string }) => candidate.id === ingestor.id).state === 'available' ? true : undefined;
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
    assert.equal((await call(sim, 'DELETE', '/stream/stream_neverexisted0000000000000', { account: accountA })).status, 404);
  });

  test('deleting a stream releases its ingestor, ends its playlist and frees a place under the limit', async () => {
    const sim = await simulator();
    const streams = [];
    for (const name of ['one', 'two', 'three'])
      streams.push((await call(sim, 'POST', '/stream', { account: accountA, body: { name } })).json.body);
    const ingestor = (await call(sim, 'GET', '/ingestor/filter', { account: accountA })).json.body.ingestors[0];
    await call(sim, 'PUT', `/ingestor/${ingestor.id}/select`, { account: accountA, body: { tva_stream: streams[0].id } });
    await call(sim, 'POST', `/_control/streams/${streams[0].id}/status`, { body: { status: 'on' } });
    const playback = (await call(sim, 'GET', `/stream/${streams[0].id}`)).json.body.playback_uri;
    assert.equal((await call(sim, 'POST', '/stream', { account: accountA, body: { name: 'four' } })).status, 400);

    assert.equal((await call(sim, 'DELETE', `/stream/${streams[0].id}`, { account: accountA })).status, 200);
    const listed = (await call(sim, 'GET', '/ingestor/filter', { account: accountA })).json.body.ingestors;
    assert.equal(listed.find((candidate: { id: string }) => candidate.id === ingestor.id).state, 'available');
    assert.match(await (await fetch(playback, { signal: AbortSignal.timeout(5000) })).text(), /#EXT-X-ENDLIST/);
    assert.equal((await call(sim, 'POST', '/stream', { account: accountA, body: { name: 'four' } })).status, 200);
    const unselect = await call(sim, 'PUT', `/ingestor/${ingestor.id}/unselect`, { account: accountA, body: {} });
    assert.equal(unselect.status, 400, 'nothing left to unselect');
  });

  test('an unselect can be made slow through the faults, and happens when it answers', async () => {
    const sim = await simulator();
    const stream = (await call(sim, 'POST', '/stream', { account: accountA, body: { name: 'slow' } })).json.body;
    const ingestor = (await call(sim, 'GET', '/ingestor/filter', { account: accountA })).json.body.ingestors[0];
    await call(sim, 'PUT', `/ingestor/${ingestor.id}/select`, { account: accountA, body: { tva_stream: stream.id } });
    // Up to a minute is allowed (the real service can be that slow); a test waits a little over a second.
    assert.equal(
      (await call(sim, 'POST', '/_control/faults', { body: { method: 'PUT', path: '/unselect$', delayMs: 60_000 } })).status,
      200,
    );
    await call(sim, 'DELETE', '/_control/faults');
    await call(sim, 'POST', '/_control/faults', { body: { method: 'PUT', path: '/unselect$', delayMs: 1200 } });
    const startedAt = Date.now();
    const unselecting = call(sim, 'PUT', `/ingestor/${ingestor.id}/unselect`, { account: accountA, body: {} });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const during = (await call(sim, 'GET', '/ingestor/filter', { account: accountA })).json.body.ingestors;
    assert.equal(during.find((candidate: { id: string }) => candidate.id === ingestor.id).state, 'selected');
    const answer = await unselecting;
    assert.equal(answer.status, 200);
    assert.ok(Date.now() - startedAt >= 1150, 'answered late');
    const afterwards = (await call(sim, 'GET', '/ingestor/filter', { account: accountA })).json.body.ingestors;
    assert.equal(afterwards.find((candidate: { id: string }) => candidate.id === ingestor.id).state, 'available');
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
      'fault.headers is not a fault field (known: method, path, times, status, body, contentType, delayMs, drop, truncate)',
    );
    const tooLate = await call(sim, 'POST', '/_control/faults', { body: [{ delayMs: 120_001 }] });
    assert.equal(tooLate.status, 400);
    assert.equal(tooLate.json.message, 'faults[0].delayMs must be a number of milliseconds from 0 to 120000');
    assert.deepEqual((await call(sim, 'GET', '/_control/faults')).json, { faults: [] }, 'a refused fault arms nothing');
  });

  test('truncating faults: an error body that stalls, an API answer reset mid-body', async () => {
    const sim = await simulator();
    const port = Number(new URL(sim.url).port);
    const unavailable = JSON.stringify({ status: 'error', message: 'Service Unavailable' });
    const armed = await call(sim, 'POST', '/_control/faults', {
      body: [
        { path: '^/ingestor/filter$', status: 503, body: unavailable, truncate: { afterBytes: 11, then: 'stall' } },
        { method: 'POST', path: '^/stream$', truncate: { afterBytes: 20, then: 'reset' } },
      ],
    });
    assert.equal(armed.json.armed, 2);
    assert.deepEqual(armed.json.faults[0].truncate, { afterBytes: 11, then: 'stall' });

    const credentials = { 'x-tva-sa-id': accountA.id, 'x-tva-sa-secret': accountA.secret };
    const stalled = await rawExchange(port, rawRequestText('/ingestor/filter', { headers: credentials }));
    assert.equal(stalled.status, 503);
    assert.equal(stalled.headers['content-type'], 'application/json');
    assert.equal(stalled.headers['content-length'], String(unavailable.length), 'the whole body is promised');
    assert.equal(stalled.body.toString(), '{"status":"');
    assert.equal(stalled.outcome, 'open');
    stalled.socket.destroy();

    const body = JSON.stringify({ name: 'cut short' });
    const reset = await rawExchange(
      port,
      rawRequestText('/stream', { method: 'POST', body, headers: { ...credentials, 'Content-Type': 'application/json' } }),
    );
    assert.equal(reset.outcome, 'reset');
    assert.equal(reset.status, 200, "the API's own answer");
    assert.equal(reset.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(reset.body.toString(), '{"status":"success",');
    const listed = await call(sim, 'GET', `/service_account/${accountA.id}/streams`, { account: accountA });
    assert.deepEqual(
      listed.json.body.streams.map((stream: { name: string }) => stream.name),
      ['cut short'],
      'the stream exists though the client never learnt its id',
    );

    const refused = await call(sim, 'POST', '/_control/faults', { body: { drop: true, truncate: { afterBytes: 0, then: 'reset' } } });
    assert.equal(refused.status, 400);
    assert.equal(refused.json.message, 'fault.truncate cannot be combined with drop, which sends no answer to cut');
  });

  test('answers a request target no URL can be made of with 400, and goes on serving', async () => {
    const sim = await simulator();
    const answer = await rawExchange(Number(new URL(sim.url).port), rawRequestText('//'));
    assert.equal(answer.status, 400);
    assert.deepEqual(JSON.parse(answer.body.toString()), { status: 'error', message: 'Malformed request target' });
    assert.equal((await call(sim, 'GET', '/ingestor/filter', { account: accountA })).status, 200);
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

  test('a forced status serves a live playlist without segments at a new address each time, ended when off', async () => {
    const sim = await simulator();
    const stream = (await call(sim, 'POST', '/stream', { account: accountA, body: { name: '<Live & "loud">' } })).json.body;
    const forced = await call(sim, 'POST', `/_control/streams/${stream.id}/status`, { body: { status: 'on' } });
    assert.equal(forced.status, 200);
    const read = (await call(sim, 'GET', `/stream/${stream.id}`)).json.body;
    assert.equal(read.status, 'on');
    assert.match(read.playback_uri, playbackPattern);
    assert.ok(read.player_uri.startsWith(sim.url));

    const page = await fetch(read.player_uri, { signal: AbortSignal.timeout(5000) });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    assert.ok(html.includes('&#60;Live &#38; &#34;loud&#34;&#62;'), 'the name is escaped');
    assert.ok(html.includes(`<video src="${read.playback_uri}"`), 'the page plays the current playlist');
    const playlist = await fetch(read.playback_uri, { headers: { Origin: 'http://viewer.test' }, signal: AbortSignal.timeout(5000) });
    assert.equal(playlist.status, 200);
    assert.equal(playlist.headers.get('content-type'), 'application/vnd.apple.mpegurl');
    assert.equal(playlist.headers.get('access-control-allow-origin'), '*');
    const live = await playlist.text();
    assert.match(live, /^#EXTM3U/);
    assert.doesNotMatch(live, /#EXT-X-ENDLIST|#EXTINF/);
    const forcedAgain = await call(sim, 'POST', `/_control/streams/${stream.id}/status`, { body: { status: 'on' } });
    assert.equal(forcedAgain.json.stream.playback_uri, read.playback_uri, 'forcing on again keeps the live session');

    await call(sim, 'POST', `/_control/streams/${stream.id}/status`, { body: { status: 'off' } });
    const off = (await call(sim, 'GET', `/stream/${stream.id}`)).json.body;
    assert.equal(off.status, 'off');
    assert.equal(off.playback_uri, null);
    const ended = await fetch(read.playback_uri, { signal: AbortSignal.timeout(5000) });
    assert.match(await ended.text(), /#EXT-X-ENDLIST/);

    await call(sim, 'POST', `/_control/streams/${stream.id}/status`, { body: { status: 'on' } });
    const second = (await call(sim, 'GET', `/stream/${stream.id}`)).json.body.playback_uri;
    assert.match(second, playbackPattern);
    assert.notEqual(second, read.playback_uri, 'every live session has its own address');
    for (const path of ['/hls/nosuchsession/index.m3u8', `${new URL(second).pathname.replace('index.m3u8', '..%2Fsecret.ts')}`]) {
      assert.equal((await fetch(sim.url + path, { signal: AbortSignal.timeout(5000) })).status, 404, path);
    }
  });

  /** A stream forced live without a publisher: its playlist is served (without segments) at the returned path. */
  async function livePlaylistPath(sim: ThetaSimulator): Promise<string> {
    const stream = (await call(sim, 'POST', '/stream', { account: accountA, body: { name: 'Faulted preview' } })).json.body;
    const forced = await call(sim, 'POST', `/_control/streams/${stream.id}/status`, { body: { status: 'on' } });
    return new URL(forced.json.stream.playback_uri).pathname;
  }

  test('HLS faults: a 404 on the playlist armed by path, then the playlist again; faults without a path stay for the API', async () => {
    const sim = await simulator();
    const playlistPath = await livePlaylistPath(sim);
    const armed = await call(sim, 'POST', '/_control/faults', {
      body: [
        { method: 'GET', path: '^/hls/[^/]+/index\\.m3u8$', status: 404, body: 'Not Found', contentType: 'text/plain', times: 2 },
        { status: 503 },
      ],
    });
    assert.equal(armed.json.armed, 2);
    const logged = sim.requestLog().length;

    for (let read = 1; read <= 2; read++) {
      const missing = await call(sim, 'GET', playlistPath, { headers: { Origin: 'http://viewer.test' } });
      assert.equal(missing.status, 404, `read ${read}`);
      assert.equal(missing.text, 'Not Found');
      assert.equal(missing.headers.get('content-type'), 'text/plain');
      assert.equal(missing.headers.get('access-control-allow-origin'), 'http://viewer.test', 'a page can read the refusal');
    }
    const back = await call(sim, 'GET', playlistPath);
    assert.equal(back.status, 200);
    assert.equal(back.headers.get('content-type'), 'application/vnd.apple.mpegurl');
    assert.match(back.text, /^#EXTM3U/);
    assert.deepEqual(
      (await call(sim, 'GET', '/_control/faults')).json.faults,
      [{ status: 503, remaining: 1 }],
      'the HLS fault is used up; the one without a path, which matches the playlist too, was left to the API',
    );
    assert.equal((await call(sim, 'GET', '/ingestor/filter', { account: accountA })).status, 503, 'and the next API call gets it');
    assert.equal((await call(sim, 'GET', '/ingestor/filter', { account: accountA })).status, 200);
    assert.deepEqual(
      sim
        .requestLog()
        .slice(logged)
        .map((entry) => entry.path),
      ['/ingestor/filter', '/ingestor/filter'],
      'the request log stays a log of API calls',
    );
  });

  test('HLS faults: a stalled playlist, answered late (delayMs) or cut short and held open (truncate)', async () => {
    const sim = await simulator();
    const playlistPath = await livePlaylistPath(sim);
    const whole = (await call(sim, 'GET', playlistPath)).text;
    await call(sim, 'POST', '/_control/faults', {
      body: [
        { path: '^/hls/.+\\.m3u8$', delayMs: 400 },
        { path: '^/hls/.+\\.m3u8$', truncate: { afterBytes: 7, then: 'stall' } },
      ],
    });

    const started = Date.now();
    const late = await call(sim, 'GET', playlistPath);
    assert.ok(Date.now() - started >= 380, 'answered late');
    assert.equal(late.status, 200);
    assert.equal(late.text, whole, 'the playlist itself, whole');

    const stalled = await rawExchange(Number(new URL(sim.url).port), rawRequestText(playlistPath));
    assert.equal(stalled.status, 200);
    assert.equal(stalled.headers['content-type'], 'application/vnd.apple.mpegurl');
    assert.equal(stalled.headers['content-length'], String(whole.length), 'the whole playlist is promised');
    assert.equal(stalled.body.toString(), '#EXTM3U');
    assert.equal(stalled.outcome, 'open', 'and the rest never comes');
    stalled.socket.destroy();

    assert.equal((await call(sim, 'GET', playlistPath)).text, whole, 'then the playlist is served again');
    assert.deepEqual((await call(sim, 'GET', '/_control/faults')).json.faults, []);
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

describe('Theta simulator RTMP ingest and HLS output', { skip: existsSync(ffmpegPath) ? false : 'ffmpeg is not installed' }, () => {
  let sim: ThetaSimulator;
  let hlsRoot: string;
  before(async () => {
    hlsRoot = await mkdtemp(join(tmpdir(), 'theta-hls-test-'));
    sim = await startThetaSimulator({ serviceAccounts: [accountA, accountB], ffmpegPath, hlsRoot, hlsRetentionMs: 1500 });
  });
  after(async () => {
    await sim?.close();
    await rm(hlsRoot, { recursive: true, force: true });
  });

  const publish = (url: string, seconds: number) => publishTestPattern(url, { seconds, ffmpegPath });

  async function readStream(id: string, account = accountA) {
    return (await call(sim, 'GET', `/stream/${id}`, { account })).json.body;
  }

  async function ingestorState(id: string): Promise<string> {
    const listed = (await call(sim, 'GET', '/ingestor/filter', { account: accountA })).json.body.ingestors;
    return listed.find((ingestor: { id: string }) => ingestor.id === id).state;
  }

  /** Creates a stream of `account`, selects the nearest available ingestor for it, and returns both and the selection. */
  async function selectNearest(name: string, account = accountA) {
    const stream = (await call(sim, 'POST', '/stream', { account, body: { name } })).json.body;
    const ingestors = (await call(sim, 'GET', '/ingestor/filter', { account })).json.body.ingestors;
    const ingestor = ingestors.find((candidate: { state: string }) => candidate.state === 'available');
    const selection = (await call(sim, 'PUT', `/ingestor/${ingestor.id}/select`, { account, body: { tva_stream: stream.id } })).json.body;
    return { stream, ingestor, server: selection.stream_server as string, key: selection.stream_key as string };
  }

  const untilStatus = (id: string, status: 'on' | 'off', timeoutMs: number) =>
    waitFor(
      `the stream to turn ${status}`,
      async () => {
        const body = await readStream(id);
        return body.status === status ? body : undefined;
      },
      timeoutMs,
    );

  test('a publish becomes real HLS at a new playback_uri; when it stops the playlist ends and the ingestor is released', async (t) => {
    assert.match(sim.rtmpUrl ?? '', /^rtmp:\/\/127\.0\.0\.1:\d+\/live$/);
    const { stream, ingestor, server, key } = await selectNearest('rtmp');
    assert.equal(server, sim.rtmpUrl);
    assert.match(key, streamKeyPattern);

    const startedAt = Date.now();
    const publisher = publish(`${server}/${key}`, 5);
    t.after(() => publisher.stop());
    const live = await untilStatus(stream.id, 'on', 5000);
    const onLatency = Date.now() - startedAt;
    assert.match(live.playback_uri, playbackPattern);
    assert.match(live.player_uri, /\/player\//);
    assert.equal(await ingestorState(ingestor.id), 'busy', 'an ingestor with a live publisher is busy');
    const listedOn = await call(sim, 'GET', `/service_account/${accountA.id}/streams?status=on`, { account: accountA });
    assert.deepEqual(
      listedOn.json.body.streams.map((s: { id: string; playback_uri: string }) => [s.id, s.playback_uri]),
      [[stream.id, live.playback_uri]],
    );
    assert.equal(sim.hlsDirectories().length, 1);
    assert.ok(sim.hlsDirectories()[0]!.startsWith(hlsRoot), 'the session folder is under hlsRoot');

    // ffmpeg writes the playlist once the first segment is complete: until then the address answers 404.
    const playlist = await waitFor(
      'a playlist with 3 segments',
      async () => {
        const response = await fetch(live.playback_uri, { headers: { Origin: 'http://studio.test' }, signal: AbortSignal.timeout(5000) });
        if (response.status === 404) return undefined;
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('content-type'), 'application/vnd.apple.mpegurl');
        assert.equal(response.headers.get('access-control-allow-origin'), '*');
        const text = await response.text();
        return (text.match(/^#EXTINF:/gm) ?? []).length >= 3 ? text : undefined;
      },
      8000,
      100,
    );
    const playlistAt = Date.now() - startedAt;
    assert.match(playlist, /^#EXTM3U/);
    assert.match(playlist, /#EXT-X-PROGRAM-DATE-TIME:/);
    assert.doesNotMatch(playlist, /#EXT-X-ENDLIST/);
    const segmentName = playlist.split('\n').find((line) => line.endsWith('.ts'))!;
    const segment = await fetch(new URL(segmentName, live.playback_uri), { signal: AbortSignal.timeout(5000) });
    assert.equal(segment.status, 200);
    assert.equal(segment.headers.get('content-type'), 'video/mp2t');
    assert.equal(segment.headers.get('access-control-allow-origin'), '*');
    const bytes = new Uint8Array(await segment.arrayBuffer());
    assert.ok(bytes.length > 1000);
    assert.equal(bytes.length % 188, 0, 'whole MPEG-TS packets');
    assert.equal(bytes[0], 0x47, 'an MPEG-TS sync byte');
    const head = await fetch(new URL(segmentName, live.playback_uri), { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    assert.equal(head.status, 200);

    const { code } = await publisher.exited;
    assert.equal(code, 0);
    const endedAt = Date.now();
    const off = await untilStatus(stream.id, 'off', 3000);
    const offLatency = Date.now() - endedAt;
    assert.equal(off.playback_uri, null);
    assert.equal('stream_key' in off, false, 'the ingestor was released');
    assert.equal('backup_stream_key' in off, false);
    assert.equal(await ingestorState(ingestor.id), 'available');
    const ended = await waitFor(
      'the playlist to end',
      async () => {
        const text = await (await fetch(live.playback_uri, { signal: AbortSignal.timeout(5000) })).text();
        return text.includes('#EXT-X-ENDLIST') ? text : undefined;
      },
      6000,
      100,
    );
    assert.ok((ended.match(/^#EXTINF:/gm) ?? []).length >= 3);
    // An ended session stays served for hlsRetentionMs, then its folder goes.
    await waitFor('the ended session to be removed', async () => ((await readdir(hlsRoot)).length === 0 ? true : undefined), 5000, 100);
    assert.equal((await fetch(live.playback_uri, { signal: AbortSignal.timeout(5000) })).status, 404);
    assert.deepEqual(sim.hlsDirectories(), []);
    t.diagnostic(`publish-to-on ${onLatency} ms, to a 3-segment playlist ${playlistAt} ms, exit-to-off ${offLatency} ms`);
  });

  test('the next publish gets a new selection, a new key and a new playback_uri', async (t) => {
    const first = await selectNearest('again');
    const firstPublisher = publish(`${first.server}/${first.key}`, 20);
    t.after(() => firstPublisher.stop());
    const firstLive = await untilStatus(first.stream.id, 'on', 5000);
    await firstPublisher.stop();
    await untilStatus(first.stream.id, 'off', 3000);
    // The key was released with the ingestor: publishing with it again is refused.
    const stale = publish(`${first.server}/${first.key}`, 3);
    assert.notEqual((await stale.exited).code, 0);

    const ingestors = (await call(sim, 'GET', '/ingestor/filter', { account: accountA })).json.body.ingestors;
    const reselected = (
      await call(sim, 'PUT', `/ingestor/${ingestors[0].id}/select`, { account: accountA, body: { tva_stream: first.stream.id } })
    ).json.body;
    assert.notEqual(reselected.stream_key, first.key);
    const secondPublisher = publish(`${reselected.stream_server}/${reselected.stream_key}`, 20);
    t.after(() => secondPublisher.stop());
    const secondLive = await untilStatus(first.stream.id, 'on', 5000);
    assert.match(secondLive.playback_uri, playbackPattern);
    assert.notEqual(secondLive.playback_uri, firstLive.playback_uri);
    await secondPublisher.stop();
    await untilStatus(first.stream.id, 'off', 3000);
  });

  test('the backup stream key publishes the same stream', async (t) => {
    const { stream } = await selectNearest('backup', accountB);
    const owned = await readStream(stream.id, accountB);
    const publisher = publish(`${owned.backup_stream_server}/${owned.backup_stream_key}`, 20);
    t.after(() => publisher.stop());
    await waitFor('the stream to turn on', async () => ((await readStream(stream.id, accountB)).status === 'on' ? true : undefined), 5000);
    await publisher.stop();
    await waitFor(
      'the stream to turn off',
      async () => ((await readStream(stream.id, accountB)).status === 'off' ? true : undefined),
      3000,
    );
  });

  test('a publish with a wrong key is refused and changes nothing', async () => {
    const { stream } = await selectNearest('refused', accountB);
    const startedAt = Date.now();
    const publisher = publish(`${sim.rtmpUrl}/0123456789abcdefABCDEF0123456789`, 3);
    const { code } = await publisher.exited;
    assert.notEqual(code, 0);
    assert.ok(Date.now() - startedAt < 2500, 'refused before the publish would have ended');
    const read = await readStream(stream.id, accountB);
    assert.equal(read.status, 'off');
    assert.match(read.stream_key, streamKeyPattern, 'the selection is still there');
  });

  test('close() during a live publish stops ffmpeg and removes the HLS folders', async () => {
    const root = await mkdtemp(join(tmpdir(), 'theta-hls-close-'));
    const own = await startThetaSimulator({ serviceAccounts: [accountA], ffmpegPath, hlsRoot: root });
    try {
      const stream = (await call(own, 'POST', '/stream', { account: accountA, body: { name: 'closing' } })).json.body;
      const ingestor = (await call(own, 'GET', '/ingestor/filter', { account: accountA })).json.body.ingestors[0];
      const { stream_server: server, stream_key: key } = (
        await call(own, 'PUT', `/ingestor/${ingestor.id}/select`, { account: accountA, body: { tva_stream: stream.id } })
      ).json.body;
      const publisher = publish(`${server}/${key}`, 20);
      const live = await waitFor(
        'the playlist to exist',
        async () => {
          const body = (await call(own, 'GET', `/stream/${stream.id}`)).json.body;
          if (body.status !== 'on') return undefined;
          return (await fetch(body.playback_uri, { signal: AbortSignal.timeout(5000) })).status === 200 ? body : undefined;
        },
        8000,
        100,
      );
      assert.equal((await readdir(root)).length, 1);
      const closedAt = Date.now();
      await own.close();
      assert.ok(Date.now() - closedAt < 4000, 'close() does not wait for long');
      assert.deepEqual(await readdir(root), [], 'no folder left');
      assert.deepEqual(own.hlsDirectories(), []);
      assert.notEqual((await publisher.exited).code, 0, 'the publisher was disconnected');
      await assert.rejects(fetch(live.playback_uri, { signal: AbortSignal.timeout(2000) }));
    } finally {
      await own.close();
      await rm(root, { recursive: true, force: true });
    }
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
