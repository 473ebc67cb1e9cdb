/**
 * HTTP helpers shared by the elements' API clients: one request with its own timeout, and tolerant reading of JSON
 * bodies. What an answer that went wrong says is read in `errors.ts`.
 */
import type { LiveStreamError, LiveStreamErrorCode } from './errors.js';
import { parseJson } from './json.js';
import { formatSeconds } from './timing.js';

/** An answer whose body has been read: `body` is the parsed JSON, or `undefined` when it is not JSON. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON body; `undefined` when the body is empty or not JSON. */
  body: unknown;
  /** The raw body text. */
  text: string;
}

export interface RequestOptions {
  /** Aborts the request; the abort reason is thrown as is. */
  signal?: AbortSignal;
  /** The calling client's error class, so that a request without an answer fails with the client's own type. */
  errorType: new (code: LiveStreamErrorCode, message: string, status?: number, options?: ErrorOptions) => LiveStreamError;
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

/**
 * Sends one request and reads its body. A request without an answer fails with an `errorType` error without status,
 * coded `network` or `timeout`; the caller's abort reason is thrown as is.
 */
export async function requestJson(url: string, init: RequestInit, options: RequestOptions): Promise<HttpAnswer> {
  const { signal, timeoutMs, errorType } = options;
  const timeout = new AbortController();
  const timer = setTimeout(
    () => timeout.abort(new errorType('timeout', `No answer from ${describeUrl(url)} within ${formatSeconds(timeoutMs)}.`)),
    timeoutMs,
  );
  // A signal aborted already fails the fetch at once, without sending: its reason is rethrown below.
  const combined = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
  try {
    const response = await fetch(url, { ...init, signal: combined, keepalive: options.keepalive });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: parseJson(text), text };
  } catch (error) {
    // The caller's abort reason, or the timeout's error: whichever stopped the request.
    if (combined.aborted) throw combined.reason;
    throw new errorType(
      'network',
      `Could not reach ${describeUrl(url)}: the network failed or the server refused the connection.`,
      undefined,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
}

/** A 2xx status: the call did what it asked. */
export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** Milliseconds to wait from a `Retry-After` header (seconds or an HTTP date), or `undefined`. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
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

/** Joins a base URL (which may carry a path prefix) and an API path without doubling or losing slashes. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
