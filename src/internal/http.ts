/**
 * HTTP helpers shared by the elements' API clients: one request with its own timeout,
 * tolerant reading of JSON bodies, and the texts that describe what went wrong.
 */

/** An answer whose body has been read: `body` is the parsed JSON, or `undefined` when it is not JSON. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON body; `undefined` when the body is empty or not JSON. */
  body: unknown;
  /** The raw body text. */
  text: string;
}

/** Why a request did not produce an answer. */
export type TransportFailure = 'network' | 'timeout';

/** A request that produced no HTTP answer at all: the network failed, or the server did not answer in time. */
export class TransportError extends Error {
  constructor(
    readonly failure: TransportFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

export interface RequestOptions {
  /** Aborts the request; the abort reason is thrown as is. */
  signal?: AbortSignal;
  /** Milliseconds to wait for the whole answer, body included. */
  timeoutMs: number;
  /** Keep the request alive after the page goes away (terminate calls on `pagehide`). */
  keepalive?: boolean;
}

/**
 * Merges user-supplied request settings (auth headers, credentials) with a call's own.
 * The call's method, body and headers win over the user's for the keys both set.
 */
export function mergeRequestInit(base: RequestInit | undefined, call: RequestInit): RequestInit {
  const headers = new Headers(base?.headers);
  new Headers(call.headers).forEach((value, key) => headers.set(key, value));
  return { ...base, ...call, headers };
}

/** Sends one request and reads its body; a network failure or a timeout becomes a {@link TransportError}. */
export async function requestJson(url: string, init: RequestInit, options: RequestOptions): Promise<HttpAnswer> {
  const { signal, timeoutMs } = options;
  signal?.throwIfAborted();
  const timeout = new AbortController();
  const timer = setTimeout(
    () => timeout.abort(new TransportError('timeout', `No answer from ${describeUrl(url)} within ${formatSeconds(timeoutMs)}.`)),
    timeoutMs,
  );
  const combined = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
  try {
    const response = await fetch(url, { ...init, signal: combined, keepalive: options.keepalive });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: parseJson(text), text };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (timeout.signal.aborted) throw timeout.signal.reason;
    throw new TransportError('network', `Could not reach ${describeUrl(url)}: the network failed or the server refused the connection.`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** A JSON string's value, `undefined` when the string is no JSON (blank included); anything else as it is. */
export function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/** Milliseconds to wait from a `Retry-After` header (seconds or an HTTP date), or `undefined`. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Describes a body that is not the JSON the API promised, as a sentence: see {@link describeNonJsonBody}. */
export function describeUnexpectedBody(answer: HttpAnswer): string {
  return `The server answered ${answer.status} with ${describeNonJsonBody(answer)}.`;
}

/**
 * Says what came instead of JSON, without echoing markup: `an empty body instead of JSON`,
 * `an HTML page instead of JSON ("502 Bad Gateway")` (the page's title, when it has one, tells
 * which gateway or error it was), or `a body that is not valid JSON (content type text/plain)`.
 * Clients phrase the sentence around it in their own voice.
 */
export function describeNonJsonBody(answer: HttpAnswer): string {
  const type = answer.headers.get('content-type') ?? '';
  if (answer.text.trim() === '') return 'an empty body instead of JSON';
  if (/html/i.test(type) || /^\s*</.test(answer.text)) {
    const title = /<title[^>]*>([^<]{1,200})<\/title>/i.exec(answer.text)?.[1]?.trim();
    return `an HTML page instead of JSON${title ? ` ("${title}")` : ''}`;
  }
  const mediaType = type.split(';')[0].trim();
  return `a body that is not valid JSON${mediaType ? ` (content type ${mediaType})` : ''}`;
}

/** Scheme, host and path of a URL, for messages: never its query, which may carry credentials. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url;
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** Joins a base URL (which may carry a path prefix) and an API path without doubling or losing slashes. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
