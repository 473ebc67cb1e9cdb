/**
 * The error model both elements share: one base class, one set of codes (the same failure has the same code in
 * `kit-error` and `theta-error`), and one reader of the message a server put in its answer, whatever its shape.
 */
import type { HttpAnswer } from './http.js';
import { isRecord, parseJson } from './json.js';

/** What kind of failure a {@link LiveStreamError} is; stable strings that pages can branch on. */
export type LiveStreamErrorCode =
  /** 401: the request carried no valid credentials (a gateway's or proxy's auth, a Theta secret). */
  | 'unauthorized'
  /** 403: the gateway or service refused the request. */
  | 'forbidden'
  /** 404: what the request names (a session, a stream, an ingestor) does not exist, or no longer does. */
  | 'not-found'
  /** 422: the service rejected the request's fields; the message lists each with its location. */
  | 'invalid-request'
  /** 5xx: the service (or the gateway or proxy before it) failed. */
  | 'server-error'
  /** Any other unexpected HTTP status, or a success status whose body reports an error. */
  | 'http-error'
  /** The answer was not the JSON the API promises (an HTML error page, say). */
  | 'malformed-response'
  /** No answer: the network failed or the connection was refused. */
  | 'network'
  /** No complete answer in time, or (Kit) the session did not become ready in time. */
  | 'timeout'
  /** Theta only: the caller's `AbortSignal` cancelled the request. */
  | 'aborted'
  /** A setting is missing; the message says which. Nothing was sent. */
  | 'configuration'
  /** Kit only: a ready session whose routes have no signaling route. */
  | 'no-signaling-route'
  /** Kit only: the stream itself failed (signaling, ICE, reconnects exhausted). */
  | 'connection'
  /** Kit only: Kit's signaling server reported an error; the message carries its text. */
  | 'signaling'
  /** Kit only: the server ended the stream before it started; the element reports it as `kit-session-ended`. */
  | 'server-ended';

/**
 * A failure of a service the elements talk to, or of the stream, with the server's own message where it had one.
 * What the elements throw is a subclass that names itself: `KitStreamError`, `ThetaApiError`.
 */
export class LiveStreamError extends Error {
  declare readonly code: LiveStreamErrorCode;
  /** The HTTP status of the answer that failed; `undefined` when there was no answer (never 0). */
  declare readonly status?: number;

  constructor(code: LiveStreamErrorCode, message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.status = status;
  }
}

/** The code of an answer with an error status. */
export function errorCodeForStatus(status: number): LiveStreamErrorCode {
  return status == 401
    ? 'unauthorized'
    : status == 403
      ? 'forbidden'
      : status == 404
        ? 'not-found'
        : status == 422
          ? 'invalid-request'
          : status >= 500
            ? 'server-error'
            : 'http-error';
}

/** Longest server message kept: a misbehaving gateway may send pages of text. */
const maxMessageLength = 500;

/**
 * Fields that carry a message, in the order they are tried: FastAPI's `detail` (Kit), `message` (Theta's error
 * envelope), `msg` (an item of FastAPI's validation list), `error` as text or as an object, OAuth's and others'
 * `error_description` and `error_message`, a list of `errors`, problem+json's `title`, and a message nested in
 * Theta's `body`.
 */
const messageFields = ['detail', 'message', 'msg', 'error', 'error_description', 'error_message', 'errors', 'title', 'body'];

/**
 * The server's own words in a body, whatever shape it used: one of {@link messageFields} (at any depth, a list
 * rendered as `body.id: field required; body.profile: ...` with each item's location), JSON inside a string, or a
 * plain-text body. Markup is never a message, and no message is longer than 500 characters.
 * @param body The parsed JSON body, or `undefined` when the body is not JSON.
 * @param text The raw body, read when `body` is `undefined`.
 */
export function readServerMessage(body: unknown, text?: string): string | undefined {
  const message = findMessage(body === undefined ? text : body, 0);
  return message && message.length > maxMessageLength ? `${message.slice(0, maxMessageLength)}...` : message;
}

/** `depth` is 0 for the body itself; it stops a deeply nested body from recursing without end. */
function findMessage(value: unknown, depth: number): string | undefined {
  if (depth > 6) return undefined;
  if (typeof value === 'string') {
    // JSON inside a string (a gateway that encoded the body twice) is read as JSON: its message, or none.
    const inner = parseJson(value);
    if (inner && typeof inner === 'object') return findMessage(inner, depth + 1);
    const text = value.trim();
    // A whole body in markup is an error page, and one with control characters (`[\0-\b]` is U+0000 to U+0008) is
    // binary: neither is a message. A field's text is the server's words as they are; the elements render it as text.
    return text && !(depth == 0 && /<[a-z!/?]|[\0-\b]/i.test(text)) ? text : undefined;
  }
  if (Array.isArray(value)) {
    // Twenty items fill the longest message; reading no more keeps a huge list cheap.
    return (
      value
        .slice(0, 20)
        .map((item) => {
          const message = findMessage(item, depth + 1);
          const loc = (item as { loc?: unknown } | null)?.loc;
          // Objects are left out: `String` throws on one like `{"toString": null}`.
          const where = Array.isArray(loc) ? loc.filter((part) => typeof part != 'object').join('.') : '';
          return where && message ? `${where}: ${message}` : message;
        })
        .filter(Boolean)
        .join('; ') || undefined
    );
  }
  if (isRecord(value)) {
    for (const field of messageFields) {
      const message = findMessage(value[field], depth + 1);
      if (message) return message;
    }
  }
  return undefined;
}

/**
 * A body that is not the JSON the API promised, as a sentence that never echoes markup: `... an empty body instead
 * of JSON`, `... an HTML page instead of JSON ("502 Bad Gateway")` (the page's title, when it has one, tells which
 * gateway or error it was), or `... a body that is not valid JSON (content type text/plain)`.
 */
export function describeUnexpectedBody(answer: HttpAnswer): string {
  const type = answer.headers.get('content-type') ?? '';
  const mediaType = type.split(';')[0].trim();
  const title = /<title[^>]*>([^<]{1,200})<\/title>/i.exec(answer.text)?.[1].trim();
  return `The service answered ${answer.status} with ${
    answer.text.trim() === ''
      ? 'an empty body instead of JSON'
      : /html/i.test(type) || /^\s*</.test(answer.text)
        ? `an HTML page instead of JSON${title ? ` ("${title}")` : ''}`
        : `a body that is not valid JSON${mediaType ? ` (content type ${mediaType})` : ''}`
  }`;
}

/** What an error answer without a message of its own says: what came instead of JSON, or that it gave no reason. */
export function describeAnswerWithoutMessage(answer: HttpAnswer): string {
  return answer.body === undefined && answer.text.trim() !== ''
    ? describeUnexpectedBody(answer)
    : `The service answered ${answer.status} without saying why`;
}
