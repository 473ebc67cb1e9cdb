/**
 * How an HTTP answer that went wrong becomes the `kit-error` a page sees: the code from the status, the status
 * itself, and the server's own message whatever shape the body had, or else a sentence that says what came back
 * without echoing markup.
 *
 * Run: node --import tsx --test test/kit-stream-player/error-from-answer.node.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorFromAnswer } from '../../src/kit-stream-player/session-client.js';

/** An answer as the client reads one off the wire: the raw text, and its JSON value when it is JSON. */
function answer(status: number, text: string, contentType?: string) {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status, headers: new Headers(contentType ? { 'content-type': contentType } : {}), body, text };
}

const json = (status: number, value: unknown) => answer(status, JSON.stringify(value), 'application/json');

/** The fields of the `kit-error` detail. */
function detail(status: number, text: string, contentType?: string): { code: string; status: number | undefined; message: string } {
  const error = errorFromAnswer(answer(status, text, contentType));
  assert.ok(error instanceof Error);
  return { code: error.code, status: error.status, message: error.message };
}

describe('errorFromAnswer: code and status', () => {
  const expected: Array<[number, string]> = [
    [400, 'http-error'],
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [404, 'not-found'],
    [405, 'http-error'],
    [409, 'http-error'],
    [413, 'http-error'],
    [429, 'http-error'],
    [422, 'invalid-request'],
    [500, 'server-error'],
    [501, 'server-error'],
    [502, 'server-error'],
    [503, 'server-error'],
    [504, 'server-error'],
    [599, 'server-error'],
    // Statuses the API never gives for a session: not a session, so not a success either.
    [201, 'http-error'],
    [204, 'http-error'],
    [304, 'http-error'],
  ];

  it('maps each status to its code and keeps the status', () => {
    for (const [status, code] of expected) {
      const error = errorFromAnswer(json(status, { detail: 'why' }));
      assert.deepEqual(
        { code: error.code, status: error.status, message: error.message },
        { code, status, message: 'why' },
        String(status),
      );
    }
  });

  it('says the status when the body gives no reason', () => {
    for (const [status, code] of expected) {
      for (const text of ['', '   ', '{}', '[]', 'null', '{"detail": ""}', '{"detail": "  "}', '{"detail": []}', '{"other": "x"}']) {
        const got = detail(status, text, 'application/json');
        assert.equal(got.code, code, `${status} ${text}`);
        assert.equal(got.status, status);
        assert.match(got.message, new RegExp(`\\b${status}\\b`), `${status} ${JSON.stringify(text)}: ${got.message}`);
      }
    }
  });
});

describe('errorFromAnswer: the server’s message', () => {
  it('takes FastAPI’s detail as it is', () => {
    assert.deepEqual(detail(404, '{"detail":"Session not found: no active session has id \'abc\'."}'), {
      code: 'not-found',
      status: 404,
      message: "Session not found: no active session has id 'abc'.",
    });
  });

  it('renders a FastAPI validation list with each field’s location', () => {
    const body = {
      detail: [
        { loc: ['body', 'id'], msg: 'Field required', type: 'missing' },
        { loc: ['body', 'arguments', 0, 'usd_stage_uri'], msg: 'Input should be a valid string', type: 'string_type' },
        { loc: [], msg: 'Something else' },
        { msg: 'No location' },
      ],
    };
    assert.deepEqual(
      errorFromAnswer(json(422, body)).message,
      ['body.id: Field required', 'body.arguments.0.usd_stage_uri: Input should be a valid string', 'Something else', 'No location'].join(
        '; ',
      ),
    );
  });

  it('leaves out location parts and list items it cannot read, without throwing on them', () => {
    const body = {
      detail: [
        null,
        5,
        'plain words',
        { loc: ['body', { toString: null }, 'id'], msg: 'Field required' },
        { loc: 'body.id', msg: 'String location' },
      ],
    };
    const error = errorFromAnswer(json(422, body));
    assert.equal(error.code, 'invalid-request');
    assert.match(error.message, /body\.id: Field required/);
    assert.match(error.message, /String location/);
    assert.doesNotMatch(error.message, /object|null|undefined/i);
  });

  it('reads the other fields services put their message in', () => {
    const bodies: Array<[unknown, string]> = [
      [{ message: 'Rate limit exceeded' }, 'Rate limit exceeded'],
      [{ error: 'invalid_token' }, 'invalid_token'],
      [{ error: { message: 'Quota exceeded' } }, 'Quota exceeded'],
      [{ error_description: 'The token expired' }, 'The token expired'],
      [{ title: 'Forbidden', type: 'about:blank' }, 'Forbidden'],
      [{ errors: [{ message: 'first' }, { message: 'second' }] }, 'first; second'],
      [{ detail: 'wins', message: 'loses' }, 'wins'],
      [{ detail: { message: 'nested' } }, 'nested'],
    ];
    for (const [body, message] of bodies) {
      assert.equal(errorFromAnswer(json(403, body)).message, message, JSON.stringify(body));
    }
  });

  it('reads a message from JSON sent inside a JSON string', () => {
    assert.equal(errorFromAnswer(json(500, JSON.stringify({ detail: 'double encoded' }))).message, 'double encoded');
    assert.equal(errorFromAnswer(json(500, { detail: JSON.stringify({ message: 'inner' }) })).message, 'inner');
  });

  it('takes a plain-text body as the server’s words', () => {
    assert.deepEqual(detail(503, 'upstream connect error or disconnect/reset before headers\n', 'text/plain'), {
      code: 'server-error',
      status: 503,
      message: 'upstream connect error or disconnect/reset before headers',
    });
  });

  it('keeps a message short, whatever the server sent', () => {
    const message = errorFromAnswer(json(500, { detail: 'x'.repeat(100_000) })).message;
    assert.ok(message.length <= 510, `${message.length} characters`);
    assert.ok(message.startsWith('x'.repeat(400)));
  });

  it('survives bodies nested too deep to read', () => {
    const depth = 2000;
    const error = errorFromAnswer(answer(500, `${'{"error":'.repeat(depth)}{"detail":"deep"}${'}'.repeat(depth)}`, 'application/json'));
    assert.equal(error.code, 'server-error');
    assert.match(error.message, /\b500\b/, 'what it cannot reach, it does not read');
  });
});

describe('errorFromAnswer: bodies that are not JSON', () => {
  it('names an HTML page by its title and echoes none of its markup', () => {
    const page =
      '<!doctype html><html><head><title> 502 Bad Gateway </title></head><body><h1>502</h1><script>alert(1)</script></body></html>';
    const got = detail(502, page, 'text/html; charset=utf-8');
    assert.equal(got.code, 'server-error');
    assert.equal(got.status, 502);
    assert.match(got.message, /\b502 with an HTML page instead of JSON \("502 Bad Gateway"\)/);
    assert.doesNotMatch(got.message, /<|alert/);
  });

  it('recognises an HTML page by its first character when the content type does not say so', () => {
    const got = detail(403, '  <html><body>Access denied</body></html>', 'text/plain');
    assert.equal(got.code, 'forbidden');
    assert.match(got.message, /\b403 with an HTML page instead of JSON$|\b403 with an HTML page instead of JSON\.$/);
    assert.doesNotMatch(got.message, /</);
  });

  it('does not take binary data for a message', () => {
    const got = detail(500, '\u0000\u0001\u0002garbage', 'application/octet-stream');
    assert.match(got.message, /\b500 with a body that is not valid JSON \(content type application\/octet-stream\)/);
  });

  it('never throws and always gives a message, for any status and text', () => {
    const texts = ['', '{', '{"detail":', '<', '<<<', '"', '"unterminated', '[1,', 'NaN', '\u0000', '{"detail":{"toString":null}}'];
    for (const status of [0, 100, 200, 302, 400, 404, 422, 500, 999]) {
      for (const text of texts) {
        for (const contentType of [undefined, 'text/html', 'application/json']) {
          const error = errorFromAnswer(answer(status, text, contentType));
          assert.equal(error.status, status);
          assert.ok(typeof error.message === 'string' && error.message.trim() !== '', `${status} ${JSON.stringify(text)}`);
        }
      }
    }
  });
});
