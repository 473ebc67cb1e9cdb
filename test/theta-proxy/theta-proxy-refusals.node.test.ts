/**
 * The proxy holds a secret that controls the whole service account, so every request it cannot vouch for must be
 * refused before anything goes upstream. These tests generate a few hundred hostile requests (other accounts,
 * unknown paths and methods, path traversal, encoded slashes, header-injection ids, oversized or mistyped bodies,
 * malformed query values, foreign origins) and prove that none of them reaches the upstream, next to a control
 * group of valid requests that does, so the counter is known to work.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createThetaProxy, type ThetaProxyOptions } from '../../src/theta-proxy/index.js';

const accountId = 'srvacc_proxytest';
const secret = 'S3cr3t-refusal-value-7c1e9a';
const allowedOrigin = 'https://studio.example.com';
const maxBodyBytes = 256;
const proxyOrigin = 'http://proxy.test';

/** Every spelling of the secret that would give it away in an answer. */
const secretForms = [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1), Buffer.from(secret).toString('base64')];

interface HostileCase {
  /** Why the request must be refused, shown when it is not. */
  label: string;
  path: string;
  init: RequestInit;
}

interface UpstreamCall {
  url: string;
  method: string;
}

/** A proxy whose upstream fetch only counts the calls that reach it and answers success. */
function countingProxy(options: Partial<ThetaProxyOptions> = {}) {
  const calls: UpstreamCall[] = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    calls.push({ url, method: init?.method ?? 'GET' });
    return Promise.resolve(
      new Response(JSON.stringify({ status: 'success', body: {} }), { status: 200, headers: { 'Content-Type': 'application/json' } }),
    );
  };
  const handler = createThetaProxy({
    serviceAccountId: accountId,
    serviceAccountSecret: secret,
    upstream: 'https://api.upstream.test',
    allowedOrigins: [allowedOrigin],
    maxBodyBytes,
    fetch,
    ...options,
  });
  return { handler, calls };
}

/** The valid calls, each with what a page would send; hostile variants are built from them. */
const validCalls: ReadonlyArray<{ method: string; path: string; body?: string }> = [
  { method: 'POST', path: '/stream', body: '{"name":"demo"}' },
  { method: 'GET', path: '/stream/stream_abc123' },
  { method: 'DELETE', path: '/stream/stream_abc123' },
  { method: 'GET', path: `/service_account/${accountId}/streams?status=on` },
  { method: 'GET', path: '/service_account/me/streams' },
  { method: 'GET', path: '/ingestor/filter?max_distance=40000000' },
  { method: 'PUT', path: '/ingestor/0x093D7e6936fbd2e86f72DB6A5060CbC1535A232A/select', body: '{"tva_stream":"stream_abc123"}' },
  { method: 'PUT', path: '/ingestor/0xabc/unselect', body: '{}' },
];

function jsonInit(method: string, body: string | undefined, headers: Record<string, string> = {}): RequestInit {
  return body === undefined ? { method, headers } : { method, body, headers: { 'Content-Type': 'application/json', ...headers } };
}

/** Path segments as they would arrive on the wire, none of which is an id the service issues. */
const hostileIds = [
  'a%2Fb',
  'a%2fb',
  '%2F',
  '..%2F..%2Fservice_account',
  '..%2f',
  '%2e%2e%2f',
  '.%2e%2fx',
  '%252f',
  '..%252f..%252fservice_account',
  'a%252Fb',
  'a%5Cb',
  'a.b',
  '%2e',
  '%0d%0aX-Injected:1',
  'abc%0d%0aX-Injected:%201',
  'abc%0aX-Injected:1',
  'abc%0d',
  '%00',
  'a%00b',
  'a%20b',
  '%20abc',
  'abc%20',
  'a%09b',
  '%22quoted%22',
  "a'b",
  'a"b',
  'a<b>',
  '%E2%80%A8',
  '\u0455tream_abc',
  '%EF%BC%8F',
  '%C0%AF',
  '%u002f',
  'a;b',
  'a%3Bb',
  'a%3Fb',
  'a%23b',
  'a:b',
  'a%40b',
  'x'.repeat(129),
];

/** Routes with an id, as (method, path for an id, body). */
const idRoutes: ReadonlyArray<{ method: string; path: (id: string) => string; body?: string }> = [
  { method: 'GET', path: (id) => `/stream/${id}` },
  { method: 'DELETE', path: (id) => `/stream/${id}` },
  { method: 'GET', path: (id) => `/service_account/${id}/streams` },
  { method: 'PUT', path: (id) => `/ingestor/${id}/select`, body: '{"tva_stream":"stream_abc123"}' },
  { method: 'PUT', path: (id) => `/ingestor/${id}/unselect`, body: '{}' },
];

const otherAccounts = [
  'srvacc_other',
  'srvacc_proxytest2',
  'srvacc_proxytes',
  'SRVACC_PROXYTEST',
  'Srvacc_proxytest',
  '_srvacc_proxytest',
  'srvacc_proxytest_',
  'srvacc-proxytest',
  'ME',
  'Me',
  'you',
  'self',
  'all',
  '0',
];

/** Paths whose dot segments (plain, percent-encoded or backslashed) resolve somewhere the proxy must not go. */
const traversalPaths = [
  '/stream/../service_account/srvacc_other/streams',
  '/stream/%2e%2e/service_account/srvacc_other/streams',
  '/stream/.%2e/service_account/srvacc_other/streams',
  '/stream/%2E%2E/service_account/srvacc_other/streams',
  '/stream/..%2fservice_account%2fsrvacc_other%2fstreams',
  '/stream/..%2Fservice_account%2Fsrvacc_other%2Fstreams',
  '/stream/..%252fservice_account%252fsrvacc_other%252fstreams',
  '/stream/%252e%252e/service_account/srvacc_other/streams',
  '/stream/..\\service_account\\srvacc_other\\streams',
  '/ingestor/../service_account/srvacc_other/streams',
  '/ingestor/0xabc/select/../../../service_account/srvacc_other/streams',
  '/service_account/me/streams/../../srvacc_other/streams',
  '/service_account/me/../srvacc_other/streams',
  '/service_account/me/%2e%2e/srvacc_other/streams',
  '/stream/../../../etc/passwd',
  '/stream/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
  '/ingestor/%2e%2e%2f%2e%2e%2fservice_account/select',
  '/ingestor/0xabc%2f..%2f..%2fstream/select',
  '/stream/stream_abc%2f..%2f..%2fservice_account%2fsrvacc_other%2fstreams',
];

const unknownPaths = [
  '/',
  '/streams',
  '/stream/',
  '/stream/abc/',
  '/stream/abc/extra',
  '/stream//abc',
  '//stream',
  '/STREAM',
  '/Stream/abc',
  '/stream%2Fabc',
  '/stream;x',
  '/video',
  '/video/123',
  '/service_account',
  '/service_account/me',
  '/service_account/me/streams/',
  '/service_account/me/videos',
  '/service_account//streams',
  '/ingestor',
  '/ingestor/filter/',
  '/ingestor%2Ffilter',
  '/ingestor/0xabc',
  '/ingestor/0xabc/select/',
  '/ingestor/0xabc/delete',
  '/admin',
  '/.env',
  '/api/theta/stream',
  '/https://evil.test/stream',
];

const otherMethods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'PROPFIND', 'FOO'];

const foreignOrigins = [
  'https://evil.example',
  'null',
  'https://studio.example.com.evil.test',
  'https://evilstudio.example.com',
  'https://sub.studio.example.com',
  'http://studio.example.com',
  'https://studio.example.com:8443',
  'http://proxy.test.evil',
  'http://proxy.test:8080',
  'https://proxy.test',
];

const wrongContentTypes = [
  'text/plain',
  'text/plain;charset=UTF-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'text/json',
  'application/jsonp',
  'application/json-patch',
  'application/xml',
  'text/html',
  '',
];

const malformedJsonBodies = ['[]', '"x"', 'null', '42', '{', '{"a":1} trailing', "{'a':1}"];

const bodyRoutes = validCalls.filter((call) => call.body !== undefined);

/** A body stream with no declared length that keeps producing until the reader gives up, as a chunked upload would. */
function endlessJsonStream(): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let started = false;
  return new ReadableStream({
    pull(controller) {
      controller.enqueue(encoder.encode(started ? 'x'.repeat(64) : '{"name":"'));
      started = true;
    },
  });
}

/** A body stream of `size` bytes in small chunks, ending properly, with no declared length. */
function chunkedJsonStream(size: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(`{"name":"${'y'.repeat(size - 11)}"}`);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + 17));
      offset += 17;
    },
  });
}

function oversizedJson(bytes: number): string {
  return `{"name":"${'z'.repeat(bytes - 11)}"}`;
}

/** Builds the generated hostile set; each case is created fresh, since a request body can be read only once. */
function hostileCases(): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (label: string, path: string, init: RequestInit) => cases.push({ label, path, init });

  for (const route of idRoutes) {
    for (const id of hostileIds) add(`bad id ${JSON.stringify(id)}`, route.path(id), jsonInit(route.method, route.body));
  }
  for (const account of otherAccounts) {
    for (const query of ['', '?status=on']) {
      add(`other account ${account}`, `/service_account/${account}/streams${query}`, { method: 'GET' });
    }
  }
  for (const path of traversalPaths) {
    for (const method of ['GET', 'PUT', 'DELETE']) add(`traversal ${method}`, path, jsonInit(method, method === 'PUT' ? '{}' : undefined));
  }
  for (const path of unknownPaths) {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) {
      add(`unknown path ${method}`, path, jsonInit(method, method === 'GET' || method === 'DELETE' ? undefined : '{}'));
    }
  }
  for (const call of validCalls) {
    for (const method of otherMethods) {
      if (validCalls.some((valid) => valid.path === call.path && valid.method === method)) continue;
      const withBody = method !== 'GET' && method !== 'HEAD';
      add(`method ${method} on ${call.method}`, call.path, jsonInit(method, withBody ? '{}' : undefined));
    }
  }
  for (const call of bodyRoutes) {
    const big = oversizedJson(maxBodyBytes + 1);
    add('oversized, declared', call.path, jsonInit(call.method, big, { 'Content-Length': String(big.length) }));
    add('oversized, undeclared', call.path, jsonInit(call.method, big));
    add('oversized, declared small', call.path, jsonInit(call.method, big, { 'Content-Length': '2' }));
    add('oversized, declared as not a number', call.path, jsonInit(call.method, big, { 'Content-Length': 'abc' }));
    add('declared huge, sent small', call.path, jsonInit(call.method, '{}', { 'Content-Length': '99999999999' }));
    add('oversized in multi-byte characters', call.path, jsonInit(call.method, `{"name":"${'\u00e9'.repeat(maxBodyBytes / 2)}"}`));
    add('oversized, chunked stream', call.path, {
      method: call.method,
      body: chunkedJsonStream(maxBodyBytes * 4),
      headers: { 'Content-Type': 'application/json' },
      duplex: 'half',
    } as RequestInit);
    add('endless chunked stream', call.path, {
      method: call.method,
      body: endlessJsonStream(),
      headers: { 'Content-Type': 'application/json' },
      duplex: 'half',
    } as RequestInit);
    add('far oversized', call.path, jsonInit(call.method, oversizedJson(maxBodyBytes * 64)));
    for (const contentType of wrongContentTypes) {
      add(`content type ${JSON.stringify(contentType)}`, call.path, {
        method: call.method,
        body: call.body,
        headers: { 'Content-Type': contentType },
      });
    }
    add('string body without a content type', call.path, { method: call.method, body: call.body });
    for (const body of malformedJsonBodies) add(`malformed body ${body}`, call.path, jsonInit(call.method, body));
    add('invalid UTF-8 body', call.path, {
      method: call.method,
      body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
      headers: { 'Content-Type': 'application/json' },
    });
  }
  const badDistances = [
    'abc',
    '-1',
    '1e9',
    '0x10',
    '',
    'Infinity',
    'NaN',
    '1.',
    '.5',
    '1,000',
    '9999999999999',
    '1%0d%0aX-Injected:1',
    '1%20',
    '%2B1',
  ];
  for (const value of badDistances) add(`max_distance=${value}`, `/ingestor/filter?max_distance=${value}`, { method: 'GET' });
  add('max_distance twice', '/ingestor/filter?max_distance=1&max_distance=2', { method: 'GET' });
  const badStatuses = ['maybe', 'ON', 'all', '', 'on%0d%0aX-Injected:1', 'on%26evil%3D1', 'off%00'];
  for (const value of badStatuses) add(`status=${value}`, `/service_account/me/streams?status=${value}`, { method: 'GET' });
  add('status twice', '/service_account/me/streams?status=on&status=off', { method: 'GET' });

  for (const call of validCalls) {
    for (const origin of foreignOrigins) {
      add(`origin ${origin}`, call.path, jsonInit(call.method, call.body, { Origin: origin }));
      add(`preflight from ${origin}`, call.path, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': call.method, 'Access-Control-Request-Headers': 'content-type' },
      });
    }
  }
  return cases;
}

async function readAnswer(response: Response): Promise<{ text: string; headerText: string }> {
  const text = await response.text();
  const headerText = [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
  return { text, headerText };
}

describe('Theta proxy refusals', () => {
  test('refuses a generated set of hostile requests with a 4xx, leaking nothing and calling the upstream 0 times', async () => {
    const { handler, calls } = countingProxy();
    const cases = hostileCases();
    assert.ok(cases.length >= 400, `only ${cases.length} hostile cases were generated`);
    const wrongStatus: string[] = [];
    const leaked: string[] = [];
    const reachedUpstream: string[] = [];
    for (const { label, path, init } of cases) {
      const before = calls.length;
      const response = await handler(new Request(`${proxyOrigin}${path}`, init));
      const { text, headerText } = await readAnswer(response);
      const description = `${init.method ?? 'GET'} ${path} (${label})`;
      if (response.status < 400 || response.status >= 500) wrongStatus.push(`${response.status} ${description}`);
      if (secretForms.some((form) => text.includes(form) || headerText.includes(form))) leaked.push(description);
      if (calls.length !== before)
        reachedUpstream.push(
          `${description} -> ${calls
            .slice(before)
            .map((call) => call.url)
            .join(', ')}`,
        );
      if (
        response.headers.get('access-control-allow-origin') !== null &&
        response.headers.get('access-control-allow-origin') !== allowedOrigin
      ) {
        leaked.push(`${description} granted CORS to ${response.headers.get('access-control-allow-origin')}`);
      }
    }
    assert.deepEqual(reachedUpstream, [], `${reachedUpstream.length} hostile requests reached the upstream`);
    assert.equal(calls.length, 0);
    assert.deepEqual(wrongStatus, [], 'every hostile request is answered with a 4xx');
    assert.deepEqual(leaked, []);
  });

  test('refuses each kind with the status that says why', async () => {
    const { handler, calls } = countingProxy();
    const expectations: Array<[number, string, RequestInit]> = [
      [403, '/service_account/srvacc_other/streams', { method: 'GET' }],
      [403, '/stream/%2e%2e/service_account/srvacc_other/streams', { method: 'GET' }],
      [404, '/stream/abc/extra', { method: 'GET' }],
      [405, '/stream', { method: 'PATCH', body: '{}' }],
      [400, '/stream/a%2Fb', { method: 'GET' }],
      [400, '/stream/..%252f..%252fservice_account', { method: 'GET' }],
      [400, '/stream/abc%0d%0aX-Injected:1', { method: 'GET' }],
      [413, '/stream', jsonInit('POST', oversizedJson(maxBodyBytes + 1))],
      [415, '/stream', { method: 'POST', body: '{}', headers: { 'Content-Type': 'text/plain' } }],
      [400, '/ingestor/filter?max_distance=1e9', { method: 'GET' }],
      [400, '/service_account/me/streams?status=maybe', { method: 'GET' }],
      [403, '/stream', jsonInit('POST', '{}', { Origin: 'https://evil.example' })],
      [403, '/stream', { method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' } }],
    ];
    for (const [status, path, init] of expectations) {
      const response = await handler(new Request(`${proxyOrigin}${path}`, init));
      assert.equal(response.status, status, `${init.method} ${path}`);
      const json = (await response.json()) as { status: string; message: unknown };
      assert.equal(json.status, 'error');
      assert.equal(typeof json.message, 'string');
      assert.equal(response.headers.get('access-control-allow-origin'), null);
    }
    assert.equal(calls.length, 0);
  });

  test('forwards the valid control group, so the upstream counter is known to count', async () => {
    const { handler, calls } = countingProxy();
    let expected = 0;
    for (const call of validCalls) {
      for (const origin of [undefined, allowedOrigin, proxyOrigin]) {
        const headers: Record<string, string> = origin === undefined ? {} : { Origin: origin };
        const response = await handler(new Request(`${proxyOrigin}${call.path}`, jsonInit(call.method, call.body, headers)));
        expected += 1;
        assert.equal(response.status, 200, `${call.method} ${call.path} from ${origin ?? 'no origin'}`);
        assert.equal(calls.length, expected, `${call.method} ${call.path} reached the upstream`);
        assert.equal(calls.at(-1)!.method, call.method);
        const { text, headerText } = await readAnswer(response);
        assert.equal(text.includes(secret) || headerText.includes(secret), false);
      }
    }
    // A body exactly at the limit, sent as a stream without a declared length, is still accepted.
    const atLimit = await handler(
      new Request(`${proxyOrigin}/stream`, {
        method: 'POST',
        body: chunkedJsonStream(maxBodyBytes),
        headers: { 'Content-Type': 'application/json' },
        duplex: 'half',
      } as RequestInit),
    );
    assert.equal(atLimit.status, 200);
    assert.equal(calls.length, expected + 1);

    const preflight = await handler(
      new Request(`${proxyOrigin}/stream`, {
        method: 'OPTIONS',
        headers: { Origin: allowedOrigin, 'Access-Control-Request-Method': 'POST' },
      }),
    );
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), allowedOrigin);
    assert.equal(calls.length, expected + 1, 'a preflight is answered by the proxy itself');
  });

  test('forwards only the known query parameters, never the unknown ones', async () => {
    const { handler, calls } = countingProxy();
    const response = await handler(
      new Request(`${proxyOrigin}/service_account/me/streams?status=off&x-tva-sa-id=srvacc_other&evil=%0d%0aX:1&status_=on`),
    );
    assert.equal(response.status, 200);
    assert.equal(calls.length, 1);
    const upstreamUrl = new URL(calls[0]!.url);
    assert.equal(upstreamUrl.pathname, `/service_account/${accountId}/streams`);
    assert.deepEqual([...upstreamUrl.searchParams], [['status', 'off']]);
  });

  test('refuses requests outside basePath and traversal out of it, before the upstream', async () => {
    const { handler, calls } = countingProxy({ basePath: '/api/theta' });
    const paths = [
      '/stream',
      '/api/thetastream',
      '/api/theta',
      '/api/theta/../stream',
      '/api/theta/%2e%2e/stream',
      '/api/theta%2Fstream',
      '/api/Theta/stream',
      '/api/theta/stream/../../service_account/srvacc_other/streams',
      '/api/theta/service_account/srvacc_other/streams',
    ];
    for (const path of paths) {
      const response = await handler(new Request(`${proxyOrigin}${path}`, jsonInit('POST', '{}')));
      assert.ok(response.status >= 400 && response.status < 500, `${path} answered ${response.status}`);
      await response.body?.cancel();
    }
    assert.equal(calls.length, 0);
    const valid = await handler(new Request(`${proxyOrigin}/api/theta/stream`, jsonInit('POST', '{}')));
    assert.equal(valid.status, 200);
    assert.equal(calls.length, 1);
  });
});
