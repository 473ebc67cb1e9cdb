/**
 * A local stand-in for the Theta Video API's livestream calls, served over real HTTP on
 * loopback, with a real RTMP ingest behind its edge ingestors: publishing with a selected
 * key (from OBS or ffmpeg) turns the stream on, stopping turns it off.
 *
 * Besides the documented calls it serves a player page (`/player/{id}`), a placeholder HLS
 * playlist (`/hls/{id}/master.m3u8`) and, under `/_control/`, endpoints tests use to inject
 * faults, read the request log, change settings and force a stream's status.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { FaultBook, FaultValidationError, faultAnswers, type FaultLimits, type SimulatorFault } from '../shared/faults.js';
import { acquireRtmpIngest, type RtmpIngestLease, type RtmpPublish } from './rtmp-ingest.js';
import {
  ThetaService,
  ThetaServiceError,
  type GeoPoint,
  type PresentedCredentials,
  type ThetaIngestorDefinition,
  type ThetaServiceAccount,
} from './theta-service.js';

export type { GeoPoint, ThetaIngestorDefinition, ThetaServiceAccount } from './theta-service.js';

/** A scripted misbehaviour for API requests; see {@link SimulatorFault}. Theta faults cannot add headers. */
export type ThetaFault = SimulatorFault;

export interface ThetaSimulatorOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Port to listen on; default 0 (a free port). */
  port?: number;
  /** Accounts that may call the API; default one account `srvacc_demo` with a generated secret. */
  serviceAccounts?: ThetaServiceAccount[];
  /** The streamer's `[longitude, latitude]`; default Washington, D.C. */
  location?: GeoPoint;
  /** Edge ingestors on offer; default {@link defaultIngestors}. */
  ingestors?: ThetaIngestorDefinition[];
  /** How long a selection waits for a publisher; default 5 minutes, as the service documents. */
  selectionTtlMs?: number;
  /** Streams per service account; default 3, as the service documents. */
  streamLimit?: number;
  /** Run a real RTMP ingest for the ingestors; default true. Without it streams change status only through `/_control`. */
  rtmp?: boolean;
}

export interface ThetaRequestLogEntry {
  time: string;
  method: string;
  path: string;
  /** The query string, `?` included, or empty. */
  query: string;
  /** Lower-case names of the headers received; values are never recorded, so no secret is either. */
  headerNames: string[];
}

export interface ThetaSimulator {
  /** The API base, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The ingest's stream server, e.g. `rtmp://127.0.0.1:41935/live`; null when RTMP is off. */
  readonly rtmpUrl: string | null;
  readonly serviceAccounts: readonly ThetaServiceAccount[];
  readonly service: ThetaService;
  readonly faults: FaultBook;
  /** API requests received so far, oldest first. */
  requestLog(): ThetaRequestLogEntry[];
  /** Stops HTTP and (when no other simulator uses it) RTMP, clears timers, destroys connections. */
  close(): Promise<void>;
}

/** A plausible spread of edge ingestors; addresses are from documentation ranges and reach nothing. */
export const defaultIngestors: readonly ThetaIngestorDefinition[] = [
  { id: '0x3f1c9e7a5b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e', ip: '198.51.100.11', geo: [-77.4874, 39.0438], stakes: 3_000_000 },
  { id: '0x8a2e4c6b1d3f5a7c9e0b2d4f6a8c0e1b3d5f7a9c', ip: '198.51.100.24', geo: [-95.8608, 41.2619], stakes: 2_000_000 },
  { id: '0x5d7f9b1c3e5a7d9f1b3c5e7a9d1f3b5c7e9a1d3f', ip: '198.51.100.37', geo: [-121.1787, 45.5946], stakes: 1_500_000 },
  { id: '0x1b3d5f7a9c2e4a6c8e0f2b4d6f8a0c2e4b6d8f0a', ip: '203.0.113.45', geo: [8.6821, 50.1109], stakes: 2_500_000 },
  { id: '0x9e1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7b', ip: '203.0.113.58', geo: [-46.6333, -23.5505], stakes: 1_000_000 },
  { id: '0x7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e', ip: '203.0.113.61', geo: [139.6917, 35.6895], stakes: 1_200_000 },
  { id: '0x2c4e6a8c0e2a4c6e8a0c2e4a6c8e0a2c4e6a8c0e', ip: '203.0.113.77', geo: [151.2093, -33.8688], stakes: 800_000, state: 'offline' },
];

/** Washington, D.C., near the ingestors the service's own examples list. */
export const defaultLocation: GeoPoint = [-77.0369, 38.9072];
export const defaultSelectionTtlMs = 5 * 60 * 1000;
export const defaultStreamLimit = 3;

const maxRequestBodyBytes = 64 * 1024;
const maxLoggedRequests = 1000;
const corsAllowedHeaders = 'Content-Type, Accept, x-tva-sa-id, x-tva-sa-secret';
const corsAllowedMethods = 'GET, POST, PUT, DELETE, OPTIONS';
/** Delays reach well past the client's default 15 s timeout without wedging a run. */
const thetaFaultLimits: FaultLimits = { maxDelayMs: 120_000, allowHeaders: false };

class RequestBodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface ApiCall {
  params: string[];
  query: URLSearchParams;
  credentials: PresentedCredentials;
  body: unknown;
}

type ApiHandler = (call: ApiCall) => unknown;

interface ApiRoute {
  pattern: RegExp;
  methods: Record<string, ApiHandler>;
}

export async function startThetaSimulator(options: ThetaSimulatorOptions = {}): Promise<ThetaSimulator> {
  const host = options.host ?? '127.0.0.1';
  const serviceAccounts = (options.serviceAccounts ?? [{ id: 'srvacc_demo', secret: randomBytes(16).toString('hex') }]).map((account) => ({
    ...account,
  }));
  const lease: RtmpIngestLease | null = options.rtmp === false ? null : await acquireRtmpIngest();
  let baseUrl = '';
  const service = new ThetaService(
    {
      serviceAccounts,
      ingestors: (options.ingestors ?? defaultIngestors).map((ingestor) => ({ ...ingestor, geo: [...ingestor.geo] })),
      location: options.location ?? defaultLocation,
      selectionTtlMs: options.selectionTtlMs ?? defaultSelectionTtlMs,
      streamLimit: options.streamLimit ?? defaultStreamLimit,
    },
    {
      // Without RTMP the answer keeps the real service's shape but points nowhere reachable.
      streamServerFor: (ingestor) => lease?.publishUrl ?? `rtmp://${ingestor.ip}:1935/live`,
      keyIssued: (streamKey) =>
        lease?.route(streamKey, {
          onPublishStart: (publish: RtmpPublish) => service.startPublish(publish),
          onPublishEnd: (publish: RtmpPublish) => service.endPublish(publish),
        }),
      keyRevoked: (streamKey) => lease?.unroute(streamKey),
      playbackUriFor: (streamId) => `${baseUrl}/hls/${streamId}/master.m3u8`,
      playerUriFor: (streamId) => `${baseUrl}/player/${streamId}`,
    },
  );
  const faults = new FaultBook(thetaFaultLimits);
  const requests: ThetaRequestLogEntry[] = [];
  const closing = new AbortController();

  const routes: ApiRoute[] = [
    {
      pattern: /^\/stream$/,
      methods: {
        POST: ({ credentials, body }) => service.createStream(service.requireAccount(credentials), body),
      },
    },
    {
      pattern: /^\/stream\/([^/]+)$/,
      methods: {
        GET: ({ params, credentials }) => service.getStream(params[0], service.identify(credentials)),
        DELETE: ({ params, credentials }) => {
          service.deleteStream(params[0], service.requireAccount(credentials));
          return {};
        },
      },
    },
    {
      pattern: /^\/service_account\/([^/]+)\/streams$/,
      methods: {
        GET: ({ params, credentials, query }) => service.listStreams(params[0], service.requireAccount(credentials), query.get('status')),
      },
    },
    {
      pattern: /^\/ingestor\/filter$/,
      methods: {
        GET: ({ credentials }) => {
          service.requireAccount(credentials);
          return service.listIngestors();
        },
      },
    },
    {
      pattern: /^\/ingestor\/([^/]+)\/select$/,
      methods: {
        PUT: ({ params, credentials, body }) => service.selectIngestor(params[0], service.requireAccount(credentials), body),
      },
    },
    {
      pattern: /^\/ingestor\/([^/]+)\/unselect$/,
      methods: {
        PUT: ({ params, credentials }) => service.unselectIngestor(params[0], service.requireAccount(credentials)),
      },
    },
  ];

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    requests.push({
      time: new Date().toISOString(),
      method,
      path: url.pathname,
      query: url.search,
      headerNames: Object.keys(req.headers).sort(),
    });
    if (requests.length > maxLoggedRequests) requests.splice(0, requests.length - maxLoggedRequests);

    const fault = faults.take(method, url.pathname);
    if (fault) {
      if (fault.delayMs) await sleep(fault.delayMs, closing.signal);
      if (closing.signal.aborted) return;
      if (faultAnswers(fault)) {
        answerWithFault(req, res, fault);
        return;
      }
    }

    const route = routes.find((candidate) => candidate.pattern.test(url.pathname));
    if (!route) {
      sendJson(res, 404, { status: 'error', message: `No such API call: ${method} ${url.pathname}` });
      return;
    }
    const handler = route.methods[method];
    if (!handler) {
      res.setHeader('Allow', Object.keys(route.methods).join(', '));
      sendJson(res, 405, { status: 'error', message: `Method ${method} is not allowed here` });
      return;
    }
    const params = (route.pattern.exec(url.pathname) ?? []).slice(1).map(decodeSegment);
    const body = method === 'POST' || method === 'PUT' ? await readJsonBody(req) : undefined;
    const result = handler({ params, query: url.searchParams, credentials: credentialsOf(req), body });
    sendJson(res, 200, { status: 'success', body: result });
  }

  async function handleControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const path = url.pathname;
    if (path === '/_control/faults') {
      if (method === 'POST') {
        const armed = faults.add(await readJsonBody(req));
        sendJson(res, 200, { armed, faults: faults.list() });
        return;
      }
      if (method === 'DELETE') {
        faults.clear();
        res.writeHead(204).end();
        return;
      }
      if (method === 'GET') {
        sendJson(res, 200, { faults: faults.list() });
        return;
      }
    }
    if (path === '/_control/requests') {
      if (method === 'GET') {
        sendJson(res, 200, { requests });
        return;
      }
      if (method === 'DELETE') {
        requests.length = 0;
        res.writeHead(204).end();
        return;
      }
    }
    if (path === '/_control/options') {
      if (method === 'POST') {
        applyOptions(service, await readJsonBody(req));
        sendJson(res, 200, { options: currentOptions(service) });
        return;
      }
      if (method === 'GET') {
        sendJson(res, 200, { options: currentOptions(service) });
        return;
      }
    }
    if (path === '/_control/state' && method === 'GET') {
      sendJson(res, 200, service.snapshot());
      return;
    }
    const statusMatch = /^\/_control\/streams\/([^/]+)\/status$/.exec(path);
    if (statusMatch && method === 'POST') {
      const body = await readJsonBody(req);
      const status = typeof body === 'object' && body !== null ? (body as { status?: unknown }).status : undefined;
      sendJson(res, 200, { stream: service.forceStatus(decodeSegment(statusMatch[1]), status) });
      return;
    }
    sendJson(res, 404, { status: 'error', message: `No such control call: ${method} ${path}` });
  }

  function handlePlayerPage(res: ServerResponse, streamId: string): void {
    const stream = service.streamById(streamId);
    if (!stream) {
      sendText(res, 404, 'text/plain; charset=utf-8', 'Stream not found');
      return;
    }
    const title = escapeHtml(stream.name);
    const playlist = escapeHtml(`${baseUrl}/hls/${streamId}/master.m3u8`);
    const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; margin: 2rem">
<h1>${title}</h1>
<p>Status: <strong>${stream.status === 'on' ? 'live' : 'offline'}</strong></p>
<p>Simulated player: this page stands in for the hosted player; the HLS playlist is
<a href="${playlist}">${playlist}</a>.</p>
</body>
</html>
`;
    sendText(res, 200, 'text/html; charset=utf-8', page);
  }

  function handlePlaylist(res: ServerResponse, streamId: string): void {
    const stream = service.streamById(streamId);
    if (!stream || stream.status !== 'on') {
      sendText(res, 404, 'text/plain; charset=utf-8', 'Stream is not live');
      return;
    }
    // A live playlist that has no segments yet: enough for links and players to probe.
    sendText(res, 200, 'application/vnd.apple.mpegurl', '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    addCorsHeaders(req, res);
    res.setHeader('Cache-Control', 'no-store');
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    try {
      if (url.pathname.startsWith('/_control/')) {
        await handleControl(req, res, url);
        return;
      }
      const playerMatch = /^\/player\/([^/]+)$/.exec(url.pathname);
      if (playerMatch && req.method === 'GET') {
        handlePlayerPage(res, decodeSegment(playerMatch[1]));
        return;
      }
      const playlistMatch = /^\/hls\/([^/]+)\/master\.m3u8$/.exec(url.pathname);
      if (playlistMatch && req.method === 'GET') {
        handlePlaylist(res, decodeSegment(playlistMatch[1]));
        return;
      }
      await handleApi(req, res, url);
    } catch (error) {
      if (res.headersSent || res.destroyed) return;
      if (error instanceof ThetaServiceError || error instanceof RequestBodyError) {
        sendJson(res, error.status, { status: 'error', message: error.message });
      } else if (error instanceof FaultValidationError) {
        sendJson(res, 400, { status: 'error', message: error.message });
      } else {
        sendJson(res, 500, { status: 'error', message: 'Internal simulator error' });
      }
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    service.close();
    await lease?.release();
    throw error;
  }
  const address = server.address() as AddressInfo;
  baseUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  let closed: Promise<void> | null = null;
  return {
    url: baseUrl,
    rtmpUrl: lease?.publishUrl ?? null,
    serviceAccounts,
    service,
    faults,
    requestLog: () => requests.map((entry) => ({ ...entry, headerNames: [...entry.headerNames] })),
    close() {
      closed ??= (async () => {
        closing.abort();
        service.close();
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await serverClosed;
        await lease?.release();
      })();
      return closed;
    },
  };
}

function credentialsOf(req: IncomingMessage): PresentedCredentials {
  const header = (name: string) => {
    const value = req.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  return { id: header('x-tva-sa-id'), secret: header('x-tva-sa-secret') };
}

/** Every answer allows the calling page: the simulator plays the public API, which pages may call directly. */
function addCorsHeaders(req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers.origin;
  res.setHeader('Access-Control-Allow-Origin', typeof origin === 'string' && origin !== '' ? origin : '*');
  res.setHeader('Vary', 'Origin');
  res.setHeader('Access-Control-Allow-Methods', corsAllowedMethods);
  res.setHeader('Access-Control-Allow-Headers', corsAllowedHeaders);
  res.setHeader('Access-Control-Max-Age', '600');
}

function answerWithFault(req: IncomingMessage, res: ServerResponse, fault: ThetaFault): void {
  if (fault.drop) {
    req.socket.destroy();
    return;
  }
  const status = fault.status ?? 500;
  const body = fault.body ?? JSON.stringify({ status: 'error', message: `Injected fault: ${status}` });
  sendText(res, status, faultContentType(fault), body);
}

/** The content type a fault's body is sent with: JSON when it parses as JSON, else plain text. */
function faultContentType(fault: ThetaFault): string {
  if (fault.contentType !== undefined) return fault.contentType;
  if (fault.body === undefined) return 'application/json';
  try {
    JSON.parse(fault.body);
    return 'application/json';
  } catch {
    return 'text/plain; charset=utf-8';
  }
}

function applyOptions(service: ThetaService, input: unknown): void {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new RequestBodyError(400, 'Options must be a JSON object');
  }
  const patch = input as Record<string, unknown>;
  const known = new Set(['selectionTtlMs', 'streamLimit', 'location']);
  for (const key of Object.keys(patch)) {
    if (!known.has(key)) throw new RequestBodyError(400, `${key} is not a simulator option (known: ${[...known].join(', ')})`);
  }
  const { selectionTtlMs, streamLimit, location } = patch;
  if (selectionTtlMs !== undefined) {
    if (typeof selectionTtlMs !== 'number' || !Number.isFinite(selectionTtlMs) || selectionTtlMs < 1 || selectionTtlMs > 2 ** 31 - 1) {
      throw new RequestBodyError(400, 'selectionTtlMs must be a positive number of milliseconds');
    }
  }
  if (streamLimit !== undefined) {
    if (typeof streamLimit !== 'number' || !Number.isSafeInteger(streamLimit) || streamLimit < 0) {
      throw new RequestBodyError(400, 'streamLimit must be a non-negative integer');
    }
  }
  if (location !== undefined && !isGeoPoint(location)) {
    throw new RequestBodyError(400, 'location must be [longitude, latitude]');
  }
  // Validated as a whole first, so a bad field changes nothing.
  if (typeof selectionTtlMs === 'number') service.settings.selectionTtlMs = selectionTtlMs;
  if (typeof streamLimit === 'number') service.settings.streamLimit = streamLimit;
  if (isGeoPoint(location)) service.settings.location = [location[0], location[1]];
}

function currentOptions(service: ThetaService): { selectionTtlMs: number; streamLimit: number; location: GeoPoint } {
  const { selectionTtlMs, streamLimit, location } = service.settings;
  return { selectionTtlMs, streamLimit, location };
}

function isGeoPoint(value: unknown): value is GeoPoint {
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    typeof value[0] === 'number' &&
    typeof value[1] === 'number' &&
    Math.abs(value[0]) <= 180 &&
    Math.abs(value[1]) <= 90
  );
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxRequestBodyBytes) throw new RequestBodyError(413, `Request body exceeds ${maxRequestBodyBytes} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new RequestBodyError(400, 'Invalid JSON body');
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

function sendText(res: ServerResponse, status: number, contentType: string, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Resolves after `ms`, or at once when the simulator closes. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
