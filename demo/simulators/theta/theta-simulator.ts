/**
 * A local stand-in for the Theta Video API's livestream calls, served over real HTTP on
 * loopback, with a real RTMP ingest behind its edge ingestors: publishing with a selected
 * key (from OBS or ffmpeg) turns the stream on and makes a real HLS stream of it; stopping
 * ends the playlist, turns the stream off and releases the ingestor, as the real service does.
 *
 * Besides the documented calls it serves the HLS output of each live session at
 * `/hls/{token}/index.m3u8` (a new token each time a stream goes live: that is its
 * `playback_uri`), a player page (`/player/{id}`) and, under `/_control/`, endpoints tests use
 * to inject faults (into API calls, and into the HLS output when a fault's path names it), read
 * the request log, change settings and force a stream's status.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { FaultBook, FaultValidationError, playFault, type FaultLimits, type SimulatorFault } from '../shared/faults.js';
import {
  corsHeaders,
  decodeSegment,
  parseBodyText,
  preflightHeaders,
  readBody,
  Reply,
  SimulatorHttpServer,
  type CorsPolicy,
} from '../shared/http.js';
import { HlsOutputs, hlsPlaylistName } from './hls-output.js';
import { acquireRtmpIngest, type RtmpIngestLease, type RtmpPublish } from './rtmp-ingest.js';
import {
  ThetaService,
  ThetaServiceError,
  type GeoPoint,
  type PresentedCredentials,
  type ThetaIngestorDefinition,
  type ThetaServiceAccount,
} from './theta-service.js';

export type { GeoPoint, ThetaIngestorDefinition, ThetaIngestorState, ThetaServiceAccount } from './theta-service.js';

/**
 * A scripted misbehaviour; see {@link SimulatorFault}. Theta faults cannot add headers. A fault applies to API calls,
 * and to the HLS output (playlists and segments under `/hls/`) only when its `path` is given and matches there, e.g.
 * `{"path": "^/hls/.+\\.m3u8$", "status": 404, "times": 3}`: a preview re-reads its playlist every second or so, and
 * must not use up a fault armed for "the next API call".
 */
export type ThetaFault = SimulatorFault;

export interface ThetaSimulatorOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Port to listen on; default 0 (a free port). */
  port?: number;
  /** Accounts that may call the API; default one account `srvacc_demo` with a generated secret. */
  serviceAccounts?: ThetaServiceAccount[];
  /** The streamer's `[longitude, latitude]` when the caller's address is not in `callerLocations`; default Washington, D.C. */
  location?: GeoPoint;
  /** Caller positions by IP address, looked up from `X-Forwarded-For` then the connection; default {@link defaultCallerLocations}. */
  callerLocations?: Record<string, GeoPoint>;
  /** Edge ingestors on offer; default {@link defaultIngestors}. */
  ingestors?: ThetaIngestorDefinition[];
  /** How long a selection waits for a publisher; default 5 minutes, as the service documents. */
  selectionTtlMs?: number;
  /** Streams per service account; default 3, as the service documents. */
  streamLimit?: number;
  /** Run a real RTMP ingest for the ingestors; default true. Without it streams change status only through `/_control`. */
  rtmp?: boolean;
  /** The ffmpeg that makes HLS of each publish; default `ffmpeg` from the PATH. */
  ffmpegPath?: string;
  /** Where each live session's HLS folder is made; default the system's temporary folder. */
  hlsRoot?: string;
  /** How long an ended session's playlist and segments stay served; default 30 s. */
  hlsRetentionMs?: number;
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
  /** The HLS folders currently held (live sessions and recently ended ones). */
  hlsDirectories(): string[];
  /** Stops HTTP, every ffmpeg and (when no other simulator uses it) RTMP; removes HLS folders, clears timers, destroys connections. */
  close(): Promise<void>;
}

/**
 * A plausible spread of edge ingestors; addresses are from documentation ranges and reach nothing. Seen from the
 * default location the nearest ones are available; further away some are busy, selected (by customers outside this
 * simulator) or unavailable, as real listings show. Ids are mixed-case `0x` addresses like the real ones.
 */
export const defaultIngestors: readonly ThetaIngestorDefinition[] = [
  { id: '0x3F1c9E7a5B2d4C6e8f0A1b3C5d7E9f1a2B4c6D8e', ip: '198.51.100.11', geo: [-77.4874, 39.0438], stakes: 3_000_000 },
  { id: '0xbEc2394AcD1BC7E25ECf9b18bC45efF67249fbE2', ip: '198.51.100.18', geo: [-74.006, 40.7128], stakes: 2_200_000 },
  { id: '0x8a2E4c6B1d3F5a7C9e0B2d4F6a8C0e1B3d5F7a9C', ip: '198.51.100.24', geo: [-95.8608, 41.2619], stakes: 2_000_000 },
  { id: '0x5D7f9B1c3E5a7D9f1B3c5E7a9D1f3B5c7E9a1D3f', ip: '198.51.100.37', geo: [-121.1787, 45.5946], stakes: 1_500_000 },
  { id: '0xFbf553D2ef0BfB80F9eE24D73064b05d60AE49fB', ip: '203.0.113.30', geo: [-0.1276, 51.5072], stakes: 1_800_000, state: 'busy' },
  { id: '0x1B3d5F7a9C2e4A6c8E0f2B4d6F8a0C2e4B6d8F0a', ip: '203.0.113.45', geo: [8.6821, 50.1109], stakes: 2_500_000 },
  { id: '0x9E1a3C5e7B9d1F3a5C7e9B1d3F5a7C9e1B3d5F7b', ip: '203.0.113.58', geo: [-46.6333, -23.5505], stakes: 1_000_000, state: 'selected' },
  { id: '0x7c9E1b3D5f7A9c1E3b5D7f9A1c3E5b7D9f1A3c5E', ip: '203.0.113.61', geo: [139.6917, 35.6895], stakes: 1_200_000 },
  { id: '0x213ca87f7aB37Dad74DA1e059223881Dc7b28751', ip: '203.0.113.66', geo: [103.8198, 1.3521], stakes: 900_000, state: 'busy' },
  {
    id: '0x2C4e6A8c0E2a4C6e8A0c2E4a6C8e0A2c4E6a8C0e',
    ip: '203.0.113.77',
    geo: [151.2093, -33.8688],
    stakes: 800_000,
    state: 'unavailable',
  },
];

/** Washington, D.C., near the ingestors the service's own examples list. */
export const defaultLocation: GeoPoint = [-77.0369, 38.9072];

/**
 * Where callers are, by address (documentation ranges): a proxy that passes a streamer's address on in
 * `X-Forwarded-For` moves "nearest first" to that streamer. Any other address is at {@link defaultLocation}.
 */
export const defaultCallerLocations: Readonly<Record<string, GeoPoint>> = {
  '192.0.2.10': [-77.0369, 38.9072], // Washington, D.C.
  '192.0.2.20': [8.6821, 50.1109], // Frankfurt
  '192.0.2.30': [139.6917, 35.6895], // Tokyo
  '192.0.2.40': [-46.6333, -23.5505], // São Paulo
  '192.0.2.50': [151.2093, -33.8688], // Sydney
  '192.0.2.60': [-122.4194, 37.7749], // San Francisco
  '2001:db8::20': [8.6821, 50.1109], // Frankfurt
};
export const defaultSelectionTtlMs = 5 * 60 * 1000;
export const defaultStreamLimit = 3;

const maxRequestBodyBytes = 64 * 1024;
const maxLoggedRequests = 1000;
/** Pages may call the public API directly, with the headers it documents and without cookies. */
const thetaCors: CorsPolicy = {
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
  allowedHeaders: ['Content-Type', 'Accept', 'x-tva-sa-id', 'x-tva-sa-secret'],
  credentials: false,
};
/**
 * Delays reach well past the client's default 15 s timeout, and past the minute a slow unselect may take
 * (`{"path": "/unselect$", "delayMs": 60000}`: the unselect happens, and is answered, after the delay),
 * without wedging a run.
 */
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
  request: IncomingMessage;
}

type ApiHandler = (call: ApiCall) => unknown;

interface ApiRoute {
  pattern: RegExp;
  methods: Record<string, ApiHandler>;
}

/** An answer in the Theta API's envelope: `{"status": "error", "message": "..."}` for failures. */
class ThetaReply extends Reply {
  error(status: number, message: string, headers: OutgoingHttpHeaders = {}): void {
    this.json(status, { status: 'error', message }, headers);
  }
}

export async function startThetaSimulator(options: ThetaSimulatorOptions = {}): Promise<ThetaSimulator> {
  const lease: RtmpIngestLease | null = options.rtmp === false ? null : await acquireRtmpIngest();
  const simulator = new ThetaSimulatorServer(options, lease);
  try {
    await simulator.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  } catch (error) {
    await simulator.close();
    throw error;
  }
  return simulator;
}

class ThetaSimulatorServer implements ThetaSimulator {
  readonly serviceAccounts: ThetaServiceAccount[];
  readonly service: ThetaService;
  readonly faults = new FaultBook(thetaFaultLimits);
  private readonly http = new SimulatorHttpServer((request, response) => void this.handle(request, response));
  private readonly hls: HlsOutputs;
  private readonly requests: ThetaRequestLogEntry[] = [];
  private readonly routes: ApiRoute[];
  private baseUrl = '';
  private closed: Promise<void> | undefined;

  constructor(
    options: ThetaSimulatorOptions,
    private readonly lease: RtmpIngestLease | null,
  ) {
    this.serviceAccounts = (options.serviceAccounts ?? [{ id: 'srvacc_demo', secret: randomBytes(16).toString('hex') }]).map((account) => ({
      ...account,
    }));
    this.hls = new HlsOutputs({ ffmpegPath: options.ffmpegPath, root: options.hlsRoot, retentionMs: options.hlsRetentionMs });
    this.service = new ThetaService(
      {
        serviceAccounts: this.serviceAccounts,
        ingestors: (options.ingestors ?? defaultIngestors).map((ingestor) => ({ ...ingestor, geo: [...ingestor.geo] })),
        location: options.location ?? defaultLocation,
        callerLocations: { ...(options.callerLocations ?? defaultCallerLocations) },
        selectionTtlMs: options.selectionTtlMs ?? defaultSelectionTtlMs,
        streamLimit: options.streamLimit ?? defaultStreamLimit,
      },
      {
        // Without RTMP the answer keeps the real service's shape but points nowhere reachable.
        streamServerFor: (ingestor) => lease?.publishUrl ?? `rtmp://${ingestor.ip}:1935/live`,
        keyIssued: (streamKey) =>
          lease?.route(streamKey, {
            onPublishStart: (publish: RtmpPublish) => this.service.startPublish(publish),
            onPublishEnd: (publish: RtmpPublish) => this.service.endPublish(publish),
          }),
        keyRevoked: (streamKey) => lease?.unroute(streamKey),
        startPlayback: (_streamId, publish) => {
          // The packager plays the publish back from the ingest, on the key it was published with.
          const token = publish && lease ? this.hls.startFromRtmp(`${lease.publishUrl}/${publish.streamKey}`) : this.hls.startPlaceholder();
          return { uri: `${this.baseUrl}/hls/${token}/${hlsPlaylistName}`, end: () => this.hls.end(token) };
        },
        playerUriFor: (streamId) => `${this.baseUrl}/player/${streamId}`,
      },
    );
    this.routes = this.apiRoutes();
  }

  get url(): string {
    return this.baseUrl;
  }

  get rtmpUrl(): string | null {
    return this.lease?.publishUrl ?? null;
  }

  async listen(port: number, host: string): Promise<void> {
    const address = await this.http.listen(port, host);
    this.baseUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  }

  requestLog(): ThetaRequestLogEntry[] {
    return this.requests.map((entry) => ({ ...entry, headerNames: [...entry.headerNames] }));
  }

  hlsDirectories(): string[] {
    return this.hls.directories();
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      const serverClosed = this.http.close();
      this.service.close();
      await serverClosed;
      await this.hls.close();
      await this.lease?.release();
    })();
    return this.closed;
  }

  private apiRoutes(): ApiRoute[] {
    const { service } = this;
    return [
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
          GET: ({ credentials, query, request }) => {
            service.requireAccount(credentials);
            const forwardedFor = request.headers['x-forwarded-for'];
            return service.listIngestors({
              forwardedFor: Array.isArray(forwardedFor) ? forwardedFor[0] : forwardedFor,
              remoteAddress: request.socket.remoteAddress,
              maxDistance: query.get('max_distance'),
            });
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
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const reply = new ThetaReply(request, response, {
      headers: corsHeaders(request, thetaCors),
      closing: this.http.closing,
      maxStallMs: thetaFaultLimits.maxDelayMs,
      jsonContentType: 'application/json; charset=utf-8',
    });
    if (request.method === 'OPTIONS') {
      reply.send(204, undefined, preflightHeaders(request, thetaCors));
      return;
    }
    const url = requestUrl(request);
    if (url === undefined) {
      reply.error(400, 'Malformed request target', { Connection: 'close' });
      return;
    }
    try {
      if (url.pathname.startsWith('/_control/')) {
        await this.handleControl(reply, url);
        return;
      }
      const playerMatch = /^\/player\/([^/]+)$/.exec(url.pathname);
      if (playerMatch && request.method === 'GET') {
        this.handlePlayerPage(reply, pathParam(playerMatch[1]));
        return;
      }
      const hlsMatch = /^\/hls\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      if (hlsMatch && (request.method === 'GET' || request.method === 'HEAD')) {
        const fault = this.takeHlsFault(request.method, url.pathname);
        if (fault && (await playFault(fault, reply, { closing: this.http.closing, defaultBody: injectedFaultBody }))) return;
        await this.handleHls(reply, hlsMatch[1], hlsMatch[2]);
        return;
      }
      await this.handleApi(reply, url);
    } catch (error) {
      if (!reply.open) return;
      if (error instanceof ThetaServiceError || error instanceof RequestBodyError) {
        reply.error(error.status, error.message);
      } else if (error instanceof FaultValidationError) {
        reply.error(400, error.message);
      } else {
        reply.error(500, 'Internal simulator error');
      }
    }
  }

  private async handleApi(reply: ThetaReply, url: URL): Promise<void> {
    const { request } = reply;
    const method = request.method ?? 'GET';
    this.requests.push({
      time: new Date().toISOString(),
      method,
      path: url.pathname,
      query: url.search,
      headerNames: Object.keys(request.headers).sort(),
    });
    if (this.requests.length > maxLoggedRequests) this.requests.splice(0, this.requests.length - maxLoggedRequests);

    const fault = this.faults.take(method, url.pathname);
    if (fault && (await playFault(fault, reply, { closing: this.http.closing, defaultBody: injectedFaultBody }))) return;

    const route = this.routes.find((candidate) => candidate.pattern.test(url.pathname));
    if (!route) {
      reply.error(404, `No such API call: ${method} ${url.pathname}`);
      return;
    }
    const handler = route.methods[method];
    if (!handler) {
      reply.error(405, `Method ${method} is not allowed here`, { Allow: Object.keys(route.methods).join(', ') });
      return;
    }
    const params = (route.pattern.exec(url.pathname) ?? []).slice(1).map(pathParam);
    const body = method === 'POST' || method === 'PUT' ? await readJson(request) : undefined;
    const result = handler({ params, query: url.searchParams, credentials: credentialsOf(request), body, request });
    reply.json(200, { status: 'success', body: result });
  }

  private async handleControl(reply: ThetaReply, url: URL): Promise<void> {
    const { request } = reply;
    const { faults, service } = this;
    const method = request.method ?? 'GET';
    const path = url.pathname;
    if (path === '/_control/faults') {
      if (method === 'POST') {
        const armed = faults.add(await readJson(request));
        return reply.json(200, { armed, faults: faults.list() });
      }
      if (method === 'DELETE') {
        faults.clear();
        return reply.send(204, undefined);
      }
      if (method === 'GET') return reply.json(200, { faults: faults.list() });
    }
    if (path === '/_control/requests') {
      if (method === 'GET') return reply.json(200, { requests: this.requests });
      if (method === 'DELETE') {
        this.requests.length = 0;
        return reply.send(204, undefined);
      }
    }
    if (path === '/_control/options') {
      if (method === 'POST') {
        applyOptions(service, await readJson(request));
        return reply.json(200, { options: currentOptions(service) });
      }
      if (method === 'GET') return reply.json(200, { options: currentOptions(service) });
    }
    if (path === '/_control/state' && method === 'GET') return reply.json(200, service.snapshot());
    const statusMatch = /^\/_control\/streams\/([^/]+)\/status$/.exec(path);
    if (statusMatch && method === 'POST') {
      const body = await readJson(request);
      const status = typeof body === 'object' && body !== null ? (body as { status?: unknown }).status : undefined;
      return reply.json(200, { stream: service.forceStatus(pathParam(statusMatch[1]), status) });
    }
    reply.error(404, `No such control call: ${method} ${path}`);
  }

  private handlePlayerPage(reply: ThetaReply, streamId: string): void {
    const stream = this.service.streamById(streamId);
    if (!stream) {
      reply.text(404, 'Stream not found');
      return;
    }
    const title = escapeHtml(stream.name);
    const playlist = stream.playbackUri === null ? null : escapeHtml(stream.playbackUri);
    // Native HLS only (Safari, Chromium with HLS support): the page stands in for the hosted player, not for a player library.
    const player =
      playlist === null
        ? '<p>The stream is not live.</p>'
        : `<video src="${playlist}" controls muted autoplay playsinline style="max-width: 100%"></video>
<p>The HLS playlist is <a href="${playlist}">${playlist}</a>.</p>`;
    const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; margin: 2rem">
<h1>${title}</h1>
<p>Status: <strong>${stream.status === 'on' ? 'live' : 'offline'}</strong></p>
<p>Simulated player: this page stands in for the hosted player.</p>
${player}
</body>
</html>
`;
    reply.text(200, page, 'text/html; charset=utf-8');
  }

  /**
   * The fault for an HLS request: the first armed fault it matches, when that fault names a path. A fault without a
   * path is left to the API, and while one that would match is armed ahead, HLS requests are served as they are.
   */
  private takeHlsFault(method: string, path: string): ThetaFault | undefined {
    const first = this.faults
      .list()
      .find(
        (fault) =>
          (fault.method === undefined || fault.method.toUpperCase() === method) &&
          (fault.path === undefined || new RegExp(fault.path).test(path)),
      );
    return first?.path === undefined ? undefined : this.faults.take(method, path);
  }

  /** A playlist or segment of a live (or recently ended) session; 404 until ffmpeg has written it, and after. */
  private async handleHls(reply: ThetaReply, token: string, name: string): Promise<void> {
    // Players on any page must be able to fetch it (hls.js uses fetch/XHR), as from the real service's CDN.
    const cors = { 'Access-Control-Allow-Origin': '*' };
    const file = await this.hls.read(token, name);
    if (!file) {
      reply.text(404, 'Not found', undefined, cors);
      return;
    }
    // A live playlist changes every second; a segment never changes once listed. Node leaves the body out for HEAD.
    const cacheControl = file.contentType === 'video/mp2t' ? 'public, max-age=60' : 'no-cache';
    reply.send(200, file.body, { ...cors, 'Content-Type': file.contentType, 'Cache-Control': cacheControl });
  }
}

/** The body of a fault that gives a status but no body, in the API's error envelope. */
function injectedFaultBody(status: number): string {
  return JSON.stringify({ status: 'error', message: `Injected fault: ${status}` });
}

function credentialsOf(request: IncomingMessage): PresentedCredentials {
  const header = (name: string) => {
    const value = request.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  return { id: header('x-tva-sa-id'), secret: header('x-tva-sa-secret') };
}

/** The request's target as a URL; `undefined` for one no URL can be made of, such as `//`. */
function requestUrl(request: IncomingMessage): URL | undefined {
  try {
    return new URL(request.url ?? '/', 'http://simulator.invalid');
  } catch {
    return undefined;
  }
}

/** A path parameter, decoded; malformed percent-encoding is kept as sent, and then matches nothing. */
function pathParam(segment: string): string {
  return decodeSegment(segment) ?? segment;
}

/** The JSON body of a call, `undefined` when there is none; a bad body fails the call as the service does. */
async function readJson(request: IncomingMessage): Promise<unknown> {
  const read = await readBody(request, maxRequestBodyBytes);
  if (read.kind === 'too-large') throw new RequestBodyError(413, `Request body exceeds ${maxRequestBodyBytes} bytes`);
  // The client is gone: nobody reads this answer.
  if (read.kind === 'aborted') throw new RequestBodyError(400, 'The request body was cut off');
  const body = parseBodyText(read.text);
  if (!body.json && body.value !== null) throw new RequestBodyError(400, 'Invalid JSON body');
  return body.json ? body.value : undefined;
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

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
