import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startThetaSimulator, type ThetaSimulator } from '../../demo/simulators/theta/theta-simulator.js';
import { serveFetchHandler, type ServedFetchHandler } from '../../src/theta-proxy/node-server.js';
import { ThetaApiError, ThetaClient } from '../../src/theta-live-setup/theta-client.js';
import { startThetaBehindProxy, type ThetaBehindProxy } from '../support/theta-behind-proxy.js';

const account = { id: 'srvacc_clienttest', secret: 'client-secret-value-51c0de' };

async function rejection(promise: Promise<unknown>): Promise<ThetaApiError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ThetaApiError, `a ThetaApiError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

async function arm(simulator: ThetaSimulator, faults: unknown): Promise<void> {
  const response = await fetch(`${simulator.url}/_control/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(faults),
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(response.status, 200, await response.text());
}

describe('ThetaClient through the proxy, against the simulator', () => {
  let stack: ThetaBehindProxy | undefined;
  let simulator: ThetaSimulator;
  let proxy: ServedFetchHandler;
  let client: ThetaClient;

  before(async () => {
    stack = await startThetaBehindProxy(account, 1000);
    ({ simulator, proxy } = stack);
    client = new ThetaClient({ apiBase: `${proxy.url}/`, timeoutMs: 5000 });
  });
  after(async () => {
    await stack?.close();
  });
  beforeEach(async () => {
    simulator.faults.clear();
    // Each test starts with an empty account.
    for (const stream of (await client.listStreams(undefined)).streams) await client.deleteStream(stream.id);
  });

  test('runs the whole setup flow: create, list, pick an ingestor, select, read, unselect, delete', async () => {
    assert.deepEqual(await client.listStreams(undefined), { total_count: 0, streams: [] });
    const created = await client.createStream('My show');
    assert.match(created.id, /^stream_/);
    assert.equal(created.name, 'My show');
    assert.equal(created.status, 'off');
    assert.equal(created.stream_key, null);

    const listed = await client.listStreams(AbortSignal.timeout(5000));
    assert.equal(listed.total_count, 1);
    assert.equal(listed.streams[0]!.service_account_id, account.id);
    assert.deepEqual((await client.listStreams(undefined, 'on')).streams, []);

    const { ingestors, total_count: total } = await client.listIngestors();
    assert.ok(total >= 2);
    assert.equal(ingestors[0]!.state, 'available');
    assert.equal(ingestors[0]!.geo?.length, 2);
    assert.equal(typeof ingestors[0]!.stakes, 'number');

    const selection = await client.selectIngestor(ingestors[0]!.id, created.id);
    assert.match(selection.stream_server, /^rtmp:\/\//);
    // Real stream keys are 32 mixed-case letters and digits.
    assert.match(selection.stream_key, /^[0-9A-Za-z]{32}$/);
    const read = await client.getStream(created.id);
    assert.equal(read.stream_server, selection.stream_server, 'the proxy adds the credentials that reveal server and key');
    assert.equal(read.stream_key, selection.stream_key);

    await fetch(`${simulator.url}/_control/streams/${created.id}/status`, {
      method: 'POST',
      body: '{"status":"on"}',
      signal: AbortSignal.timeout(5000),
    });
    const live = await client.getStream(created.id);
    assert.equal(live.status, 'on');
    assert.match(live.playback_uri ?? '', /\.m3u8$/);
    assert.deepEqual(
      (await client.listStreams(undefined, 'on')).streams.map((stream) => stream.id),
      [created.id],
    );

    await client.unselectIngestor(ingestors[0]!.id);
    assert.equal((await client.getStream(created.id)).stream_key, null);
    await client.deleteStream(created.id);
    const gone = await rejection(client.getStream(created.id));
    assert.equal(gone.code, 'not-found');
    assert.equal(gone.status, 404);
    assert.equal(gone.message, 'Stream not found');
  });

  test("surfaces the service's own messages", async () => {
    for (const name of ['a', 'b', 'c']) await client.createStream(name);
    const limit = await rejection(client.createStream('d'));
    assert.equal(limit.code, 'http-error');
    assert.equal(limit.status, 400);
    assert.equal(limit.message, 'Live stream limit reached - you already have 3/3 streams');
    assert.equal(limit.serverMessage, limit.message);

    const ingestor = (await client.listIngestors()).ingestors[0]!;
    const foreign = await rejection(client.selectIngestor(ingestor.id, 'stream_notmine'));
    assert.equal(foreign.code, 'forbidden');
    assert.equal(foreign.status, 403);
    assert.equal(foreign.message, 'You are not authorized to select this ingestor');
  });

  test('explains an HTML error page instead of showing markup', async () => {
    await arm(simulator, {
      path: '^/ingestor/filter$',
      status: 502,
      body: '<!doctype html><html><body><h1>502</h1></body></html>',
      contentType: 'text/html',
    });
    const error = await rejection(client.listIngestors());
    assert.equal(error.code, 'server-error');
    assert.equal(error.status, 502);
    assert.equal(error.message, 'The service answered 502 with an HTML page instead of JSON');
    assert.equal(error.serverMessage, undefined);
  });

  test('names an error page by its title and broken JSON by its content type', async () => {
    await arm(simulator, [
      {
        path: '^/ingestor/filter$',
        status: 502,
        body: '<html><head><title>502 Bad Gateway</title></head><body><script>alert(1)</script></body></html>',
        contentType: 'text/html',
      },
      { path: '^/ingestor/filter$', status: 200, body: '{"status":"success","body":', contentType: 'application/json' },
    ]);
    const page = await rejection(client.listIngestors());
    assert.equal(page.code, 'server-error');
    assert.equal(page.message, 'The service answered 502 with an HTML page instead of JSON ("502 Bad Gateway")');
    const broken = await rejection(client.listIngestors());
    assert.equal(broken.code, 'malformed-response');
    assert.equal(broken.status, 200);
    assert.equal(broken.message, 'The service answered 200 with a body that is not valid JSON (content type application/json)');
  });

  test('reads messages from other error shapes', async () => {
    await arm(simulator, [
      { path: '^/ingestor/filter$', status: 429, body: '{"error":"Too many requests, slow down"}' },
      { path: '^/ingestor/filter$', status: 422, body: '{"detail":"Invalid ingestor"}' },
      { path: '^/ingestor/filter$', status: 503, body: 'Service Unavailable', contentType: 'text/plain' },
      { path: '^/ingestor/filter$', status: 500, body: '{}' },
    ]);
    const busy = await rejection(client.listIngestors());
    assert.equal(busy.message, 'Too many requests, slow down');
    assert.equal(busy.code, 'http-error');
    const invalid = await rejection(client.listIngestors());
    assert.equal(invalid.message, 'Invalid ingestor');
    assert.equal(invalid.code, 'invalid-request');
    const text = await rejection(client.listIngestors());
    assert.equal(text.status, 503);
    assert.equal(text.code, 'server-error');
    assert.equal(text.serverMessage, 'Service Unavailable');
    const silent = await rejection(client.listIngestors());
    assert.equal(silent.message, 'The service answered 500 without saying why');
  });

  test('calls a success without the promised body malformed', async () => {
    await arm(simulator, [
      { path: '^/stream$', status: 200, body: '{"status":"success"}' },
      { path: '^/ingestor/filter$', status: 200, body: '<html>maintenance</html>', contentType: 'text/html' },
      { path: '^/ingestor/filter$', status: 200, body: '{"status":"success","body":{"ingestors":[{"ip":"1.2.3.4"}]}}' },
    ]);
    const missing = await rejection(client.createStream('x'));
    assert.equal(missing.code, 'malformed-response');
    assert.match(missing.message, /success but no body/);
    const html = await rejection(client.listIngestors());
    assert.equal(html.code, 'malformed-response');
    assert.equal(html.message, 'The service answered 200 with an HTML page instead of JSON');
    const noId = await rejection(client.listIngestors());
    assert.equal(noId.code, 'malformed-response');
  });

  test("reports the proxy's timeout when the service is too slow", async () => {
    await arm(simulator, { path: '^/ingestor/filter$', delayMs: 3000 });
    const error = await rejection(client.listIngestors());
    assert.equal(error.code, 'server-error');
    assert.equal(error.status, 504);
    assert.match(error.message, /did not answer within 1 s/);
  });

  test("reports its own timeout and the caller's abort", async () => {
    await arm(simulator, { path: '^/ingestor/filter$', delayMs: 800, times: 2 });
    const impatient = new ThetaClient({ apiBase: proxy.url, timeoutMs: 150 });
    const timeout = await rejection(impatient.listIngestors());
    assert.equal(timeout.code, 'timeout');
    assert.equal(timeout.status, undefined);

    const controller = new AbortController();
    const pending = client.listIngestors(controller.signal);
    setTimeout(() => controller.abort(), 50);
    const aborted = await rejection(pending);
    assert.equal(aborted.code, 'aborted');
    assert.equal(aborted.status, undefined);
  });

  test('waits for a slow unselect well past its usual timeout', async () => {
    const direct = new ThetaClient({
      apiBase: simulator.url,
      serviceAccountId: account.id,
      serviceAccountSecret: account.secret,
      timeoutMs: 300,
    });
    const stream = await direct.createStream('Slow release');
    const [ingestor] = (await direct.listIngestors()).ingestors;
    await direct.selectIngestor(ingestor!.id, stream.id);
    await arm(simulator, [
      { path: '^/ingestor/filter$', delayMs: 900 },
      { path: '/unselect$', delayMs: 900 },
    ]);
    assert.equal((await rejection(direct.listIngestors())).code, 'timeout', 'other calls keep the short timeout');
    await direct.unselectIngestor(ingestor!.id);
    assert.equal((await direct.getStream(stream.id)).stream_key, null);
  });

  test('reports a dropped connection as a network failure', async () => {
    const direct = new ThetaClient({ apiBase: simulator.url, serviceAccountId: account.id, serviceAccountSecret: account.secret });
    await arm(simulator, { path: '^/ingestor/filter$', drop: true });
    const error = await rejection(direct.listIngestors());
    assert.equal(error.code, 'network');
    assert.equal(error.status, undefined);
  });
});

describe('ThetaClient on its own', () => {
  test('reports an unreachable service as a network failure', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const client = new ThetaClient({ apiBase: `http://127.0.0.1:${port}`, timeoutMs: 3000 });
    const error = await rejection(client.listIngestors());
    assert.equal(error.code, 'network');
    assert.equal(error.status, undefined);
    assert.equal(error.name, 'ThetaApiError');
    assert.match(error.message, /Could not reach/);
  });

  test('sends credentials only as headers, never in messages, and lists by account id when given one', async () => {
    const simulator = await startThetaSimulator({ serviceAccounts: [account], rtmp: false });
    try {
      const direct = new ThetaClient({ apiBase: simulator.url, serviceAccountId: account.id, serviceAccountSecret: account.secret });
      await direct.createStream('direct');
      const listed = await direct.listStreams(undefined);
      assert.equal(listed.total_count, 1);
      const log = simulator.requestLog().at(-1)!;
      assert.equal(log.path, `/service_account/${account.id}/streams`);
      assert.ok(log.headerNames.includes('x-tva-sa-secret'));

      simulator.faults.add({ status: 401, body: JSON.stringify({ status: 'error', message: `Bad secret ${account.secret}` }) });
      const echoed = await rejection(direct.listIngestors());
      assert.equal(echoed.message.includes(account.secret), false);
      assert.equal(echoed.serverMessage?.includes(account.secret), false);
      assert.equal(echoed.message, 'Bad secret [redacted]');
      assert.equal(echoed.code, 'unauthorized');
      assert.equal(echoed.status, 401);

      const wrong = new ThetaClient({ apiBase: simulator.url, serviceAccountId: account.id, serviceAccountSecret: 'wrong-secret' });
      const refused = await rejection(wrong.listIngestors());
      assert.equal(refused.status, 403);
      assert.equal(refused.message.includes('wrong-secret'), false);
    } finally {
      await simulator.close();
    }
  });

  test('refuses a secret without its service account id, saying what to set, and sends nothing', async () => {
    const simulator = await startThetaSimulator({ serviceAccounts: [account], rtmp: false });
    try {
      const incomplete = new ThetaClient({ apiBase: simulator.url, serviceAccountSecret: account.secret });
      for (const call of [incomplete.listStreams(undefined), incomplete.getStream('stream_1'), incomplete.listIngestors()]) {
        const error = await rejection(call);
        assert.equal(error.code, 'configuration');
        assert.equal(error.status, undefined);
        assert.match(error.message, /service-account-id/);
        assert.equal(error.message.includes(account.secret), false);
      }
      assert.deepEqual(simulator.requestLog(), []);
    } finally {
      await simulator.close();
    }
  });

  test('tolerates the null, empty and extra fields of real answers', async () => {
    const served = await serveFetchHandler(async () =>
      Response.json({
        status: 'success',
        body: {
          id: 'stream_real',
          name: 'real',
          status: 'on',
          description: '',
          update_time: null,
          playback_uri: '',
          player_uri: null,
          thumbnail_uri: '',
          use_drm: false,
          stream_server: 'rtmp://ingest.example/live',
          stream_key: 'AbCdEfGhIjKlMnOpQrStUvWxYz012345',
          backup_stream_server: 'rtmp://backup.example/live',
          backup_stream_key: null,
        },
      }),
    );
    try {
      const stream = await new ThetaClient({ apiBase: served.url }).getStream('stream_real');
      assert.deepEqual(stream, {
        id: 'stream_real',
        name: 'real',
        status: 'on',
        update_time: null,
        service_account_id: null,
        playback_uri: null,
        player_uri: null,
        thumbnail_uri: null,
        stream_server: 'rtmp://ingest.example/live',
        stream_key: 'AbCdEfGhIjKlMnOpQrStUvWxYz012345',
      });
    } finally {
      await served.close();
    }
  });

  test('folds older field spellings into the current ones', async () => {
    const served = await serveFetchHandler(async () =>
      Response.json({
        status: 'success',
        body: {
          id: 'stream_old',
          name: 'old',
          status: 'on',
          playback_url: 'https://cdn.example/old.m3u8',
          thumbnail_url: 'https://cdn.example/old.jpg',
        },
      }),
    );
    try {
      const stream = await new ThetaClient({ apiBase: served.url }).getStream('stream_old');
      assert.equal(stream.playback_uri, 'https://cdn.example/old.m3u8');
      assert.equal(stream.thumbnail_uri, 'https://cdn.example/old.jpg');
      assert.equal(stream.player_uri, null);
      assert.equal(stream.status, 'on');
    } finally {
      await served.close();
    }
  });

  test('refuses ids that would change the path', async () => {
    const client = new ThetaClient({ apiBase: 'http://127.0.0.1:9' });
    await assert.rejects(client.getStream('..'), TypeError);
    await assert.rejects(client.deleteStream(''), TypeError);
  });
});
