import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LiveStreamError,
  describeAnswerWithoutMessage,
  describeUnexpectedBody,
  errorCodeForStatus,
  readServerMessage,
} from '../../src/internal/errors.js';
import type { HttpAnswer } from '../../src/internal/http.js';
import { parseJson } from '../../src/internal/json.js';
import { KitStreamError } from '../../src/kit-stream-player/kit-error.js';
import { errorFromAnswer } from '../../src/kit-stream-player/session-client.js';
import { ThetaApiError } from '../../src/theta-live-setup/theta-client.js';

/** An answer as `requestJson` reads it: the body parsed when it is JSON. */
function answer(status: number, text: string, contentType?: string): HttpAnswer {
  const headers = new Headers(contentType === undefined ? {} : { 'content-type': contentType });
  return { status, headers, body: parseJson(text), text };
}

/** What the reader finds in a body sent as this text. */
const messageOf = (text: string) => readServerMessage(parseJson(text), text);

describe('LiveStreamError', () => {
  it('carries a code, a message, the status of the answer and a cause', () => {
    const cause = new TypeError('fetch failed');
    const error = new LiveStreamError('server-error', 'Down for maintenance', 503, { cause });
    assert.ok(error instanceof Error);
    assert.equal(error.code, 'server-error');
    assert.equal(error.message, 'Down for maintenance');
    assert.equal(error.status, 503);
    assert.equal(error.cause, cause);
  });

  it('has no status when there was no answer', () => {
    const error = new LiveStreamError('network', 'Could not reach the server');
    assert.equal(error.status, undefined);
    assert.equal(error.cause, undefined);
  });

  it('is the base of both elements’ errors, which keep their own names and extras', () => {
    const kit = new KitStreamError('timeout', 'No answer', undefined, { cause: 'slow' });
    assert.ok(kit instanceof LiveStreamError);
    assert.equal(kit.name, 'KitStreamError');
    assert.equal(kit.status, undefined);
    assert.equal(kit.cause, 'slow');
    assert.equal(kit.transient, true);
    assert.equal(new KitStreamError('forbidden', 'No', 403).transient, false);
    assert.equal(new KitStreamError('server-error', 'Down', 500).transient, true);
    assert.equal(new KitStreamError('network', 'Gone').transient, true);

    const theta = new ThetaApiError('not-found', 'Stream not found', 404);
    assert.ok(theta instanceof LiveStreamError);
    assert.equal(theta.name, 'ThetaApiError');
    assert.equal(theta.code, 'not-found');
    assert.equal(theta.status, 404);
    assert.equal(theta.serverMessage, undefined, 'only the client knows whether the message is the service’s own');
  });
});

describe('errorCodeForStatus', () => {
  it('gives both clients the same code for the same status', () => {
    const expected: Array<[number, string]> = [
      [401, 'unauthorized'],
      [403, 'forbidden'],
      [404, 'not-found'],
      [422, 'invalid-request'],
      [500, 'server-error'],
      [502, 'server-error'],
      [504, 'server-error'],
      [599, 'server-error'],
      [400, 'http-error'],
      [405, 'http-error'],
      [418, 'http-error'],
      [429, 'http-error'],
      [200, 'http-error'],
      [302, 'http-error'],
    ];
    for (const [status, code] of expected) {
      assert.equal(errorCodeForStatus(status), code, String(status));
      assert.equal(errorFromAnswer(answer(status, '')).code, code, `Kit, ${status}`);
    }
  });
});

describe('readServerMessage', () => {
  it("reads FastAPI's detail, as text or as a validation list with each item's location", () => {
    assert.equal(
      messageOf('{"detail":"You do not have permission to access this resource."}'),
      'You do not have permission to access this resource.',
    );
    const list = JSON.stringify({
      detail: [
        { loc: ['body', 'id'], msg: 'Invalid application ID format', type: 'value_error' },
        { loc: ['body', 'items', 0], msg: 'Unknown profile', type: 'value_error' },
        { msg: 'No location' },
      ],
    });
    assert.equal(messageOf(list), 'body.id: Invalid application ID format; body.items.0: Unknown profile; No location');
    // Objects in a location are left out rather than turned into text.
    assert.equal(messageOf('{"detail":[{"loc":["body",{"toString":null}],"msg":"bad"}]}'), 'body: bad');
    assert.equal(messageOf('{"detail":[{"loc":["body"],"type":"missing"}]}'), undefined, 'an item without a message');
  });

  it('reads message, error as text or object, error_description, errors and title', () => {
    assert.equal(messageOf('{"message":"Session limit reached"}'), 'Session limit reached');
    assert.equal(messageOf('{"error":{"code":429,"message":"Slow down"}}'), 'Slow down');
    assert.equal(messageOf('{"error":"Too many requests, slow down"}'), 'Too many requests, slow down');
    assert.equal(messageOf('{"error":"invalid_token","error_description":"The token expired"}'), 'invalid_token');
    assert.equal(messageOf('{"error_description":"The token expired"}'), 'The token expired');
    assert.equal(messageOf('{"error_message":"Quota exceeded"}'), 'Quota exceeded');
    assert.equal(messageOf('{"errors":["First","Second"]}'), 'First; Second');
    assert.equal(messageOf('{"errors":[{"message":"Field a"},{"message":"Field b"}]}'), 'Field a; Field b');
    assert.equal(messageOf('{"type":"about:blank","title":"Not Found","status":404}'), 'Not Found');
  });

  it("reads Theta's error envelope, and a message nested in its body", () => {
    assert.equal(
      messageOf('{"status":"error","message":"Live stream limit reached - you already have 3/3 streams"}'),
      'Live stream limit reached - you already have 3/3 streams',
    );
    assert.equal(messageOf('{"status":"error","body":{"message":"Stream not found"}}'), 'Stream not found');
    assert.equal(messageOf('{"status":"error","body":{"id":"stream_1"}}'), undefined, 'a status is no message');
  });

  it('reads JSON inside a string, in the body and in a field', () => {
    assert.equal(messageOf(JSON.stringify(JSON.stringify({ detail: 'Double encoded' }))), 'Double encoded');
    assert.equal(messageOf(JSON.stringify({ error: JSON.stringify({ message: 'Wrapped by a gateway' }) })), 'Wrapped by a gateway');
    assert.equal(readServerMessage('{"message":"From a signaling frame"}'), 'From a signaling frame');
    // JSON without a message is not one, whether a string holds it or not.
    assert.equal(messageOf(JSON.stringify({ detail: '{"code":5}' })), undefined);
    assert.equal(messageOf('{"detail":"42"}'), '42');
  });

  it('reads a plain-text body, trimmed', () => {
    assert.equal(readServerMessage(undefined, 'Service Unavailable'), 'Service Unavailable');
    assert.equal(
      readServerMessage(undefined, '  upstream connect error or disconnect/reset before headers\n'),
      'upstream connect error or disconnect/reset before headers',
    );
    assert.equal(readServerMessage('peerRemoved'), 'peerRemoved');
  });

  it('never takes markup or binary for a message', () => {
    for (const text of [
      '<!doctype html><html><body><h1>502</h1></body></html>',
      '\n  <html><head><title>502 Bad Gateway</title></head></html>',
      'Bad gateway<br>try later',
      '<?xml version="1.0"?><Error>Denied</Error>',
      '\u0000\u0001\u0002binary',
    ]) {
      assert.equal(readServerMessage(undefined, text), undefined, text);
      assert.equal(readServerMessage(text), undefined, `${text} as a JSON string`);
    }
    // A field's text is the server's words as they are: the elements render it as text, never as markup.
    assert.equal(messageOf('{"detail":"<img src=x onerror=alert(1)>denied"}'), '<img src=x onerror=alert(1)>denied');
  });

  it('finds nothing where there is no message', () => {
    for (const body of [undefined, null, 42, true, [], {}, { detail: '' }, { message: '   ' }, { message: 5 }, { error: {} }, [1, null]]) {
      assert.equal(readServerMessage(body, ''), undefined, JSON.stringify(body));
    }
    assert.equal(readServerMessage(undefined), undefined);
    assert.equal(readServerMessage(undefined, '   '), undefined);
  });

  it('bounds what huge or deeply nested bodies give', () => {
    const long = 'x'.repeat(1 << 20);
    const fromField = messageOf(JSON.stringify({ detail: long }));
    assert.equal(fromField?.length, 503);
    assert.ok(fromField?.endsWith('...'));
    assert.equal(readServerMessage(undefined, long)?.length, 503);
    const many = { detail: Array.from({ length: 10_000 }, (_, index) => ({ loc: ['body', index], msg: 'bad' })) };
    const listed = readServerMessage(many)?.split('; ');
    assert.equal(listed?.length, 20, 'the first twenty items');
    assert.equal(listed?.at(-1), 'body.19: bad');
    const wide = { errors: Array.from({ length: 20 }, () => 'y'.repeat(100)) };
    assert.equal(readServerMessage(wide)?.length, 503);

    let deep: unknown = { message: 'too deep to reach' };
    for (let level = 0; level < 10_000; level++) deep = { error: deep };
    assert.equal(readServerMessage(deep), undefined);
    let nestedStrings: unknown = 'innermost';
    for (let level = 0; level < 12; level++) nestedStrings = JSON.stringify({ error: nestedStrings });
    assert.equal(readServerMessage(nestedStrings), undefined, 'JSON inside strings counts towards the depth');
  });
});

describe('describing answers', () => {
  it('says what came instead of JSON, naming an error page by its title and never echoing markup', () => {
    assert.equal(
      describeUnexpectedBody(
        answer(502, '<html><head><title>502 Bad Gateway</title></head><body><script>x()</script></body></html>', 'text/html'),
      ),
      'The service answered 502 with an HTML page instead of JSON ("502 Bad Gateway")',
    );
    assert.equal(
      describeUnexpectedBody(answer(200, '<html>maintenance</html>')),
      'The service answered 200 with an HTML page instead of JSON',
    );
    assert.equal(
      describeUnexpectedBody(answer(200, '{"id":', 'application/json; charset=utf-8')),
      'The service answered 200 with a body that is not valid JSON (content type application/json)',
    );
    assert.equal(describeUnexpectedBody(answer(200, '')), 'The service answered 200 with an empty body instead of JSON');
  });

  it('says why an error answer without a message failed: what came instead, or nothing', () => {
    assert.equal(
      describeAnswerWithoutMessage(answer(503, 'Service Unavailable', 'text/plain')),
      'The service answered 503 with a body that is not valid JSON (content type text/plain)',
    );
    assert.equal(
      describeAnswerWithoutMessage(answer(502, '<html><title>Bad Gateway</title></html>', 'text/html')),
      'The service answered 502 with an HTML page instead of JSON ("Bad Gateway")',
    );
    assert.equal(describeAnswerWithoutMessage(answer(500, '{}', 'application/json')), 'The service answered 500 without saying why');
    assert.equal(describeAnswerWithoutMessage(answer(404, '')), 'The service answered 404 without saying why');
  });

  it("gives the Kit client a typed error with the status and the server's message, else the description", () => {
    const error = errorFromAnswer(answer(422, '{"detail":[{"loc":["body","id"],"msg":"field required"}]}'));
    assert.ok(error instanceof KitStreamError);
    assert.equal(error.code, 'invalid-request');
    assert.equal(error.status, 422);
    assert.equal(error.message, 'body.id: field required');
    assert.equal(errorFromAnswer(answer(503, 'Service Unavailable', 'text/plain')).message, 'Service Unavailable');
    const page = errorFromAnswer(answer(502, '<html><title>Bad Gateway</title><p>nginx</p></html>', 'text/html'));
    assert.equal(page.code, 'server-error');
    assert.equal(page.message, 'The service answered 502 with an HTML page instead of JSON ("Bad Gateway")');
    assert.equal(errorFromAnswer(answer(401, '')).message, 'The service answered 401 without saying why');
  });
});
