/**
 * Property-based tests of every parser of outside data: whatever JSON value, text or bytes arrives, each gives a
 * typed result or a typed error, never an exception of another kind, and never hangs. Seeds are fixed, so a run is
 * repeatable; a failure prints the counterexample and the seed to replay it.
 *
 * Run: node --import tsx --test test/fuzz/parsers.node.test.ts
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeInputMessage } from '../../demo/simulators/kit/media/input-decoder.js';
import { type CursorUpdate, CursorStyles, parseCursorMessage } from '../../src/kit-stream-player/cursor.js';
import { parseInputHandshake } from '../../src/kit-stream-player/input-protocol.js';
import { KitStreamError } from '../../src/kit-stream-player/kit-error.js';
import { findConnectionTarget } from '../../src/kit-stream-player/routes.js';
import {
  answerNvstSdp,
  mungeAnswer,
  mungeOffer,
  parseNvstSdp,
  rewriteCandidate,
  rewriteSdpCandidates,
} from '../../src/kit-stream-player/sdp.js';
import { KitSessionClient, errorFromAnswer } from '../../src/kit-stream-player/session-client.js';
import { SignalingProtocol } from '../../src/kit-stream-player/signaling-protocol.js';
import { ThetaApiError, ThetaClient } from '../../src/theta-live-setup/theta-client.js';
import { createThetaProxy } from '../../src/theta-proxy/theta-proxy.js';

const seed = 20_240_611;
const runs = { numRuns: 300, seed };
const fewRuns = { numRuns: 150, seed };

/**
 * Keys that name `Object.prototype` members: a JSON object holding one (`{"toString": 1}`) breaks code that calls
 * methods on values it has not checked, and random keys almost never hit them.
 */
const trickyKey = fc.constantFrom('toString', 'valueOf', 'toLowerCase', 'toUpperCase', '__proto__', 'constructor', 'length');
const key = fc.oneof(fc.string({ maxLength: 8 }), trickyKey);
/** Any JSON value, with prototype-member keys mixed in, as `JSON.parse` would build it. */
const json: fc.Arbitrary<unknown> = fc
  .letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.string({ maxLength: 12 }),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, tie('value'), { maxKeys: 4 }),
    ),
  }))
  .value.map((value) => JSON.parse(JSON.stringify(value)) as unknown);
const anyJson = fc.oneof(json, fc.jsonValue({ maxDepth: 3 }));

/** Printable ASCII, which is what header values may hold. */
const headerText = fc.string({ unit: 'grapheme-ascii', maxLength: 40 });

/** Text a server might send: JSON, random text, an HTML error page, or nothing. */
function bodyText(shaped: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    shaped.map((value) => JSON.stringify(value)),
    anyJson.map((value) => JSON.stringify(value)),
    fc.string({ maxLength: 60 }),
    fc.string({ maxLength: 30 }).map((title) => `<html><title>${title}</title></html>`),
    fc.constantFrom('', '   ', 'null', '{', '[]', '"text"'),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Kit App Streaming REST answers

const route = fc.record(
  {
    description: fc.oneof(fc.constantFrom('signaling', 'media', 'SIGNALING', 'Media'), anyJson),
    protocol: fc.oneof(fc.constantFrom('TCP', 'UDP', 'tcp', 'udp', undefined), anyJson),
    source_port: fc.oneof(fc.integer({ min: -10, max: 70_000 }), fc.double(), anyJson),
    destination_port: fc.oneof(fc.integer({ min: 0, max: 65_535 }), anyJson),
  },
  { requiredKeys: [] },
);
const routeEntry = fc.oneof(fc.array(route, { maxLength: 4 }), fc.record({ routes: fc.array(route, { maxLength: 4 }) }), anyJson);
const routesShaped = fc.oneof(fc.dictionary(fc.string({ maxLength: 15 }), routeEntry, { maxKeys: 3 }), anyJson);

const sessionBody = fc.record(
  {
    id: fc.oneof(fc.constantFrom('session-1', ''), anyJson),
    status: fc.oneof(
      fc.record(
        {
          condition: fc.oneof(fc.constantFrom('pending', 'ready'), anyJson),
          status: fc.oneof(fc.boolean(), anyJson),
          message: fc.oneof(fc.string({ maxLength: 20 }), anyJson),
        },
        { requiredKeys: [] },
      ),
      anyJson,
    ),
    routes: routesShaped,
    detail: fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.array(fc.record({ loc: fc.oneof(fc.array(anyJson, { maxLength: 3 }), anyJson), msg: anyJson }, { requiredKeys: [] }), {
        maxLength: 3,
      }),
      anyJson,
    ),
    message: anyJson,
    error: anyJson,
  },
  { requiredKeys: [] },
);

/** Every status a `Response` can carry with a body (204, 205 and 304 have none). */
const status = fc.oneof(
  fc.constantFrom(200, 202, 400, 403, 404, 405, 422, 500, 502, 503),
  fc.integer({ min: 200, max: 599 }).filter((value) => ![204, 205, 304].includes(value)),
);

interface FakeAnswer {
  status: number;
  text: string;
  contentType?: string;
  retryAfter?: string;
}

const kitAnswer: fc.Arbitrary<FakeAnswer> = fc.record(
  {
    status,
    text: bodyText(sessionBody),
    contentType: fc.oneof(fc.constantFrom('application/json', 'text/html; charset=utf-8', 'text/plain'), headerText),
    retryAfter: fc.oneof(fc.nat({ max: 100 }).map(String), headerText),
  },
  { requiredKeys: ['status', 'text'] },
);

const realFetch = globalThis.fetch;

/**
 * The clients call the global `fetch` and take no other: each property swaps in one that answers from a list
 * (the last answer repeats), and puts the real one back afterwards.
 */
function answerWith(answers: FakeAnswer[]): void {
  let next = 0;
  globalThis.fetch = async () => {
    const { status, text, contentType, retryAfter } = answers[Math.min(next++, answers.length - 1)];
    const headers = new Headers();
    if (contentType !== undefined) headers.set('content-type', contentType);
    if (retryAfter !== undefined) headers.set('retry-after', retryAfter);
    return new Response(text, { status, headers });
  };
}

afterEach(() => {
  globalThis.fetch = realFetch;
});

/** A fulfilled promise's value, or the error it was rejected with, marked as such. */
async function settle<T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

function assertTarget(target: ReturnType<typeof findConnectionTarget>): void {
  assert.equal(typeof target.host, 'string');
  for (const port of [target.signalingPort, target.mediaPort ?? 1]) {
    assert.ok(Number.isInteger(port) && port > 0 && port < 65_536, `port ${port}`);
  }
}

describe('Kit session answers', () => {
  it('findConnectionTarget gives a target or a no-signaling-route KitStreamError', () => {
    fc.assert(
      fc.property(routesShaped, (routes) => {
        let target;
        try {
          target = findConnectionTarget(routes);
        } catch (error) {
          assert.ok(error instanceof KitStreamError, `threw ${String(error)}`);
          assert.equal(error.code, 'no-signaling-route');
          return;
        }
        assertTarget(target);
      }),
      runs,
    );
  });

  it('errorFromAnswer makes a KitStreamError with a message from any answer', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 999 }),
        fc.option(fc.oneof(sessionBody, anyJson), { nil: undefined }),
        fc.string({ maxLength: 60 }),
        fc.option(headerText, { nil: undefined }),
        (status, body, text, contentType) => {
          const headers = new Headers(contentType === undefined ? {} : { 'content-type': contentType });
          const error = errorFromAnswer({ status, headers, body, text });
          assert.ok(error instanceof KitStreamError);
          assert.equal(error.status, status);
          assert.ok(typeof error.message === 'string' && error.message !== '');
        },
      ),
      runs,
    );
  });

  it('KitSessionClient.create and .get give a session or a KitStreamError for any answer', async () => {
    await fc.assert(
      fc.asyncProperty(kitAnswer, fc.boolean(), async (answer, create) => {
        answerWith([answer]);
        const client = new KitSessionClient({ server: 'http://kit.test/', requestTimeoutMs: 2000 });
        const result = await settle(create ? client.create({ appId: 'app', profile: 'default' }) : client.get('session-1'));
        if ('error' in result) {
          assert.ok(result.error instanceof KitStreamError, `threw ${String(result.error)}`);
          return;
        }
        const session = result.value;
        assert.ok(typeof session.id === 'string' && session.id !== '');
        if (session.ready) assertTarget(session.target);
        else assert.ok(session.retryAfterMs === undefined || session.retryAfterMs >= 0);
      }),
      fewRuns,
    );
  });

  it('KitSessionClient.terminate resolves or fails with a KitStreamError for any pair of answers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(kitAnswer, { minLength: 1, maxLength: 2 }), fc.boolean(), async (answers, keepalive) => {
        answerWith(answers);
        const client = new KitSessionClient({ server: 'http://kit.test', requestTimeoutMs: 2000 });
        const result = await settle(client.terminate('session-1', { keepalive }));
        if ('error' in result) assert.ok(result.error instanceof KitStreamError, `threw ${String(result.error)}`);
      }),
      fewRuns,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Kit signaling frames

const number = fc.oneof(fc.integer({ min: -3, max: 10 }), fc.integer().map(String), fc.constantFrom('1e300', ' ', 'x', 1e300), anyJson);
const envelope = fc.record(
  {
    peer_info: fc.oneof(
      fc.record({ id: number, name: fc.oneof(fc.constantFrom('peer-1', 'other'), anyJson) }, { requiredKeys: [] }),
      anyJson,
    ),
    peer_msg: fc.oneof(
      fc.record(
        {
          from: number,
          to: number,
          msg: fc.oneof(
            fc.constant('BYE'),
            anyJson.map((value) => JSON.stringify(value)),
            anyJson,
          ),
        },
        { requiredKeys: [] },
      ),
      anyJson,
    ),
    ackid: number,
    ack: number,
    hb: fc.oneof(fc.constantFrom(0, 1, true, false), anyJson),
    error: anyJson,
  },
  { requiredKeys: [] },
);
const signalingFrame = fc.oneof(
  envelope.map((value) => JSON.stringify(value)),
  anyJson.map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 80 }),
);

describe('Kit signaling', () => {
  it('SignalingProtocol.receive never throws and always returns events', () => {
    fc.assert(
      fc.property(fc.array(signalingFrame, { minLength: 1, maxLength: 8 }), fc.nat({ max: 3 }), (frames, wraps) => {
        const protocol = new SignalingProtocol('peer-1');
        for (let index = 0; index < wraps; index++) protocol.wrap({ type: 'candidate', index });
        for (const frame of frames) {
          const receipt = protocol.receive(frame);
          assert.ok(Array.isArray(receipt.events));
          for (const event of receipt.events) assert.ok(['peer-info', 'peer-message', 'bye', 'error'].includes(event.type));
          if (receipt.ack !== undefined) {
            const { ack } = JSON.parse(receipt.ack) as { ack: unknown };
            assert.ok(Number.isSafeInteger(ack) && (ack as number) > 0, receipt.ack);
          }
        }
        assert.ok(protocol.unacknowledged().length <= wraps);
        assert.ok(Number.isFinite(protocol.ownId));
      }),
      runs,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// SDP and nvstSdp

const token = fc.oneof(
  fc.constantFrom('96', '97', 'H264/90000', 'H265/90000', 'opus/48000/2', 'UDP', 'tcp', '1', '0', 'typ', 'host', '1.2.3.4'),
  fc.string({ maxLength: 10 }),
);
const sdpLine = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(
        'v=',
        'o=',
        't=',
        's=',
        'c=',
        'i=',
        'b=AS:',
        'b=TIAS:',
        'm=video ',
        'm=audio ',
        'm=application ',
        'a=rtpmap:',
        'a=fmtp:',
        'a=candidate:',
        'a=imageattr:',
        'a=msid:',
        'a=ice-pwd:',
        'a=ice-ufrag:',
        'a=fingerprint:sha-256 ',
        'a=video.maxFPS:',
        'a=',
        '',
      ),
      fc.array(token, { maxLength: 9 }),
    )
    .map(([prefix, words]) => prefix + words.join(' ')),
  fc.string({ maxLength: 30 }),
);
const sdpText = fc.oneof(
  fc.tuple(fc.array(sdpLine, { maxLength: 20 }), fc.constantFrom('\r\n', '\n', '\r')).map(([lines, end]) => lines.join(end)),
  fc.string({ maxLength: 200 }),
);
const anyNumber = fc.oneof(fc.double(), fc.integer({ min: -10, max: 10_000 }));
const port = fc.option(fc.oneof(fc.integer({ min: 0, max: 65_535 }), fc.double()), { nil: undefined });

describe('SDP edits', () => {
  it('rewriteCandidate and rewriteSdpCandidates never throw, and keep no non-UDP candidate', () => {
    fc.assert(
      fc.property(sdpText, sdpLine, fc.string({ maxLength: 20 }), port, (sdp, line, host, mediaPort) => {
        const candidate = rewriteCandidate(line, host, mediaPort);
        assert.ok(candidate === undefined || typeof candidate === 'string');
        const rewritten = rewriteSdpCandidates(sdp, host, mediaPort);
        assert.equal(typeof rewritten, 'string');
        for (const kept of rewritten.split('\r\n').filter((text) => text.startsWith('a=candidate:'))) {
          assert.equal(kept.split(/\s+/)[2]?.toLowerCase(), 'udp', kept);
        }
      }),
      runs,
    );
  });

  it('mungeOffer and mungeAnswer never throw and return text', () => {
    fc.assert(
      fc.property(
        sdpText,
        fc.string({ maxLength: 20 }),
        port,
        anyNumber,
        anyNumber,
        anyNumber,
        anyNumber,
        (sdp, host, mediaPort, width, height, fps, maxBitrateKbps) => {
          assert.equal(typeof mungeOffer(sdp, { host, mediaPort, width, height, fps }), 'string');
          const answer = mungeAnswer(sdp, { maxBitrateKbps });
          assert.equal(typeof answer, 'string');
          assert.doesNotMatch(answer, /b=AS:(NaN|Infinity|-)/);
        },
      ),
      runs,
    );
  });

  it('parseNvstSdp gives a description or undefined, and answerNvstSdp answers any description', () => {
    fc.assert(
      fc.property(sdpText, sdpText, anyNumber, anyNumber, anyNumber, anyNumber, (offer, answerSdp, width, height, fps, maxBitrateKbps) => {
        const parsed = parseNvstSdp(offer);
        if (parsed === undefined) return;
        assert.ok(parsed.origin !== '' && parsed.time !== '');
        assert.ok(parsed.attributes instanceof Map);
        const answer = answerNvstSdp(parsed, answerSdp, { width, height, fps, maxBitrateKbps });
        assert.ok(answer.startsWith('v=0\r\n') && answer.endsWith('\r\n'));
        assert.doesNotMatch(answer, /:(NaN|Infinity)\r\n/);
      }),
      runs,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Binary data channels

/** A kind 0/1 cursor message built from parts, so that image updates (rare in random bytes) are covered too. */
const cursorMessage = fc
  .tuple(
    fc.constantFrom(0, 1, 10, 2, 255),
    fc.array(fc.nat({ max: 255 }), { minLength: 3, maxLength: 3 }),
    fc.oneof(fc.constantFrom('image/png', 'image/svg+xml', 'image/png"); x: y', 'text/css'), fc.string({ maxLength: 20 })),
    fc.oneof(fc.base64String({ maxLength: 40 }), fc.constantFrom('AAAA") ; } body { color: red', 'QQ==', ''), fc.string({ maxLength: 40 })),
    fc.uint8Array({ maxLength: 8 }),
    fc.boolean(),
  )
  .map(([kind, [id, hotspotX, hotspotY], mime, data, tail, truncate]) => {
    const encoder = new TextEncoder();
    const mimeBytes = encoder.encode(mime).subarray(0, 255);
    const dataBytes = encoder.encode(data);
    const bytes = [kind, id, hotspotX, hotspotY, mimeBytes.length, ...mimeBytes, dataBytes.length & 255, dataBytes.length >> 8];
    const message = Uint8Array.from([...bytes, ...dataBytes, ...tail]);
    return truncate ? message.subarray(0, message.length >> 1) : message;
  });
/** A `cursor` value the page may set: a known keyword, or an image URL whose quoted part holds only safe characters. */
const safeCursor = /^(?:[a-z-]+|url\("data:image\/[A-Za-z0-9.+-]+;base64,[A-Za-z0-9+/]*={0,2}"\) \d{1,5} \d{1,5}, auto)$/;

describe('binary channels', () => {
  it('parseCursorMessage gives undefined or an update, and CursorStyles only ever yields safe CSS', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), cursorMessage), { maxLength: 6 }), (messages) => {
        const styles = new CursorStyles();
        for (const message of messages) {
          const update: CursorUpdate | undefined = parseCursorMessage(message);
          if (update === undefined) continue;
          assert.ok(['system', 'image', 'confine'].includes(update.kind));
          const style = styles.apply(update);
          if (style !== undefined) assert.match(style, safeCursor);
        }
      }),
      runs,
    );
  });

  it('parseInputHandshake gives undefined or a 16-bit version for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), fc.nat({ max: 4 }), (bytes, skip) => {
        const view = bytes.subarray(Math.min(skip, bytes.length));
        for (const data of [view, view.slice().buffer]) {
          const version = parseInputHandshake(data);
          assert.ok(version === undefined || (Number.isInteger(version) && version >= 0 && version < 65_536));
        }
      }),
      runs,
    );
  });

  it("the simulator's decodeInputMessage turns any bytes into events", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 5 }), (bytes, version) => {
        const events = decodeInputMessage(Buffer.from(bytes), version);
        assert.ok(Array.isArray(events));
        for (const event of events) assert.equal(typeof event.kind, 'string');
      }),
      runs,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Theta Video API: the client's envelope reading and the proxy

const thetaRecord = fc.record(
  {
    id: fc.oneof(fc.constantFrom('stream_1', ''), anyJson),
    name: anyJson,
    status: fc.oneof(fc.constantFrom('on', 'off'), anyJson),
    playback_uri: anyJson,
    stream_server: fc.oneof(fc.constant('rtmp://x'), anyJson),
    stream_key: fc.oneof(fc.constant('key'), anyJson),
    geo: fc.oneof(fc.tuple(anyNumber, anyNumber), anyJson),
    stakes: fc.oneof(fc.string({ maxLength: 6 }), anyJson),
  },
  { requiredKeys: [] },
);
const thetaEnvelope = fc.record(
  {
    status: fc.oneof(fc.constantFrom('success', 'error'), anyJson),
    body: fc.oneof(
      fc.record(
        {
          streams: fc.oneof(fc.array(thetaRecord, { maxLength: 3 }), anyJson),
          ingestors: fc.oneof(fc.array(thetaRecord, { maxLength: 3 }), anyJson),
          total_count: anyJson,
          stream_server: anyJson,
          stream_key: anyJson,
          id: anyJson,
          message: anyJson,
        },
        { requiredKeys: [] },
      ),
      thetaRecord,
      anyJson,
    ),
    message: anyJson,
    error: fc.oneof(fc.record({ message: anyJson }), anyJson),
    detail: fc.oneof(fc.array(fc.record({ msg: anyJson }), { maxLength: 2 }), anyJson),
    errors: fc.oneof(fc.array(anyJson, { maxLength: 2 }), anyJson),
  },
  { requiredKeys: [] },
);
const secret = 'Sx9"secret/+%q';

describe('Theta', () => {
  it('every ThetaClient call gives a result or a ThetaApiError, and no error quotes the secret', async () => {
    const calls: ((client: ThetaClient) => Promise<unknown>)[] = [
      (client) => client.listStreams(undefined),
      (client) => client.createStream('name'),
      (client) => client.getStream('stream_1'),
      (client) => client.deleteStream('stream_1'),
      (client) => client.listIngestors(),
      (client) => client.selectIngestor('ingestor_1', 'stream_1'),
      (client) => client.unselectIngestor('ingestor_1'),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          status,
          text: bodyText(thetaEnvelope).chain((text) =>
            fc.constantFrom(text, text.replace('"success"', `"${secret}"`), `${text} ${secret}`),
          ),
          contentType: fc.constantFrom('application/json', 'text/plain', 'text/html'),
        }),
        fc.nat({ max: calls.length - 1 }),
        async (answer, which) => {
          answerWith([answer]);
          const client = new ThetaClient({
            apiBase: 'http://theta.test/api',
            serviceAccountId: 'srvacc_1',
            serviceAccountSecret: secret,
            timeoutMs: 2000,
          });
          const result = await settle(calls[which](client));
          if ('error' in result) {
            assert.ok(result.error instanceof ThetaApiError, `threw ${String(result.error)}`);
            assert.ok(!result.error.message.includes(secret) && !(result.error.serverMessage ?? '').includes(secret));
          }
        },
      ),
      fewRuns,
    );
  });

  const segment = fc.oneof(
    fc.constantFrom('stream', 'ingestor', 'filter', 'select', 'unselect', 'service_account', 'me', 'streams', 'stream_1', 'srvacc_1'),
    fc.constantFrom('..', '.', '%2F', '%2e%2e', '%00', '', 'a'.repeat(200)),
    fc.string({ maxLength: 12 }),
  );
  const upstreamAnswer = fc.oneof(
    fc.record({
      status: fc.integer({ min: 200, max: 599 }),
      /** How the upstream echoes the secret it was sent: not at all, raw, JSON-escaped or percent-encoded. */
      echo: fc.constantFrom('none', 'raw', 'json', 'uri'),
      text: bodyText(thetaEnvelope),
      contentType: fc.oneof(fc.constantFrom('application/json', 'text/html'), headerText),
      huge: fc.nat({ max: 19 }).map((draw) => draw === 0),
    }),
    fc.constant('network-error' as const),
  );

  it('the proxy answers every request with a Response of status 200-599 that never carries the secret', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'HEAD', 'get', 'put', 'PROPFIND'),
        fc.array(segment, { maxLength: 5 }),
        fc.dictionary(fc.oneof(fc.constantFrom('status', 'max_distance'), fc.string({ maxLength: 6 })), fc.string({ maxLength: 15 }), {
          maxKeys: 3,
        }),
        fc.option(fc.oneof(bodyText(thetaEnvelope), fc.uint8Array({ maxLength: 40 })), { nil: undefined }),
        fc.option(fc.oneof(fc.constantFrom('application/json', 'application/merge-patch+json', 'text/plain'), headerText), {
          nil: undefined,
        }),
        fc.option(fc.constantFrom('http://proxy.test', 'https://evil.test', 'null'), { nil: undefined }),
        upstreamAnswer,
        async (method, segments, query, body, contentType, origin, upstream) => {
          const handler = createThetaProxy({
            serviceAccountId: 'srvacc_1',
            serviceAccountSecret: secret,
            upstream: 'https://api.theta.test',
            allowedOrigins: ['http://proxy.test'],
            upstreamTimeoutMs: 2000,
            fetch: async (_input, init) => {
              if (upstream === 'network-error') throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
              const sent = new Headers(init?.headers).get('x-tva-sa-secret') ?? '';
              const echoed = { none: '', raw: sent, json: JSON.stringify(sent).slice(1, -1), uri: encodeURIComponent(sent) }[upstream.echo];
              const text = upstream.huge ? 'x'.repeat(1024 * 1024 + 1) : `${upstream.text}${echoed}`;
              const nullBody = [204, 205, 304].includes(upstream.status);
              const headers = new Headers({ 'content-type': `${upstream.contentType}${echoed}` });
              return new Response(nullBody ? null : text, { status: upstream.status, headers });
            },
          });
          const url = new URL('http://proxy.test');
          url.pathname = `/${segments.join('/')}`;
          url.search = new URLSearchParams(query).toString();
          const headers = new Headers();
          if (contentType !== undefined) headers.set('content-type', contentType);
          if (origin !== undefined) headers.set('origin', origin);
          const withBody = body !== undefined && !['GET', 'HEAD'].includes(method.toUpperCase());
          const response = await handler(new Request(url, { method, headers, body: withBody ? body : undefined }));
          assert.ok(response instanceof Response);
          assert.ok(response.status >= 200 && response.status <= 599, `status ${response.status}`);
          const answerText = await response.text();
          for (const form of [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]) {
            assert.ok(!answerText.includes(form), 'the secret is in the body');
            response.headers.forEach((value) => assert.ok(!value.includes(form), 'the secret is in a header'));
          }
        },
      ),
      fewRuns,
    );
  });
});
