/**
 * What a Theta proxy is configured with, and the checks that make a misconfigured proxy fail when it is created
 * rather than on the first request.
 */
import { allowedOriginsOf, type AllowedOrigins } from './cors.js';
import { idPattern } from './routes.js';
import { secretRedactor } from './secret-redaction.js';

/** A handler in the shape every modern JavaScript server accepts. */
export type FetchHandler = (request: Request) => Promise<Response>;

export interface ThetaProxyOptions {
  /** The service account the proxy acts as (`srvacc_...`). */
  serviceAccountId: string;
  /** Its secret: only ever sent upstream, in the `x-tva-sa-secret` header. */
  serviceAccountSecret: string;
  /** The API base; default `https://api.thetavideoapi.com`. */
  upstream?: string;
  /**
   * Origins of pages allowed to call the proxy from another origin (e.g. `https://studio.example.com`),
   * or `'*'` for any. Default: none, for a proxy served from the same origin as its pages. Requests from
   * any other origin are refused with 403. Behind a reverse proxy that rewrites the host, list the
   * public origin here, since the proxy cannot tell it is the same.
   */
  allowedOrigins?: readonly string[] | '*';
  /** Largest request body accepted, in bytes; default 16 KiB (the API's bodies are tiny). */
  maxBodyBytes?: number;
  /**
   * How long to wait for the whole upstream answer; default 15000 ms. Unselecting an ingestor is slow on the real
   * service, so `PUT /ingestor/{id}/unselect` may take at least 60 s whatever this says.
   */
  upstreamTimeoutMs?: number;
  /** The fetch used to reach the upstream; default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Path prefix the handler is mounted under, e.g. `/api/theta`; default none. */
  basePath?: string;
  /**
   * The streamer's address as the platform knows it, passed upstream as `X-Forwarded-For`.
   *
   * The service sorts `GET /ingestor/filter` nearest first from the caller's IP address. Behind this proxy the
   * caller is the proxy's server, so without this option "nearest" means nearest to the proxy, not to the
   * streamer. Whether the service honours `X-Forwarded-For` is not documented; sending it costs nothing.
   *
   * Return the address the platform itself saw, never one the browser could write: Cloudflare Workers
   * `request.headers.get('CF-Connecting-IP')`, Bun `server.requestIP(request)?.address`, Deno
   * `info.remoteAddr.hostname` (kept in a `WeakMap` keyed by the request, as only the `Deno.serve` callback sees
   * it), or, behind a reverse proxy of your own, the address it appended. The `theta-proxy` command fills it in from the socket. Anything that is not an IPv4 or IPv6
   * address (and a throw) means no header; `::ffff:`-mapped IPv4 is sent as plain IPv4.
   */
  clientAddress?: (request: Request) => string | undefined;
  /**
   * Whether to keep the `X-Forwarded-For` the request arrives with, appending `clientAddress` to it. Default
   * `false`: a browser can send any `X-Forwarded-For`, so it is dropped and only `clientAddress` goes upstream.
   * Set it only when every request reaches the proxy through infrastructure of yours that writes the header;
   * entries that are not IP addresses are dropped either way.
   */
  trustForwardedFor?: boolean;
}

export const defaultThetaUpstream = 'https://api.thetavideoapi.com';
export const defaultMaxBodyBytes = 16 * 1024;
export const defaultUpstreamTimeoutMs = 15_000;

/** The options once checked, with every default filled in. */
export interface ProxySettings {
  serviceAccountId: string;
  secret: string;
  /** Origin and path prefix, without a trailing slash. */
  upstream: string;
  maxBodyBytes: number;
  upstreamTimeoutMs: number;
  /** `''`, or a prefix such as `/api/theta` without a trailing slash. */
  basePath: string;
  allowedOrigins: AllowedOrigins;
  fetch: typeof globalThis.fetch;
  /** Removes the secret from a text headed back to the page. */
  redact: (text: string) => string;
  clientAddress?: (request: Request) => string | undefined;
  trustForwardedFor: boolean;
}

/** Checks the options and fills in the defaults; a bad option throws a `TypeError` naming it. */
export function readProxyOptions(options: ThetaProxyOptions): ProxySettings {
  const serviceAccountId = options.serviceAccountId;
  const secret = options.serviceAccountSecret;
  if (typeof serviceAccountId !== 'string' || !idPattern.test(serviceAccountId)) {
    throw new TypeError('serviceAccountId is required and may only contain A-Z, a-z, 0-9, _ and -');
  }
  if (typeof secret !== 'string' || secret === '') throw new TypeError('serviceAccountSecret is required');
  const upstream = normalizeUpstream(options.upstream ?? defaultThetaUpstream);
  const maxBodyBytes = positiveInteger(options.maxBodyBytes, defaultMaxBodyBytes, 'maxBodyBytes');
  const upstreamTimeoutMs = positiveInteger(options.upstreamTimeoutMs, defaultUpstreamTimeoutMs, 'upstreamTimeoutMs');
  const basePath = normalizeBasePath(options.basePath ?? '');
  const allowedOrigins = allowedOriginsOf(options.allowedOrigins);
  // Called through a wrapper so a platform fetch is never invoked with a foreign `this`.
  const upstreamFetch: typeof globalThis.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const redact = secretRedactor(secret);
  const clientAddress = options.clientAddress;
  if (clientAddress !== undefined && typeof clientAddress !== 'function') throw new TypeError('clientAddress must be a function');
  return {
    serviceAccountId,
    secret,
    upstream,
    maxBodyBytes,
    upstreamTimeoutMs,
    basePath,
    allowedOrigins,
    fetch: upstreamFetch,
    redact,
    clientAddress,
    trustForwardedFor: options.trustForwardedFor === true,
  };
}

function normalizeUpstream(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError('upstream must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('upstream must be an http(s) URL');
  if (url.username || url.password || url.search || url.hash) {
    throw new TypeError('upstream must not carry credentials, a query or a fragment');
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function normalizeBasePath(value: string): string {
  const trimmed = value.replace(/\/+$/, '');
  if (trimmed === '') return '';
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(trimmed) || /\/\.\.?(\/|$)/.test(trimmed)) {
    throw new TypeError('basePath must look like /api/theta');
  }
  return trimmed;
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer`);
  return value;
}
