/**
 * The one call to the Theta Video API per request: the proxy's credentials added, a deadline on the whole answer,
 * redirects refused (they would carry the secret elsewhere), and the answer relayed to the page with its status and
 * body as the service sent them, less the secret.
 */
import { formatSeconds } from '../internal/timing.js';
import type { ProxySettings } from './options.js';
import { BodyRefusal, readLimitedBytes } from './request-body.js';
import type { ProxyRefusal } from './routes.js';

/** What the handler has checked and now sends upstream. */
export interface UpstreamCall {
  url: URL;
  method: string;
  /** The re-serialized JSON body, for the calls that carry one. */
  body: string | undefined;
  /** The `X-Forwarded-For` to send, if any. */
  forwardedFor: string | undefined;
}

export type UpstreamSettings = Pick<ProxySettings, 'serviceAccountId' | 'secret' | 'upstreamTimeoutMs' | 'fetch' | 'redact'>;

/** The real service takes its time to release an ingestor: the element waits this long, and so does the proxy. */
const slowUnselectMs = 60_000;

/** Upstream answers larger than this are refused: the livestream calls return a few kilobytes. */
const maxUpstreamBodyBytes = 1024 * 1024;

/**
 * Sends `call` upstream on behalf of `request` and returns the answer for the page, with `headers` (the CORS
 * headers) on it; or, when no usable answer came, why not: 504 on timeout, 499 when the page gave up, 502 otherwise.
 */
export async function forwardUpstream(
  request: Request,
  call: UpstreamCall,
  settings: UpstreamSettings,
  headers: Headers,
): Promise<Response | ProxyRefusal> {
  const upstreamHeaders = new Headers({
    Accept: request.headers.get('Accept') ?? 'application/json',
    'x-tva-sa-id': settings.serviceAccountId,
    'x-tva-sa-secret': settings.secret,
  });
  if (call.body !== undefined) upstreamHeaders.set('Content-Type', 'application/json');
  if (call.forwardedFor !== undefined) upstreamHeaders.set('X-Forwarded-For', call.forwardedFor);

  // Called unbound: a platform fetch given as the option throws when its `this` is the settings object.
  const { fetch: upstreamFetch, upstreamTimeoutMs: timeoutMs } = settings;
  const waitMs = /\/unselect$/.test(call.url.pathname) ? Math.max(timeoutMs, slowUnselectMs) : timeoutMs;
  const timeout = AbortSignal.timeout(waitMs);
  const signal = anySignal([timeout, request.signal]);
  let upstreamResponse: Response;
  let upstreamText: string;
  try {
    upstreamResponse = await upstreamFetch(call.url.href, {
      method: call.method,
      headers: upstreamHeaders,
      body: call.body,
      signal,
      // A redirect would carry the secret header to wherever it points.
      redirect: 'manual',
    });
    upstreamText = await readLimitedText(upstreamResponse, maxUpstreamBodyBytes);
  } catch (error) {
    if (timeout.aborted) return { status: 504, message: `The Theta Video API did not answer within ${formatSeconds(waitMs)}` };
    if (request.signal.aborted) return { status: 499, message: 'The request was cancelled' };
    if (error instanceof BodyRefusal) return { status: 502, message: error.message };
    return { status: 502, message: `Could not reach the Theta Video API${describeNetworkError(error)}` };
  }

  if (upstreamResponse.type === 'opaqueredirect' || (upstreamResponse.status >= 300 && upstreamResponse.status < 400)) {
    return { status: 502, message: 'The Theta Video API answered with a redirect, which the proxy does not follow' };
  }
  const contentType = upstreamResponse.headers.get('Content-Type');
  if (contentType !== null) headers.set('Content-Type', settings.redact(contentType));
  const status = upstreamResponse.status;
  const bodyless = status === 204 || status === 205 || status === 304;
  return new Response(bodyless ? null : settings.redact(upstreamText), { status, headers });
}

async function readLimitedText(response: Response, maxBytes: number): Promise<string> {
  const bytes = await readLimitedBytes(
    response.body,
    maxBytes,
    () => new BodyRefusal(502, 'The Theta Video API answered with an unexpectedly large body'),
  );
  return new TextDecoder().decode(bytes);
}

/** An AbortSignal that aborts with the first of `signals`; uses AbortSignal.any where the platform has it. */
function anySignal(signals: AbortSignal[]): AbortSignal {
  const any = (AbortSignal as { any?: (signals: AbortSignal[]) => AbortSignal }).any;
  if (typeof any === 'function') return any.call(AbortSignal, signals);
  const controller = new AbortController();
  for (const signal of signals) {
    if (signal.aborted) {
      controller.abort(signal.reason);
      break;
    }
    signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true, signal: controller.signal });
  }
  return controller.signal;
}

/** A short, safe hint about why the network failed (e.g. ` (ECONNREFUSED)`), or nothing. */
function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  const code = cause?.code ?? (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? ` (${code})` : '';
}
