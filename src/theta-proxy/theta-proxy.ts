/**
 * A Fetch-standard request handler that lets a web page use the Theta Video API's
 * livestream calls without ever holding the service-account secret.
 *
 * The secret grants full control of the account, so it must stay on a server. This proxy
 * holds it, forwards only the documented livestream calls, adds the credentials on the
 * way out, and passes the service's answers (statuses and messages included) back to the
 * page. It uses web-platform APIs only (Request, Response, fetch, URL, Headers,
 * AbortSignal), so the same handler runs in Node 20+, Deno, Bun and edge workers.
 */

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
/** The real service takes its time to release an ingestor: the element waits this long, and so does the proxy. */
const slowUnselectMs = 60_000;

/** Upstream answers larger than this are refused: the livestream calls return a few kilobytes. */
const maxUpstreamBodyBytes = 1024 * 1024;

/** At most this many `X-Forwarded-For` entries go upstream (the last ones, nearest to the proxy). */
const maxForwardedAddresses = 16;

/** Ids the service issues (`stream_...`, `srvacc_...`, `0x...`): no dots, slashes or escapes, so no path tricks. */
const idPattern = /^[A-Za-z0-9_-]{1,128}$/;

const allowedMethodsForCors = 'GET, POST, PUT, DELETE, OPTIONS';
/** Only these request headers may come from the page; credentials are the proxy's own. */
const allowedRequestHeaders = 'Content-Type, Accept';

interface ProxyRoute {
  /** Matches the path after `basePath`; capture groups are ids. */
  pattern: RegExp;
  /** What each capture group is, for error messages. */
  idNames: string[];
  methods: readonly string[];
  /** Whether the call carries a JSON body (`{}` when the page sends none). */
  hasBody: boolean;
  /** Query parameters passed through to the upstream; all others are dropped. */
  query?: readonly QueryParameter[];
  upstreamPath(ids: string[], serviceAccountId: string): string | ProxyRefusal;
}

interface QueryParameter {
  name: string;
  /** Why a value is refused (a 400), or `undefined` when it may be forwarded; no check forwards any value. */
  refuse?: (value: string) => string | undefined;
}

interface ProxyRefusal {
  status: number;
  message: string;
}

/**
 * The calls the proxy forwards. Besides the documented ones, `GET /service_account/me/streams`
 * lists the configured account's streams, so a page needs no account id at all.
 */
const routes: readonly ProxyRoute[] = [
  {
    pattern: /^\/stream$/,
    idNames: [],
    methods: ['POST'],
    hasBody: true,
    upstreamPath: () => '/stream',
  },
  {
    pattern: /^\/stream\/([^/]+)$/,
    idNames: ['stream id'],
    methods: ['GET', 'DELETE'],
    hasBody: false,
    upstreamPath: ([streamId]) => `/stream/${streamId}`,
  },
  {
    pattern: /^\/service_account\/([^/]+)\/streams$/,
    idNames: ['service account id'],
    methods: ['GET'],
    hasBody: false,
    // Refused here rather than by the service, so nothing unchecked from the page is forwarded.
    query: [{ name: 'status', refuse: (value) => (value === 'on' || value === 'off' ? undefined : 'status must be on or off') }],
    upstreamPath: ([accountId], serviceAccountId) =>
      accountId === 'me' || accountId === serviceAccountId
        ? `/service_account/${serviceAccountId}/streams`
        : { status: 403, message: 'This proxy only lists the streams of its own service account' },
  },
  {
    pattern: /^\/ingestor\/filter$/,
    idNames: [],
    methods: ['GET'],
    hasBody: false,
    // Public code passes metres (40000000, about the Earth's circumference, to list every ingestor); the
    // unit is not documented, so the proxy only checks that it is a plain non-negative number.
    query: [
      {
        name: 'max_distance',
        refuse: (value) =>
          /^\d{1,12}(\.\d{1,6})?$/.test(value) ? undefined : 'max_distance must be a non-negative number, such as 40000000',
      },
    ],
    upstreamPath: () => '/ingestor/filter',
  },
  {
    pattern: /^\/ingestor\/([^/]+)\/select$/,
    idNames: ['ingestor id'],
    methods: ['PUT'],
    hasBody: true,
    upstreamPath: ([ingestorId]) => `/ingestor/${ingestorId}/select`,
  },
  {
    pattern: /^\/ingestor\/([^/]+)\/unselect$/,
    idNames: ['ingestor id'],
    methods: ['PUT'],
    hasBody: true,
    upstreamPath: ([ingestorId]) => `/ingestor/${ingestorId}/unselect`,
  },
];

class BodyRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Creates the proxy. Mount it wherever a Fetch handler goes:
 * `Deno.serve(handler)`, `Bun.serve({fetch: handler})`, `export default {fetch: handler}` in a worker,
 * or `serveFetchHandler(handler, {port})` from `./node-server.js` in Node.
 *
 * Paths (after `basePath`): `POST /stream`, `GET|DELETE /stream/{id}`,
 * `GET /service_account/{id or "me"}/streams?status=on|off`, `GET /ingestor/filter?max_distance=N`,
 * `PUT /ingestor/{id}/select`, `PUT /ingestor/{id}/unselect`. Anything else is a 404. Only the query
 * parameters shown are forwarded (the others are dropped); any other `status` or a malformed `max_distance` is a 400.
 *
 * The ingestor list comes back nearest first to whoever calls the service, which is this proxy: set
 * `clientAddress` so the streamer's address goes upstream as `X-Forwarded-For`.
 */
export function createThetaProxy(options: ThetaProxyOptions): FetchHandler {
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
  const allowedOrigins = options.allowedOrigins === '*' ? '*' : new Set((options.allowedOrigins ?? []).map(normalizeOrigin));
  // Called through a wrapper so a platform fetch is never invoked with a foreign `this`.
  const upstreamFetch: typeof globalThis.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const secretForms = secretSpellings(secret);
  const clientAddress = options.clientAddress;
  if (clientAddress !== undefined && typeof clientAddress !== 'function') throw new TypeError('clientAddress must be a function');
  const trustForwardedFor = options.trustForwardedFor === true;

  /** The `X-Forwarded-For` to send upstream: the trusted incoming chain, if any, then the streamer's address. */
  function forwardedFor(request: Request): string | undefined {
    const chain: string[] = [];
    if (trustForwardedFor) {
      for (const entry of (request.headers.get('X-Forwarded-For') ?? '').split(',')) {
        const address = normalizeIpAddress(entry);
        if (address !== undefined) chain.push(address);
      }
    }
    let own: unknown;
    try {
      own = clientAddress?.(request);
    } catch {
      // Only the ingestors' order depends on it: a failing lookup must not cost the streamer the call.
      own = undefined;
    }
    const address = typeof own === 'string' ? normalizeIpAddress(own) : undefined;
    if (address !== undefined) chain.push(address);
    return chain.length === 0 ? undefined : chain.slice(-maxForwardedAddresses).join(', ');
  }

  /** Removes the secret from anything headed back to the page, however the upstream spelled it. */
  function scrub(text: string): string {
    let result = text;
    for (const form of secretForms) result = result.split(form).join('[redacted]');
    return result;
  }

  function originAllowed(origin: string, request: Request): boolean {
    if (allowedOrigins === '*') return true;
    const normalized = normalizeOrigin(origin);
    return allowedOrigins.has(normalized) || normalized === new URL(request.url).origin;
  }

  function corsHeaders(origin: string | null, allowed: boolean): Headers {
    const headers = new Headers({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', Vary: 'Origin' });
    if (origin !== null && allowed) headers.set('Access-Control-Allow-Origin', origin);
    return headers;
  }

  function errorResponse(status: number, message: string, headers: Headers): Response {
    headers.set('Content-Type', 'application/json; charset=utf-8');
    return new Response(JSON.stringify({ status: 'error', message: scrub(message) }), { status, headers });
  }

  async function handle(request: Request): Promise<Response> {
    const origin = request.headers.get('Origin');
    const allowed = origin === null || originAllowed(origin, request);
    const headers = corsHeaders(origin, allowed);
    const method = request.method.toUpperCase();

    if (method === 'OPTIONS') {
      if (!allowed) return errorResponse(403, 'This origin may not use the Theta proxy', headers);
      headers.set('Access-Control-Allow-Methods', allowedMethodsForCors);
      headers.set('Access-Control-Allow-Headers', allowedRequestHeaders);
      headers.set('Access-Control-Max-Age', '600');
      headers.set('Allow', allowedMethodsForCors);
      return new Response(null, { status: 204, headers });
    }
    if (!allowed) return errorResponse(403, 'This origin may not use the Theta proxy', headers);

    const url = new URL(request.url);
    const path = stripBasePath(url.pathname, basePath);
    const route = path === null ? undefined : routes.find((candidate) => candidate.pattern.test(path));
    if (path === null || !route) return errorResponse(404, 'Not a Theta livestream call', headers);
    if (!route.methods.includes(method)) {
      headers.set('Allow', [...route.methods, 'OPTIONS'].join(', '));
      return errorResponse(405, `Method ${method} is not allowed for this call`, headers);
    }
    const ids = (route.pattern.exec(path) ?? []).slice(1);
    for (const [index, id] of ids.entries()) {
      if (!idPattern.test(id)) return errorResponse(400, `Invalid ${route.idNames[index] ?? 'id'}`, headers);
    }
    const target = route.upstreamPath(ids, serviceAccountId);
    if (typeof target !== 'string') return errorResponse(target.status, target.message, headers);

    const upstreamUrl = new URL(upstream + target);
    for (const { name, refuse } of route.query ?? []) {
      const values = url.searchParams.getAll(name);
      if (values.length > 1) return errorResponse(400, `${name} may be given only once`, headers);
      if (values.length === 0) continue;
      const refusal = refuse?.(values[0]);
      if (refusal !== undefined) return errorResponse(400, refusal, headers);
      upstreamUrl.searchParams.set(name, values[0]);
    }

    let body: string | undefined;
    if (route.hasBody) {
      try {
        body = await readJsonBody(request, maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyRefusal) return errorResponse(error.status, error.message, headers);
        return errorResponse(400, 'Could not read the request body', headers);
      }
    }

    const upstreamHeaders = new Headers({
      Accept: request.headers.get('Accept') ?? 'application/json',
      'x-tva-sa-id': serviceAccountId,
      'x-tva-sa-secret': secret,
    });
    if (body !== undefined) upstreamHeaders.set('Content-Type', 'application/json');
    const forwarded = forwardedFor(request);
    if (forwarded !== undefined) upstreamHeaders.set('X-Forwarded-For', forwarded);

    const waitMs = /\/unselect$/.test(upstreamUrl.pathname) ? Math.max(upstreamTimeoutMs, slowUnselectMs) : upstreamTimeoutMs;
    const timeout = AbortSignal.timeout(waitMs);
    const signal = anySignal([timeout, request.signal]);
    let upstreamResponse: Response;
    let upstreamText: string;
    try {
      upstreamResponse = await upstreamFetch(upstreamUrl.href, {
        method,
        headers: upstreamHeaders,
        body,
        signal,
        // A redirect would carry the secret header to wherever it points.
        redirect: 'manual',
      });
      upstreamText = await readLimitedText(upstreamResponse, maxUpstreamBodyBytes);
    } catch (error) {
      if (timeout.aborted) {
        return errorResponse(504, `The Theta Video API did not answer within ${formatSeconds(waitMs)}`, headers);
      }
      if (request.signal.aborted) return errorResponse(499, 'The request was cancelled', headers);
      if (error instanceof BodyRefusal) return errorResponse(502, error.message, headers);
      return errorResponse(502, `Could not reach the Theta Video API${describeNetworkError(error)}`, headers);
    }

    if (upstreamResponse.type === 'opaqueredirect' || (upstreamResponse.status >= 300 && upstreamResponse.status < 400)) {
      return errorResponse(502, 'The Theta Video API answered with a redirect, which the proxy does not follow', headers);
    }
    const contentType = upstreamResponse.headers.get('Content-Type');
    if (contentType !== null) headers.set('Content-Type', scrub(contentType));
    const status = upstreamResponse.status;
    const bodyless = status === 204 || status === 205 || status === 304;
    return new Response(bodyless ? null : scrub(upstreamText), { status, headers });
  }

  return async (request) => {
    try {
      return await handle(request);
    } catch {
      // Never let an unexpected error's text (which could quote anything) reach the page.
      let origin: string | null = null;
      let allowed = false;
      try {
        origin = request.headers.get('Origin');
        allowed = origin !== null && originAllowed(origin, request);
      } catch {
        allowed = false;
      }
      return errorResponse(500, 'The Theta proxy failed unexpectedly', corsHeaders(origin, allowed));
    }
  };
}

/**
 * An IPv4 or IPv6 address in canonical form, or `undefined` for anything else. Tolerates the spellings
 * platforms use for client addresses: surrounding spaces, `[v6]`, a `:port`, an IPv6 zone (`%eth0`, dropped),
 * and `::ffff:`-mapped IPv4 (returned as plain IPv4). Uses the URL parser for IPv6, so it runs anywhere.
 */
export function normalizeIpAddress(value: string): string | undefined {
  let text = value.trim();
  if (text.length > 64) return undefined;
  const ipv4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?$/.exec(text);
  if (ipv4) return ipv4[1].split('.').every((part) => Number(part) <= 255 && (part.length === 1 || part[0] !== '0')) ? ipv4[1] : undefined;
  const bracketed = /^\[([^\]]*)\](?::\d{1,5})?$/.exec(text);
  if (bracketed) text = bracketed[1];
  text = text.replace(/%[A-Za-z0-9_.-]{1,32}$/, '');
  if (!/^[0-9A-Fa-f:.]{2,45}$/.test(text) || !text.includes(':')) return undefined;
  let host: string;
  try {
    host = new URL(`http://[${text}]/`).hostname;
  } catch {
    return undefined;
  }
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(host);
  if (mapped) {
    const high = parseInt(mapped[1], 16);
    const low = parseInt(mapped[2], 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return host.slice(1, -1);
}

/** Reads a JSON request body within `maxBytes`, checking as it streams, and returns it re-serialized. */
async function readJsonBody(request: Request, maxBytes: number): Promise<string> {
  const declared = request.headers.get('Content-Length');
  if (declared !== null && Number(declared) > maxBytes) {
    throw new BodyRefusal(413, `The request body is larger than ${maxBytes} bytes`);
  }
  const bytes = await readLimitedBytes(
    request.body,
    maxBytes,
    () => new BodyRefusal(413, `The request body is larger than ${maxBytes} bytes`),
  );
  if (bytes.length === 0) return '{}';
  const contentType = request.headers.get('Content-Type') ?? '';
  if (!/^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(contentType)) {
    throw new BodyRefusal(415, 'The request body must be JSON (Content-Type: application/json)');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new BodyRefusal(400, 'The request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BodyRefusal(400, 'The request body must be a JSON object');
  }
  // Re-serialized, so only well-formed JSON ever reaches the upstream.
  return JSON.stringify(parsed);
}

async function readLimitedText(response: Response, maxBytes: number): Promise<string> {
  const bytes = await readLimitedBytes(
    response.body,
    maxBytes,
    () => new BodyRefusal(502, 'The Theta Video API answered with an unexpectedly large body'),
  );
  return new TextDecoder().decode(bytes);
}

/** Reads a stream to its end, giving up (and cancelling it) as soon as it exceeds `maxBytes`. */
async function readLimitedBytes(stream: ReadableStream<Uint8Array> | null, maxBytes: number, tooLarge: () => Error): Promise<Uint8Array> {
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        void reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
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

/** The secret as it could appear in a body: raw, JSON-escaped or percent-encoded. */
function secretSpellings(secret: string): string[] {
  const forms = new Set([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]);
  return [...forms].filter((form) => form !== '');
}

/** A short, safe hint about why the network failed (e.g. ` (ECONNREFUSED)`), or nothing. */
function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  const code = cause?.code ?? (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? ` (${code})` : '';
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

function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}

function stripBasePath(pathname: string, basePath: string): string | null {
  if (basePath === '') return pathname;
  if (!pathname.startsWith(`${basePath}/`)) return null;
  return pathname.slice(basePath.length);
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer`);
  return value;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
