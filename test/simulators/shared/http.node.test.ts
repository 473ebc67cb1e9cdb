/**
 * The HTTP plumbing both simulators share: bodies, CORS, the server's closing, and faults played
 * on a reply, including answers cut short that stall or are reset.
 *
 * Run: node --import tsx --test test/simulators/shared/http.node.test.ts
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { FaultBook, playFault, type SimulatorFault } from '../../../demo/simulators/shared/faults.js';
import {
  corsHeaders,
  decodeSegment,
  delay,
  guessContentType,
  preflightHeaders,
  parseBodyText,
  readBody,
  Reply,
  SimulatorHttpServer,
  splitTarget,
  type CorsPolicy,
  type ParsedBody,
} from '../../../demo/simulators/shared/http.js';
import { rawExchange, rawRequestText } from './raw-http.js';

const apiBody = JSON.stringify({ id: 'session-1', routes: { '127.0.0.1': [] } });
const maxStallMs = 400;

/**
 * A server whose every request plays `fault` (when given), then answers `apiBody` the way a
 * simulator's API would. `reads` records how each request body was read.
 */
async function faultServer(
  fault?: SimulatorFault,
): Promise<{ server: SimulatorHttpServer; port: number; reads: Array<ParsedBody | 'too-large' | 'aborted'> }> {
  const reads: Array<ParsedBody | 'too-large' | 'aborted'> = [];
  const server = new SimulatorHttpServer((request, response) => {
    void (async () => {
      const reply = new Reply(request, response, { headers: { 'X-Base': 'yes' }, closing: server.closing, maxStallMs });
      const read = await readBody(request, 64);
      reads.push(read.kind === 'complete' ? parseBodyText(read.text) : read.kind);
      const defaultBody = (status: number): string => JSON.stringify({ error: status });
      if (fault && (await playFault(fault, reply, { closing: server.closing, defaultBody }))) return;
      reply.json(200, JSON.parse(apiBody));
    })();
  });
  const { port } = await server.listen(0, '127.0.0.1');
  return { server, port, reads };
}

async function until(what: string, probe: () => boolean, limitMs = 2000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!probe()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function requestWith(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

describe('shared HTTP', () => {
  test('reads bounded bodies: JSON, empty, not JSON, too large (answered, not reset)', async () => {
    const { server, port, reads } = await faultServer();
    try {
      for (const body of ['{"a": 1}', '', 'not json']) {
        const answer = await rawExchange(port, rawRequestText('/', { method: 'POST', body, headers: { Connection: 'close' } }));
        assert.equal(answer.status, 200);
      }
      const tooLarge = await rawExchange(
        port,
        rawRequestText('/', { method: 'POST', body: 'x'.repeat(100), headers: { Connection: 'close' } }),
      );
      assert.equal(tooLarge.status, 200, 'the body was drained, so the client reads the answer');
      assert.deepEqual(reads, [
        { value: { a: 1 }, json: true },
        { value: null, json: false },
        { value: 'not json', json: false },
        'too-large',
      ]);
    } finally {
      await server.close();
    }
  });

  test('CORS: credentials echo the origin, fixed or echoed allowed headers, private network preflights', () => {
    const withCredentials: CorsPolicy = { methods: ['GET', 'POST'], exposedHeaders: ['Retry-After'], credentials: true };
    const fixedHeaders: CorsPolicy = { methods: ['GET', 'PUT'], allowedHeaders: ['Content-Type', 'x-key'], credentials: false };
    const fromPage = requestWith({
      origin: 'http://page.test',
      'access-control-request-headers': 'authorization, x-other',
      'access-control-request-private-network': 'true',
    });

    assert.deepEqual(corsHeaders(fromPage, withCredentials), {
      'Access-Control-Expose-Headers': 'Retry-After',
      Vary: 'Origin',
      'Access-Control-Allow-Origin': 'http://page.test',
      'Access-Control-Allow-Credentials': 'true',
    });
    assert.deepEqual(corsHeaders(fromPage, fixedHeaders), { Vary: 'Origin', 'Access-Control-Allow-Origin': 'http://page.test' });
    assert.deepEqual(corsHeaders(requestWith({}), withCredentials)['Access-Control-Allow-Origin'], '*');
    assert.equal(corsHeaders(requestWith({}), withCredentials)['Access-Control-Allow-Credentials'], undefined);

    const echoed = preflightHeaders(fromPage, withCredentials);
    assert.equal(echoed['Access-Control-Allow-Methods'], 'GET, POST');
    assert.equal(echoed['Access-Control-Allow-Headers'], 'authorization, x-other');
    assert.equal(echoed['Access-Control-Allow-Private-Network'], 'true');
    assert.equal(echoed['Access-Control-Max-Age'], '600');
    assert.equal(echoed.Vary, 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
    assert.equal(preflightHeaders(fromPage, fixedHeaders)['Access-Control-Allow-Headers'], 'Content-Type, x-key');
    assert.equal(preflightHeaders(requestWith({}), withCredentials)['Access-Control-Allow-Headers'], undefined);
  });

  test('request targets, path segments and content types', () => {
    assert.deepEqual(splitTarget('/stream/a%2Fb?limit=5&limit=6&__proto__=x'), {
      path: '/stream/a%2Fb',
      query: JSON.parse('{"limit": "5", "__proto__": "x"}'),
    });
    assert.deepEqual(splitTarget('http://host.test/x?y=1'), { path: '/x', query: { y: '1' } });
    assert.equal(splitTarget('http://['), undefined);
    assert.equal(decodeSegment('a%2Fb'), 'a/b');
    assert.equal(decodeSegment('%E0%A4%A'), undefined);
    assert.equal(guessContentType('  <html></html>'), 'text/html; charset=utf-8');
    assert.equal(guessContentType('{"a": 1}'), 'application/json');
    assert.equal(guessContentType('{"a": '), 'text/plain; charset=utf-8');
  });

  test('delay resolves true when it ran out, false at once when aborted', async () => {
    const controller = new AbortController();
    assert.equal(await delay(5, controller.signal), true);
    const started = Date.now();
    const aborted = delay(60_000, controller.signal);
    controller.abort();
    assert.equal(await aborted, false);
    assert.ok(Date.now() - started < 1000);
    assert.equal(await delay(60_000, controller.signal), false, 'an aborted signal does not wait at all');
  });

  test("a fault answers with its body, the simulator's default body, or drops the connection", async () => {
    const answering = await faultServer({ status: 502, body: '<html>Bad gateway</html>', headers: { 'X-Base': 'fault' } });
    const defaulted = await faultServer({ status: 503 });
    const dropping = await faultServer({ drop: true });
    try {
      const html = await rawExchange(answering.port, rawRequestText('/', { headers: { Connection: 'close' } }));
      assert.equal(html.status, 502);
      assert.equal(html.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(html.headers['x-base'], 'fault', "the fault's headers win over the reply's");
      assert.equal(html.headers['cache-control'], 'no-store');
      assert.equal(html.body.toString(), '<html>Bad gateway</html>');

      const json = await rawExchange(defaulted.port, rawRequestText('/', { headers: { Connection: 'close' } }));
      assert.equal(json.status, 503);
      assert.equal(json.headers['content-type'], 'application/json');
      assert.equal(json.body.toString(), '{"error":503}');

      await assert.rejects(rawExchange(dropping.port, rawRequestText('/')), /no complete head/);
    } finally {
      await Promise.all([answering.server.close(), defaulted.server.close(), dropping.server.close()]);
    }
  });

  test('a stalled answer promises the whole body, sends the first bytes, and holds until the client leaves', async () => {
    const body = '{"detail": "partial"}';
    const { server, port } = await faultServer({ status: 200, body, truncate: { afterBytes: 8, then: 'stall' } });
    try {
      const answer = await rawExchange(port, rawRequestText('/'));
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['content-length'], String(Buffer.byteLength(body)));
      assert.equal(answer.body.toString(), body.slice(0, 8));
      assert.equal(answer.outcome, 'open', 'nothing more for a while, and no close');
      assert.equal(server.connections, 1);
      answer.socket.destroy();
      await until('the server to let go of the connection', () => server.connections === 0);
    } finally {
      await server.close();
    }
  });

  test('a stalled answer ends after the longest delay, or at once when the server closes', async () => {
    const { server, port } = await faultServer({ truncate: { afterBytes: 0, then: 'stall' } });
    try {
      const started = Date.now();
      const expired = await rawExchange(port, rawRequestText('/'), maxStallMs * 3);
      assert.equal(expired.outcome, 'closed');
      assert.ok(Date.now() - started >= maxStallMs - 20, `closed after ${Date.now() - started} ms`);
      assert.equal(expired.headers['content-length'], String(Buffer.byteLength(apiBody)), "the API's own answer, cut");
      assert.equal(expired.body.length, 0, 'afterBytes 0 sends the head only');

      const stalled = await rawExchange(port, rawRequestText('/'), 100);
      assert.equal(stalled.outcome, 'open');
      const closedAt = Date.now();
      await server.close();
      assert.ok(Date.now() - closedAt < 200, 'close() does not wait for the stall');
      await new Promise((resolve) => (stalled.socket.destroyed ? resolve(undefined) : stalled.socket.once('close', resolve)));
    } finally {
      await server.close();
    }
  });

  test('a reset answer sends the first bytes, then resets the connection', async () => {
    const { server, port } = await faultServer({ truncate: { afterBytes: 1000, then: 'reset' } });
    try {
      const answer = await rawExchange(port, rawRequestText('/'));
      assert.equal(answer.outcome, 'reset');
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['x-base'], 'yes');
      assert.equal(answer.body.toString(), apiBody.slice(0, -1), 'past the end of the body, all but its last byte');
      await until('the server to let go of the connection', () => server.connections === 0);
    } finally {
      await server.close();
    }
  });

  test('a delayed fault gives up when the server closes, without answering', async () => {
    const { server, port } = await faultServer({ delayMs: 60_000, status: 500 });
    const pending = rawExchange(port, rawRequestText('/'), 5000);
    await until('the request to arrive', () => server.connections === 1);
    await server.close();
    await assert.rejects(pending, /no complete head before the connection was (closed|reset)/);
  });

  test('truncate is validated, naming the field, and listed as a copy', () => {
    const book = new FaultBook({ maxDelayMs: 1000, allowHeaders: false });
    const refusals: Array<[unknown, string]> = [
      [{ truncate: 5 }, 'fault.truncate must be an object like {"afterBytes": 10, "then": "stall"}'],
      [{ truncate: { afterBytes: 1, then: 'stall', after: 2 } }, 'fault.truncate.after is not a truncate field (known: afterBytes, then)'],
      [{ truncate: { afterBytes: -1, then: 'stall' } }, 'fault.truncate.afterBytes must be a whole number of bytes, 0 or more'],
      [{ truncate: { afterBytes: 1.5, then: 'reset' } }, 'fault.truncate.afterBytes must be a whole number of bytes, 0 or more'],
      [{ truncate: { afterBytes: 1 } }, "fault.truncate.then must be 'stall' or 'reset'"],
      [{ truncate: { afterBytes: 1, then: 'close' } }, "fault.truncate.then must be 'stall' or 'reset'"],
      [
        { drop: true, truncate: { afterBytes: 1, then: 'reset' } },
        'fault.truncate cannot be combined with drop, which sends no answer to cut',
      ],
      [
        [{}, { body: 'é!', truncate: { afterBytes: 3, then: 'stall' } }],
        "faults[1].truncate.afterBytes must be less than the body's 3 bytes, or the answer would be whole",
      ],
    ];
    for (const [input, message] of refusals) {
      assert.throws(() => book.add(input), { name: 'FaultValidationError', message }, JSON.stringify(input));
    }
    assert.deepEqual(book.list(), [], 'a refused fault arms nothing');

    assert.equal(book.add({ body: 'abc', truncate: { afterBytes: 2, then: 'reset' } }), 1);
    const [listed] = book.list();
    assert.deepEqual(listed, { body: 'abc', truncate: { afterBytes: 2, then: 'reset' }, remaining: 1 });
    listed!.truncate!.afterBytes = 0;
    assert.equal(book.take('GET', '/')?.truncate?.afterBytes, 2, 'changing the listed copy changes nothing armed');
  });
});
