import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createThetaProxy, type ThetaProxyOptions } from '../../src/theta-proxy/index.js';
import { normalizeIpAddress } from '../../src/theta-proxy/theta-proxy.js';
import { serveFetchHandler, socketClientAddress, type ServedFetchHandler } from '../../src/theta-proxy/node-server.js';
import { parseThetaProxyArgs, runThetaProxyCli, ThetaProxyCliError } from '../../src/theta-proxy/cli.js';

const accountId = 'srvacc_proxytest';
const secret = 'S3cr3t-proxy-value-9d2f41';
const cliPath = fileURLToPath(new URL('../../src/theta-proxy/cli.ts', import.meta.url));

interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Responder = (request: RecordedRequest, res: ServerResponse) => void;

/** An upstream that records what reaches it and answers as each test says. */
class FakeUpstream {
  readonly requests: RecordedRequest[] = [];
  respond: Responder = defaultResponder;
  url = '';
  private server: Server | null = null;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
        this.requests.push(recorded);
        this.respond(recorded, res);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.requests.length = 0;
    this.respond = defaultResponder;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }
}

function defaultResponder(_request: RecordedRequest, res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ status: 'success', body: { ok: true } }));
}

describe('Theta proxy', () => {
  const upstream = new FakeUpstream();
  before(() => upstream.start());
  after(() => upstream.stop());
  beforeEach(() => upstream.reset());

  function proxy(options: Partial<ThetaProxyOptions> = {}) {
    return createThetaProxy({ serviceAccountId: accountId, serviceAccountSecret: secret, upstream: upstream.url, ...options });
  }

  async function send(handler: (request: Request) => Promise<Response>, path: string, init: RequestInit = {}) {
    const response = await handler(new Request(`http://proxy.test${path}`, init));
    const text = await response.text();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests walk untyped JSON answers and let assert check them
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { response, text, json };
  }

  test('forwards each documented call to the same upstream path and method', async () => {
    const handler = proxy();
    const calls: Array<[string, string, string, string?]> = [
      ['POST', '/stream', '/stream', '{"name":"demo"}'],
      ['GET', '/stream/stream_abc123', '/stream/stream_abc123'],
      ['DELETE', '/stream/stream_abc123', '/stream/stream_abc123'],
      ['GET', `/service_account/${accountId}/streams?status=on&evil=1`, `/service_account/${accountId}/streams?status=on`],
      ['GET', '/service_account/me/streams', `/service_account/${accountId}/streams`],
      ['GET', '/ingestor/filter?lat=1', '/ingestor/filter'],
      [
        'PUT',
        '/ingestor/0x093D7e6936fbd2e86f72DB6A5060CbC1535A232A/select',
        '/ingestor/0x093D7e6936fbd2e86f72DB6A5060CbC1535A232A/select',
        '{"tva_stream":"stream_abc123"}',
      ],
      ['PUT', '/ingestor/0xabc/unselect', '/ingestor/0xabc/unselect', '{}'],
    ];
    for (const [method, path, upstreamPath, body] of calls) {
      upstream.reset();
      const { response, json } = await send(handler, path, {
        method,
        body,
        headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      });
      assert.equal(response.status, 200, `${method} ${path}`);
      assert.deepEqual(json, { status: 'success', body: { ok: true } });
      assert.equal(upstream.requests.length, 1);
      assert.equal(upstream.requests[0]!.method, method);
      assert.equal(upstream.requests[0]!.url, upstreamPath);
      if (body !== undefined) assert.deepEqual(JSON.parse(upstream.requests[0]!.body), JSON.parse(body));
    }
  });

  test('sends {} for an unselect without a body', async () => {
    const { response } = await send(proxy(), '/ingestor/0xabc/unselect', { method: 'PUT' });
    assert.equal(response.status, 200);
    assert.equal(upstream.requests[0]!.body, '{}');
    assert.equal(upstream.requests[0]!.headers['content-type'], 'application/json');
  });

  test('refuses everything else without calling the upstream', async () => {
    const handler = proxy();
    const refused: Array<[string, string, number, RequestInit?]> = [
      ['/', 'GET', 404],
      ['/streams', 'GET', 404],
      ['/stream/abc/extra', 'GET', 404],
      ['/video/123', 'GET', 404],
      ['//stream', 'POST', 404],
      ['/ingestor/filter/', 'GET', 404],
      ['/stream', 'GET', 405],
      ['/stream/abc', 'PUT', 405],
      ['/ingestor/filter', 'POST', 405],
      ['/ingestor/0xabc/select', 'GET', 405],
      ['/stream/a%2Fb', 'GET', 400],
      ['/stream/..%2F..%2Fservice_account', 'GET', 400],
      ['/stream/%2e%2e%2fx', 'GET', 400],
      ['/stream/abc.def', 'GET', 400],
      ['/ingestor/a%00b/select', 'PUT', 400],
      ['/service_account/srvacc_someoneelse/streams', 'GET', 403],
    ];
    for (const [path, method, status] of refused) {
      const { response, json } = await send(handler, path, { method });
      assert.equal(response.status, status, `${method} ${path}`);
      assert.equal(json.status, 'error');
      assert.equal(typeof json.message, 'string');
      assert.match(response.headers.get('content-type') ?? '', /application\/json/);
      if (status === 405) assert.match(response.headers.get('allow') ?? '', /OPTIONS/);
    }
    assert.equal(upstream.requests.length, 0);
  });

  test("adds its credentials and strips the page's credentials and other headers", async () => {
    const { response } = await send(proxy(), '/stream', {
      method: 'POST',
      body: '{"name":"x"}',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'x-tva-sa-id': 'srvacc_attacker',
        'x-tva-sa-secret': 'attacker-secret',
        'x-tva-anything': '1',
        Authorization: 'Bearer page-token',
        Cookie: 'session=abc',
        'X-Forwarded-For': '10.0.0.1',
        'User-Agent': 'page',
      },
    });
    assert.equal(response.status, 200);
    const { headers } = upstream.requests[0]!;
    assert.equal(headers['x-tva-sa-id'], accountId);
    assert.equal(headers['x-tva-sa-secret'], secret);
    assert.equal(headers['x-tva-anything'], undefined);
    assert.equal(headers.authorization, undefined);
    assert.equal(headers.cookie, undefined);
    assert.equal(headers['x-forwarded-for'], undefined);
    assert.equal(headers.accept, 'application/json');
    assert.equal(headers['content-type'], 'application/json');
    assert.notEqual(headers['user-agent'], 'page');
  });

  test("passes the upstream status and body through, so the page sees the service's own message", async () => {
    upstream.respond = (_request, res) => {
      res.writeHead(400, { 'Content-Type': 'application/json', 'X-Internal': 'secret-ish' });
      res.end(JSON.stringify({ status: 'error', message: 'Live stream limit reached - you already have 3/3 streams' }));
    };
    const { response, json } = await send(proxy(), '/stream', {
      method: 'POST',
      body: '{"name":"x"}',
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(response.status, 400);
    assert.deepEqual(json, { status: 'error', message: 'Live stream limit reached - you already have 3/3 streams' });
    assert.equal(response.headers.get('x-internal'), null, 'only the content type is passed on');
    assert.equal(response.headers.get('cache-control'), 'no-store');

    upstream.respond = (_request, res) => {
      res.writeHead(502, { 'Content-Type': 'text/html' });
      res.end('<html><title>502 Bad Gateway</title></html>');
    };
    const html = await send(proxy(), '/ingestor/filter');
    assert.equal(html.response.status, 502);
    assert.match(html.response.headers.get('content-type') ?? '', /text\/html/);
    assert.match(html.text, /Bad Gateway/);
  });

  test('never echoes the secret, whatever the upstream sends back', async () => {
    upstream.respond = (request, res) => {
      res.writeHead(500, { 'Content-Type': `application/json; echo=${request.headers['x-tva-sa-secret']}` });
      res.end(
        JSON.stringify({
          status: 'error',
          message: `bad secret ${request.headers['x-tva-sa-secret']}`,
          url: `?secret=${encodeURIComponent(String(request.headers['x-tva-sa-secret']))}`,
        }),
      );
    };
    const { response, text } = await send(proxy(), '/ingestor/filter');
    assert.equal(response.status, 500);
    assert.equal(text.includes(secret), false);
    assert.match(text, /\[redacted\]/);
    for (const [, value] of response.headers) assert.equal(value.includes(secret), false);
  });

  test('does not follow upstream redirects, which would carry the secret elsewhere', async () => {
    upstream.respond = (_request, res) => {
      res.writeHead(302, { Location: `${upstream.url}/elsewhere` });
      res.end();
    };
    const { response, json } = await send(proxy(), '/ingestor/filter');
    assert.equal(response.status, 502);
    assert.match(json.message, /redirect/);
    assert.equal(upstream.requests.length, 1);
  });

  test('answers allowed origins with CORS and refuses the others', async () => {
    const handler = proxy({ allowedOrigins: ['https://studio.example'] });
    const preflight = await send(handler, '/stream', {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://studio.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    assert.equal(preflight.response.status, 204);
    assert.equal(preflight.response.headers.get('access-control-allow-origin'), 'https://studio.example');
    assert.match(preflight.response.headers.get('vary') ?? '', /Origin/);
    assert.match(preflight.response.headers.get('access-control-allow-methods') ?? '', /PUT/);
    assert.match(preflight.response.headers.get('access-control-allow-headers') ?? '', /Content-Type/);
    assert.doesNotMatch(preflight.response.headers.get('access-control-allow-headers') ?? '', /x-tva/i);

    const allowed = await send(handler, '/ingestor/filter', { headers: { Origin: 'https://studio.example' } });
    assert.equal(allowed.response.status, 200);
    assert.equal(allowed.response.headers.get('access-control-allow-origin'), 'https://studio.example');
    assert.match(allowed.response.headers.get('vary') ?? '', /Origin/);

    const refusedPreflight = await send(handler, '/stream', {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(refusedPreflight.response.status, 403);
    assert.equal(refusedPreflight.response.headers.get('access-control-allow-origin'), null);
    const refused = await send(handler, '/ingestor/filter', { headers: { Origin: 'https://evil.example' } });
    assert.equal(refused.response.status, 403);
    assert.equal(refused.response.headers.get('access-control-allow-origin'), null);
    assert.equal(upstream.requests.length, 1, 'only the allowed request reached the upstream');

    const sameOrigin = await send(proxy(), '/ingestor/filter', { headers: { Origin: 'http://proxy.test' } });
    assert.equal(sameOrigin.response.status, 200, "a page from the proxy's own origin needs no configuration");
    const noOrigin = await send(proxy(), '/ingestor/filter');
    assert.equal(noOrigin.response.status, 200);
    assert.equal(noOrigin.response.headers.get('access-control-allow-origin'), null);
    const anyOrigin = await send(proxy({ allowedOrigins: '*' }), '/ingestor/filter', { headers: { Origin: 'https://any.example' } });
    assert.equal(anyOrigin.response.headers.get('access-control-allow-origin'), 'https://any.example');
  });

  test('limits request bodies, checking as they stream, and accepts JSON only', async () => {
    const handler = proxy({ maxBodyBytes: 64 });
    const declared = await send(handler, '/stream', {
      method: 'POST',
      body: JSON.stringify({ name: 'x'.repeat(100) }),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(declared.response.status, 413);

    let pulls = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls += 1;
        controller.enqueue(new TextEncoder().encode('{"name":"' + 'y'.repeat(30)));
        if (pulls > 1000) controller.close();
      },
    });
    const streamed = await send(handler, '/stream', {
      method: 'POST',
      body: endless,
      headers: { 'Content-Type': 'application/json' },
      duplex: 'half',
    } as RequestInit);
    assert.equal(streamed.response.status, 413);
    assert.ok(pulls < 10, `stopped reading early (${pulls} chunks)`);

    const text = await send(handler, '/stream', {
      method: 'POST',
      body: 'name=x',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(text.response.status, 415);
    const broken = await send(handler, '/stream', { method: 'POST', body: '{"name":', headers: { 'Content-Type': 'application/json' } });
    assert.equal(broken.response.status, 400);
    const array = await send(handler, '/stream', { method: 'POST', body: '[1]', headers: { 'Content-Type': 'application/json' } });
    assert.equal(array.response.status, 400);
    assert.equal(upstream.requests.length, 0);
  });

  test('answers 504 with a clear message when the upstream is too slow', async () => {
    upstream.respond = (_request, res) => {
      const timer = setTimeout(() => defaultResponder(_request, res), 3000);
      res.on('close', () => clearTimeout(timer));
    };
    const started = Date.now();
    const { response, json } = await send(proxy({ upstreamTimeoutMs: 200 }), '/ingestor/filter');
    assert.equal(response.status, 504);
    assert.equal(json.status, 'error');
    assert.match(json.message, /did not answer within 0\.2 s/);
    assert.ok(Date.now() - started < 2000);
  });

  test('answers 502 when the upstream cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { response, json } = await send(proxy({ upstream: `http://127.0.0.1:${port}` }), '/ingestor/filter');
    assert.equal(response.status, 502);
    assert.match(json.message, /Could not reach the Theta Video API/);

    const failingFetch: typeof fetch = async () => {
      throw new TypeError(`fetch failed for ${secret}`);
    };
    const injected = await send(proxy({ fetch: failingFetch }), '/ingestor/filter');
    assert.equal(injected.response.status, 502);
    assert.equal(injected.text.includes(secret), false);
  });

  test('mounts under a base path', async () => {
    const handler = proxy({ basePath: '/api/theta/' });
    const mounted = await send(handler, '/api/theta/ingestor/filter');
    assert.equal(mounted.response.status, 200);
    assert.equal(upstream.requests[0]!.url, '/ingestor/filter');
    assert.equal((await send(handler, '/ingestor/filter')).response.status, 404);
    assert.equal((await send(handler, '/api/thetaingestor/filter')).response.status, 404);
  });

  test('forwards a valid max_distance on the ingestor list, and no other query parameter', async () => {
    const handler = proxy();
    for (const value of ['40000000', '0', '1500.5']) {
      upstream.reset();
      const { response } = await send(handler, `/ingestor/filter?lat=1&max_distance=${value}&secret=x`);
      assert.equal(response.status, 200, value);
      assert.equal(upstream.requests[0]!.url, `/ingestor/filter?max_distance=${value}`);
    }
    upstream.reset();
    await send(handler, '/stream/stream_abc?max_distance=5');
    assert.equal(upstream.requests[0]!.url, '/stream/stream_abc', 'only the ingestor list takes max_distance');
  });

  test('refuses a malformed max_distance with a 400 that says what is wrong', async () => {
    const handler = proxy();
    for (const query of [
      'max_distance=-1',
      'max_distance=abc',
      'max_distance=',
      'max_distance=1e3',
      'max_distance=Infinity',
      'max_distance=NaN',
      'max_distance=0x10',
      'max_distance=1.',
      'max_distance=1,5',
      'max_distance=%201',
      'max_distance=1234567890123',
    ]) {
      const { response, json } = await send(handler, `/ingestor/filter?${query}`);
      assert.equal(response.status, 400, query);
      assert.equal(json.status, 'error');
      assert.match(json.message, /max_distance must be a non-negative number/, query);
    }
    const twice = await send(handler, '/ingestor/filter?max_distance=1&max_distance=2');
    assert.equal(twice.response.status, 400);
    assert.match(twice.json.message, /max_distance may be given only once/);
    assert.equal(upstream.requests.length, 0);
  });

  test('forwards DELETE /stream/{id} with its credentials and passes the answer back', async () => {
    const handler = proxy({ allowedOrigins: ['https://studio.example'] });
    const preflight = await send(handler, '/stream/stream_abc', {
      method: 'OPTIONS',
      headers: { Origin: 'https://studio.example', 'Access-Control-Request-Method': 'DELETE' },
    });
    assert.equal(preflight.response.status, 204);
    assert.match(preflight.response.headers.get('access-control-allow-methods') ?? '', /\bDELETE\b/);

    const deleted = await send(handler, '/stream/stream_abc', { method: 'DELETE', headers: { Origin: 'https://studio.example' } });
    assert.equal(deleted.response.status, 200);
    assert.equal(deleted.response.headers.get('access-control-allow-origin'), 'https://studio.example');
    const [forwarded] = upstream.requests;
    assert.equal(forwarded!.method, 'DELETE');
    assert.equal(forwarded!.url, '/stream/stream_abc');
    assert.equal(forwarded!.headers['x-tva-sa-id'], accountId);
    assert.equal(forwarded!.headers['x-tva-sa-secret'], secret);
    assert.equal(forwarded!.body, '', 'a delete carries no body');

    upstream.respond = (_request, res) => {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ status: 'error', message: 'Stream not found' }));
    };
    const missing = await send(handler, '/stream/stream_gone', { method: 'DELETE' });
    assert.equal(missing.response.status, 404);
    assert.deepEqual(missing.json, { status: 'error', message: 'Stream not found' });
    assert.equal(missing.text.includes(secret), false);
    assert.equal((await send(handler, '/stream', { method: 'DELETE' })).response.status, 405);
    assert.equal((await send(handler, '/stream/a.b', { method: 'DELETE' })).response.status, 400);
    assert.equal(upstream.requests.length, 2);
  });

  test("passes clientAddress upstream as X-Forwarded-For, never the browser's own header", async () => {
    const seen: Request[] = [];
    const handler = proxy({
      clientAddress: (request) => {
        seen.push(request);
        return '203.0.113.9';
      },
    });
    const { response, text } = await send(handler, '/ingestor/filter?max_distance=100', {
      headers: { 'X-Forwarded-For': '10.0.0.1, 10.0.0.2' },
    });
    assert.equal(response.status, 200);
    assert.equal(upstream.requests[0]!.headers['x-forwarded-for'], '203.0.113.9');
    assert.equal(upstream.requests[0]!.url, '/ingestor/filter?max_distance=100');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.url, 'http://proxy.test/ingestor/filter?max_distance=100', 'it is given the incoming request');
    assert.equal(text.includes(secret), false);

    upstream.reset();
    await send(handler, '/stream', { method: 'POST', body: '{"name":"x"}', headers: { 'Content-Type': 'application/json' } });
    assert.equal(upstream.requests[0]!.headers['x-forwarded-for'], '203.0.113.9', 'every forwarded call carries it');
  });

  test('keeps an incoming X-Forwarded-For only when told to trust it', async () => {
    const trusted = proxy({ trustForwardedFor: true, clientAddress: () => '203.0.113.9' });
    await send(trusted, '/ingestor/filter', { headers: { 'X-Forwarded-For': '198.51.100.1, not-an-ip, 2001:DB8::7' } });
    assert.equal(upstream.requests[0]!.headers['x-forwarded-for'], '198.51.100.1, 2001:db8::7, 203.0.113.9');

    upstream.reset();
    await send(proxy({ trustForwardedFor: true }), '/ingestor/filter', { headers: { 'X-Forwarded-For': '198.51.100.1' } });
    assert.equal(upstream.requests[0]!.headers['x-forwarded-for'], '198.51.100.1');

    upstream.reset();
    const long = Array.from({ length: 40 }, (_, index) => `192.0.2.${index}`).join(', ');
    await send(proxy({ trustForwardedFor: true }), '/ingestor/filter', { headers: { 'X-Forwarded-For': long } });
    const kept = String(upstream.requests[0]!.headers['x-forwarded-for']).split(', ');
    assert.equal(kept.length, 16, 'a bounded chain');
    assert.equal(kept.at(-1), '192.0.2.39', 'the entries nearest to the proxy are kept');

    upstream.reset();
    await send(proxy({ clientAddress: () => undefined }), '/ingestor/filter', { headers: { 'X-Forwarded-For': '198.51.100.1' } });
    assert.equal(upstream.requests[0]!.headers['x-forwarded-for'], undefined, 'not trusted by default');
  });

  test('sends no X-Forwarded-For when clientAddress gives no valid address, and still forwards the call', async () => {
    const answers: Array<() => string | undefined> = [
      () => undefined,
      () => '',
      () => 'unknown',
      () => '1.2.3.256',
      () => '01.2.3.4',
      () => '203.0.113.9\r\nX-Injected: 1',
      () => `${secret}`,
      () => 42 as unknown as string,
      () => {
        throw new Error(`lookup failed ${secret}`);
      },
    ];
    for (const answer of answers) {
      upstream.reset();
      const { response, text } = await send(proxy({ clientAddress: answer }), '/ingestor/filter');
      assert.equal(response.status, 200, String(answer));
      assert.equal(upstream.requests[0]!.headers['x-forwarded-for'], undefined, String(answer));
      assert.equal(upstream.requests[0]!.headers['x-injected'], undefined);
      assert.equal(text.includes(secret), false);
    }
  });

  test('reads IPv4 and IPv6 addresses in the spellings platforms use', () => {
    const cases: Array<[string, string | undefined]> = [
      ['127.0.0.1', '127.0.0.1'],
      [' 203.0.113.9 ', '203.0.113.9'],
      ['203.0.113.9:51234', '203.0.113.9'],
      ['0.0.0.0', '0.0.0.0'],
      ['::1', '::1'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['[2001:db8::1]:443', '2001:db8::1'],
      ['fe80::1%eth0', 'fe80::1'],
      ['::ffff:192.0.2.1', '192.0.2.1'],
      ['::FFFF:7f00:1', '127.0.0.1'],
      ['256.1.1.1', undefined],
      ['1.2.3', undefined],
      ['1.2.3.4.5', undefined],
      ['127.1', undefined],
      ['0x7f.0.0.1', undefined],
      ['2001:db8::1::2', undefined],
      ['12345::', undefined],
      ['example.com', undefined],
      ['', undefined],
      [':', undefined],
      ['1'.repeat(80), undefined],
    ];
    for (const [input, expected] of cases) assert.equal(normalizeIpAddress(input), expected, input);
  });

  test('refuses bad options without quoting the secret', () => {
    assert.throws(() => createThetaProxy({ serviceAccountId: '', serviceAccountSecret: secret }), /serviceAccountId/);
    assert.throws(() => createThetaProxy({ serviceAccountId: accountId, serviceAccountSecret: '' }), /serviceAccountSecret/);
    assert.throws(
      () => createThetaProxy({ serviceAccountId: accountId, serviceAccountSecret: secret, upstream: 'ftp://x' }),
      (error: Error) => /upstream/.test(error.message) && !error.message.includes(secret),
    );
    assert.throws(
      () =>
        createThetaProxy({
          serviceAccountId: accountId,
          serviceAccountSecret: secret,
          clientAddress: '127.0.0.1' as unknown as () => string,
        }),
      /clientAddress must be a function/,
    );
  });
});

describe('Theta proxy served by node:http', () => {
  const upstream = new FakeUpstream();
  let served: ServedFetchHandler;
  let behindReverseProxy: ServedFetchHandler;
  before(async () => {
    await upstream.start();
    const options = { serviceAccountId: accountId, serviceAccountSecret: secret, upstream: upstream.url, maxBodyBytes: 1024 };
    served = await serveFetchHandler(createThetaProxy({ ...options, clientAddress: (request) => socketClientAddress(request) }));
    behindReverseProxy = await serveFetchHandler(
      createThetaProxy({ ...options, clientAddress: (request) => socketClientAddress(request, { trustProxy: true }) }),
    );
  });
  after(async () => {
    await served.close();
    await behindReverseProxy.close();
    await upstream.stop();
  });
  beforeEach(() => upstream.reset());

  async function forwardedFor(base: string, header?: string): Promise<string | string[] | undefined> {
    const response = await fetch(`${base}/ingestor/filter?max_distance=40000000`, {
      headers: header === undefined ? {} : { 'X-Forwarded-For': header },
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(response.status, 200);
    assert.equal((await response.text()).includes(secret), false);
    assert.equal(upstream.requests.at(-1)!.url, '/ingestor/filter?max_distance=40000000');
    return upstream.requests.at(-1)!.headers['x-forwarded-for'];
  }

  test("fills X-Forwarded-For from the socket's address, ignoring the one the client wrote", async () => {
    assert.equal(await forwardedFor(served.url), '127.0.0.1');
    assert.equal(await forwardedFor(served.url, '198.51.100.7'), '127.0.0.1');
  });

  test('behind a trusted reverse proxy, takes the address it appended', async () => {
    assert.equal(await forwardedFor(behindReverseProxy.url, '198.51.100.7'), '198.51.100.7');
    assert.equal(await forwardedFor(behindReverseProxy.url, '10.9.9.9, 198.51.100.7'), '198.51.100.7', 'not what the client wrote first');
    assert.equal(await forwardedFor(behindReverseProxy.url), '127.0.0.1', 'a direct connection has no header');
    assert.equal(await forwardedFor(behindReverseProxy.url, '198.51.100.7, garbage'), undefined, 'never the reverse proxy itself');
  });

  test('reads an IPv6 socket address', async (t) => {
    let ipv6: ServedFetchHandler;
    try {
      ipv6 = await serveFetchHandler(
        createThetaProxy({
          serviceAccountId: accountId,
          serviceAccountSecret: secret,
          upstream: upstream.url,
          clientAddress: socketClientAddress,
        }),
        { host: '::1' },
      );
    } catch {
      t.skip('no IPv6 loopback here');
      return;
    }
    try {
      assert.equal(await forwardedFor(ipv6.url), '::1');
    } finally {
      await ipv6.close();
    }
  });

  test('forwards through a real socket', async () => {
    const response = await fetch(`${served.url}/stream`, {
      method: 'POST',
      body: '{"name":"node"}',
      headers: { 'Content-Type': 'application/json', 'x-tva-sa-secret': 'page' },
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'success', body: { ok: true } });
    assert.equal(upstream.requests.at(-1)!.headers['x-tva-sa-secret'], secret);
  });

  test('refuses a chunked body over the limit while it streams', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${served.url}/stream`);
      const request = httpRequest(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'Content-Type': 'application/json' } },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on('error', reject);
      request.setTimeout(5000, () => request.destroy(new Error('timed out')));
      // No Content-Length: chunked, so only the streaming check can catch it.
      request.write('{"name":"');
      const chunk = 'z'.repeat(512);
      let written = 0;
      const writeMore = () => {
        while (written < 64 && !request.destroyed) {
          written += 1;
          if (!request.write(chunk)) {
            request.once('drain', writeMore);
            return;
          }
        }
        request.end('"}');
      };
      writeMore();
    });
    assert.equal(status, 413);
  });
});

describe('theta-proxy command line', () => {
  function run(args: string[], env: Record<string, string>) {
    const child = spawn(process.execPath, ['--import', 'tsx', cliPath, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        clearTimeout(killTimer);
        resolve(code);
      }),
    );
    return { child, exited, output: () => ({ stdout, stderr }) };
  }

  test('refuses to start without the service account in the environment', async () => {
    const cli = run(['theta-proxy', '--port', '0'], { THETA_SA_ID: accountId });
    assert.equal(await cli.exited, 2);
    assert.match(cli.output().stderr, /THETA_SA_ID and THETA_SA_SECRET/);
  });

  test('prints where it listens, never the secret', async (t) => {
    const cli = run(['theta-proxy', '--port', '0', '--upstream', 'http://127.0.0.1:9'], {
      THETA_SA_ID: accountId,
      THETA_SA_SECRET: secret,
    });
    t.after(() => cli.child.kill('SIGKILL'));
    const deadline = Date.now() + 10_000;
    while (!/listening on http:\/\/127\.0\.0\.1:\d+/.test(cli.output().stdout) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const { stdout, stderr } = cli.output();
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
    assert.ok(url, `printed its URL: ${stdout}${stderr}`);
    const response = await fetch(`${url}/nothing`, { signal: AbortSignal.timeout(5000) });
    assert.equal(response.status, 404);
    await response.text();
    cli.child.kill('SIGTERM');
    await cli.exited;
    assert.equal((stdout + stderr + cli.output().stdout + cli.output().stderr).includes(secret), false);
  });

  test('reads its options', () => {
    assert.deepEqual(parseThetaProxyArgs(['theta-proxy', '--port', '9000', '--allowed-origins', 'https://a.example, https://b.example']), {
      port: 9000,
      host: '127.0.0.1',
      upstream: 'https://api.thetavideoapi.com',
      allowedOrigins: ['https://a.example', 'https://b.example'],
      basePath: '',
      trustProxy: false,
    });
    assert.equal(parseThetaProxyArgs(['--allowed-origins', '*']).allowedOrigins, '*');
    assert.equal(parseThetaProxyArgs(['theta-proxy', '--trust-proxy']).trustProxy, true);
    assert.throws(() => parseThetaProxyArgs(['--port', 'x']), /--port/);
    assert.throws(() => parseThetaProxyArgs(['--trust-proxy=yes']), ThetaProxyCliError);
    assert.throws(
      () => parseThetaProxyArgs(['--help']),
      (error: ThetaProxyCliError) => error.exitCode === 0 && /--trust-proxy/.test(error.message) && /X-Forwarded-For/.test(error.message),
    );
  });

  describe('passes the streamer address on', () => {
    const upstream = new FakeUpstream();
    before(() => upstream.start());
    after(() => upstream.stop());
    beforeEach(() => upstream.reset());

    async function throughCommand(extraArgs: string[], header: string) {
      const logged: string[] = [];
      const served = await runThetaProxyCli(
        ['theta-proxy', '--port', '0', '--upstream', upstream.url, ...extraArgs],
        { THETA_SA_ID: accountId, THETA_SA_SECRET: secret },
        (line) => logged.push(line),
      );
      try {
        const response = await fetch(`${served.url}/ingestor/filter?max_distance=500&other=1`, {
          headers: { 'X-Forwarded-For': header },
          signal: AbortSignal.timeout(5000),
        });
        assert.equal(response.status, 200);
        assert.equal((await response.text()).includes(secret), false);
      } finally {
        await served.close();
      }
      assert.equal(logged.join('\n').includes(secret), false);
      assert.equal(upstream.requests.length, 1);
      assert.equal(upstream.requests[0]!.url, '/ingestor/filter?max_distance=500');
      return { forwardedFor: upstream.requests[0]!.headers['x-forwarded-for'], logged };
    }

    test('from the connection by default', async () => {
      const { forwardedFor, logged } = await throughCommand([], '198.51.100.7');
      assert.equal(forwardedFor, '127.0.0.1');
      assert.match(logged.join('\n'), /streamer addresses from the connection/);
    });

    test('from the last X-Forwarded-For entry with --trust-proxy', async () => {
      const { forwardedFor, logged } = await throughCommand(['--trust-proxy'], '10.0.0.1, 198.51.100.7');
      assert.equal(forwardedFor, '198.51.100.7');
      assert.match(logged.join('\n'), /--trust-proxy/);
    });
  });
});
