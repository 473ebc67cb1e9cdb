/**
 * The HTTP plumbing both simulators stand on: a server that closes fast and completely, bounded
 * request bodies, CORS, and one {@link Reply} per request through which every answer is written,
 * so a fault can add headers to it or cut it short wherever the answer comes from.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { FaultTruncation } from './faults.js';

export type BodyReadResult = { kind: 'complete'; text: string; bytes: number } | { kind: 'too-large' } | { kind: 'aborted' };

/** A request body as the simulators see it: `null` without one, the JSON value when it parses, else the raw text. */
export interface ParsedBody {
  value: unknown;
  json: boolean;
}

/**
 * After refusing an oversized body the rest is still read and thrown away, so the client
 * finishes sending and sees the 413 instead of a reset; past this much it is cut off.
 */
const oversizedDrainLimitBytes = 16 * 1024 * 1024;

export function readBody(request: IncomingMessage, limitBytes: number): Promise<BodyReadResult> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: BodyReadResult): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const chunks: Buffer[] = [];
    let received = 0;
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limitBytes) settle({ kind: 'too-large' });

    request.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (settled) {
        if (received > oversizedDrainLimitBytes) request.socket.destroy();
        return;
      }
      if (received > limitBytes) {
        chunks.length = 0;
        settle({ kind: 'too-large' });
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => settle({ kind: 'complete', text: Buffer.concat(chunks).toString('utf8'), bytes: received }));
    request.on('error', () => settle({ kind: 'aborted' }));
    request.on('close', () => settle({ kind: 'aborted' }));
  });
}

export function parseBodyText(text: string): ParsedBody {
  if (text.trim() === '') return { value: null, json: false };
  try {
    return { value: JSON.parse(text) as unknown, json: true };
  } catch {
    return { value: text, json: false };
  }
}

/** Splits a request target into its still-encoded path and its query, tolerating absolute-form targets. */
export function splitTarget(target: string): { path: string; query: Record<string, string> } | undefined {
  let pathAndQuery = target;
  if (!target.startsWith('/')) {
    try {
      const absolute = new URL(target);
      pathAndQuery = absolute.pathname + absolute.search;
    } catch {
      return undefined;
    }
  }
  const queryStart = pathAndQuery.indexOf('?');
  const path = queryStart < 0 ? pathAndQuery : pathAndQuery.slice(0, queryStart);
  // The first value of a repeated name wins; fromEntries keeps a name like `__proto__` an own property.
  const entries = new Map<string, string>();
  if (queryStart >= 0) {
    for (const [name, value] of new URLSearchParams(pathAndQuery.slice(queryStart + 1))) {
      if (!entries.has(name)) entries.set(name, value);
    }
  }
  return { path, query: Object.fromEntries(entries) };
}

/** Decodes one path segment; `undefined` for malformed percent-encoding. */
export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Who may call a simulator from a page, as the service it plays answers preflights. */
export interface CorsPolicy {
  /** Methods a preflight allows. */
  methods: readonly string[];
  /** Request headers a preflight allows; when omitted, whatever the preflight asks for. */
  allowedHeaders?: readonly string[];
  /** Response headers the page may read. */
  exposedHeaders?: readonly string[];
  /**
   * Whether pages may send credentials: deployments that put cookie or bearer authentication in
   * front of an API allow them, and then the calling origin is echoed rather than `*`.
   */
  credentials: boolean;
}

/** CORS headers for every answer: the calling origin is allowed, or anyone when there is none. */
export function corsHeaders(request: IncomingMessage, policy: CorsPolicy): Record<string, string> {
  const origin = request.headers.origin;
  const headers: Record<string, string> = {};
  if (policy.exposedHeaders !== undefined && policy.exposedHeaders.length > 0) {
    headers['Access-Control-Expose-Headers'] = policy.exposedHeaders.join(', ');
  }
  headers.Vary = 'Origin';
  if (typeof origin === 'string' && origin !== '') {
    headers['Access-Control-Allow-Origin'] = origin;
    if (policy.credentials) headers['Access-Control-Allow-Credentials'] = 'true';
  } else {
    headers['Access-Control-Allow-Origin'] = '*';
  }
  return headers;
}

export function preflightHeaders(request: IncomingMessage, policy: CorsPolicy): Record<string, string> {
  const headers: Record<string, string> = {
    ...corsHeaders(request, policy),
    'Access-Control-Allow-Methods': policy.methods.join(', '),
    'Access-Control-Max-Age': '600',
    Vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  };
  const requestedHeaders = request.headers['access-control-request-headers'];
  if (policy.allowedHeaders !== undefined) {
    headers['Access-Control-Allow-Headers'] = policy.allowedHeaders.join(', ');
  } else if (typeof requestedHeaders === 'string' && requestedHeaders !== '') {
    headers['Access-Control-Allow-Headers'] = requestedHeaders;
  }
  // Chromium asks before a public page may call a loopback address.
  if (request.headers['access-control-request-private-network'] === 'true') {
    headers['Access-Control-Allow-Private-Network'] = 'true';
  }
  return headers;
}

/** True when the answer can still be written (the client may have gone away meanwhile). */
function canAnswer(response: ServerResponse): boolean {
  return !response.headersSent && !response.writableEnded && !response.destroyed;
}

/** Merges header sets, later ones winning whatever the letter case of their names. */
function mergeHeaders(...sources: OutgoingHttpHeaders[]): OutgoingHttpHeaders {
  const merged: OutgoingHttpHeaders = {};
  for (const source of sources) {
    for (const [name, value] of Object.entries(source)) {
      if (value !== undefined) merged[name.toLowerCase()] = value;
    }
  }
  return merged;
}

/** Sends a whole answer, never cached: simulators change state between two identical requests. */
function sendRaw(response: ServerResponse, status: number, body: string | Uint8Array | undefined, headers: OutgoingHttpHeaders): void {
  if (!canAnswer(response)) return;
  const payload = status === 204 || status === 304 || body === undefined ? undefined : toBuffer(body);
  response.writeHead(
    status,
    mergeHeaders({ 'Cache-Control': 'no-store' }, headers, payload === undefined ? {} : { 'Content-Length': String(payload.length) }),
  );
  response.end(payload);
}

export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/** Guesses a content type for a raw body that did not name one. */
export function guessContentType(body: string): string {
  const trimmed = body.trimStart();
  if (trimmed.startsWith('<')) return 'text/html; charset=utf-8';
  try {
    JSON.parse(body);
    return 'application/json';
  } catch {
    return 'text/plain; charset=utf-8';
  }
}

/** Resolves true after `ms`, or false at once when `signal` aborts (the simulator closing), releasing the timer. */
export function delay(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const finish = (completed: boolean): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(completed);
    };
    const onAbort = (): void => finish(false);
    const timer = setTimeout(() => finish(true), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * How long after the first bytes of a truncated answer the connection is reset. A reset that
 * arrives with the bytes reads as a clean close in some clients (libuv reports the end of the
 * stream once the peer has hung up), so the client gets a moment to read them first.
 */
const resetPauseMs = 50;

export interface ReplyOptions {
  /** Headers every answer to the request carries, such as CORS. */
  headers: OutgoingHttpHeaders;
  /** Aborts when the simulator closes; a stalled answer ends then. */
  closing: AbortSignal;
  /** The longest a stalled answer holds its connection before destroying it. */
  maxStallMs: number;
  /** Content type of {@link Reply.json} answers; default `application/json`. */
  jsonContentType?: string;
}

/**
 * The answer to one request. Every answer is written through it, so a fault armed for the request
 * can add headers to whatever answers (the API, an error path) and cut its body short.
 */
export class Reply {
  private faultHeaders: OutgoingHttpHeaders = {};
  private truncation: FaultTruncation | undefined;

  constructor(
    readonly request: IncomingMessage,
    readonly response: ServerResponse,
    private readonly options: ReplyOptions,
  ) {}

  /** True while nothing has been sent and the client is still there. */
  get open(): boolean {
    return canAnswer(this.response);
  }

  /** Makes every later answer carry these headers (over any other) and be cut as `truncate` says. */
  alter(fault: { headers?: Record<string, string>; truncate?: FaultTruncation }): void {
    if (fault.headers !== undefined) this.faultHeaders = fault.headers;
    if (fault.truncate !== undefined) this.truncation = fault.truncate;
  }

  send(status: number, body: string | Uint8Array | undefined, headers: OutgoingHttpHeaders = {}): void {
    const merged = mergeHeaders(this.options.headers, headers, this.faultHeaders);
    if (this.truncation !== undefined && body !== undefined && status !== 204 && status !== 304) {
      this.sendTruncated(status, toBuffer(body), merged, this.truncation);
      return;
    }
    sendRaw(this.response, status, body, merged);
  }

  json(status: number, value: unknown, headers: OutgoingHttpHeaders = {}): void {
    this.send(status, JSON.stringify(value), { 'Content-Type': this.options.jsonContentType ?? 'application/json', ...headers });
  }

  text(status: number, body: string, contentType = 'text/plain; charset=utf-8', headers: OutgoingHttpHeaders = {}): void {
    this.send(status, body, { 'Content-Type': contentType, ...headers });
  }

  /** Ends the exchange without any answer, as a gateway that gives up does. */
  drop(): void {
    this.request.socket.destroy();
  }

  /**
   * Promises the whole body (its real Content-Length), sends the first part, then resets the
   * connection or holds it until the client leaves, the simulator closes, or `maxStallMs` passes.
   */
  private sendTruncated(status: number, payload: Buffer, headers: OutgoingHttpHeaders, truncation: FaultTruncation): void {
    const { response } = this;
    if (!canAnswer(response)) return;
    const socket = response.socket;
    if (socket === null) return;
    // At least the last byte stays unsent, so the answer never completes whatever its length.
    const sentBytes = Math.max(0, Math.min(truncation.afterBytes, payload.length - 1));
    response.writeHead(status, mergeHeaders({ 'Cache-Control': 'no-store' }, headers, { 'Content-Length': String(payload.length) }));
    response.write(payload.subarray(0, sentBytes), () => {
      if (truncation.then !== 'reset') return;
      void delay(resetPauseMs, this.options.closing).then((waited) => {
        if (waited && !socket.destroyed) socket.resetAndDestroy();
      });
    });
    if (truncation.then === 'stall') holdUntilReleased(response, socket, this.options.closing, this.options.maxStallMs);
  }
}

function holdUntilReleased(response: ServerResponse, socket: Socket, closing: AbortSignal, maxStallMs: number): void {
  const release = (): void => {
    clearTimeout(timer);
    closing.removeEventListener('abort', release);
    socket.destroy();
  };
  const timer = setTimeout(release, maxStallMs);
  closing.addEventListener('abort', release, { once: true });
  // The client closing its side ends the exchange; the server would otherwise wait for a body it never finishes.
  socket.once('end', release);
  response.once('close', release);
  if (closing.aborted) release();
}

function toBuffer(body: string | Uint8Array): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/**
 * The server under a simulator: malformed HTTP gets a 400, and closing destroys every connection
 * (idle, mid-answer or stalled) and aborts {@link closing}, which wakes every delayed answer.
 */
export class SimulatorHttpServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly closer = new AbortController();
  private closed: Promise<void> | undefined;

  constructor(handle: (request: IncomingMessage, response: ServerResponse) => void) {
    this.server = createServer((request, response) => {
      // A client that goes away mid-body must not become an unhandled error.
      request.on('error', () => {});
      handle(request, response);
    });
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      if (error.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
  }

  /** Aborts when {@link close} starts. */
  get closing(): AbortSignal {
    return this.closer.signal;
  }

  /** Connections open now, whatever their state. */
  get connections(): number {
    return this.sockets.size;
  }

  /** Starts listening; errors after that go to `onError`. */
  listen(port: number, host: string, onError: (error: Error) => void = () => {}): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.server.on('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.closer.abort();
      // Also called when listen failed: the server then reports it was not running, which is fine.
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
    return this.closed;
  }
}
