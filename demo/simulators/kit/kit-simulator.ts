/**
 * A Kit App Streaming API server (NVIDIA Omniverse Application Streaming) for tests and demos:
 * it creates, reports, lists and terminates streaming sessions, serves the app catalogue,
 * answers with FastAPI-style errors, and can be told to misbehave like a real gateway.
 *
 * The API lives under an optional path prefix; control endpoints for tests live at
 * `/_control/...` on the same origin.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { FaultBook, FaultValidationError, playFault, type FaultLimits, type SimulatorFault } from '../shared/faults.js';
import {
  corsHeaders,
  decodeSegment,
  parseBodyText,
  preflightHeaders,
  readBody,
  reasonPhrase,
  Reply,
  SimulatorHttpServer,
  splitTarget,
  type CorsPolicy,
  type ParsedBody,
} from '../shared/http.js';
import {
  defaultKitCatalogue,
  describeApp,
  describeProfile,
  findApp,
  findVersion,
  parseCatalogue,
  type KitAppCatalogue,
} from './catalogue.js';
import { reservedPortsMedia } from './reserved-ports-media.js';
import { checkPage, checkStreamRequest, paginate, type StreamRequest, type ValidationIssue } from './validation.js';

export type { KitApp, KitAppCatalogue, KitAppProfile, KitAppVersion } from './catalogue.js';
export { defaultKitCatalogue } from './catalogue.js';
export { reservedPortsMedia } from './reserved-ports-media.js';

/** A scripted misbehaviour for API requests; see {@link SimulatorFault}. */
export type KitFault = SimulatorFault;

export interface KitPortPair {
  sourcePort: number;
  destinationPort: number;
}

/** The streaming endpoints of one session: what its routes point at. */
export interface KitSessionMedia {
  /** TCP: the WebSocket signaling server. */
  signaling: KitPortPair;
  /** UDP: WebRTC media. */
  media: KitPortPair;
  close(): Promise<void>;
  /** Misbehaviours such as 'drop-signaling', 'stop-media', 'resume-media', 'refuse-ice', 'peer-removed'. */
  fault?(kind: string): Promise<void> | void;
  /** Application messages the streamed app received. */
  messages?(): unknown[];
  /** What the media records, by name: 'input', 'envelopes', 'violations', ...; throws for an unknown name. */
  inspect?(name: string): unknown;
  /** Client connections currently open. */
  connections?(): number;
}

export interface KitMediaSessionInfo {
  id: string;
  usdStageUri?: string;
  routeIp: string;
  appId: string;
  profile: string;
  version: string;
}

export type KitMediaFactory = (session: KitMediaSessionInfo) => Promise<KitSessionMedia>;

export type KitRoutesShape = 'flat' | 'nested';
export type KitTerminateForms = 'both' | 'path' | 'body';

export interface KitSimulatorOptions {
  /** Bind address; default '127.0.0.1'. */
  host?: string;
  /** Default 0: a free port chosen when the server starts. */
  port?: number;
  /** Path prefix of the API, e.g. '/streaming' serves `POST /streaming/stream`; default ''. */
  prefix?: string;
  /** Time from `POST /stream` until the session is ready; 0 makes the POST answer 200 with routes. Default 3000. */
  readyAfterMs?: number;
  /** The address routes name; default '127.0.0.1'. */
  routeIp?: string;
  /** 'flat' = documented `{ip: [route...]}`; 'nested' = `{ip: {routes: [route...]}}` as NVIDIA's sample reads. Default 'flat'. */
  routesShape?: KitRoutesShape;
  /** Most sessions alive at once; default 4. */
  sessionLimit?: number;
  /** When set, pending (202) answers carry `Retry-After` with this many seconds. */
  retryAfterSeconds?: number;
  /** Which terminate calls exist: 'path' = `DELETE /stream/{id}`, 'body' = `DELETE /stream {"id"}`; default 'both'. */
  terminateForms?: KitTerminateForms;
  /** Creates a ready session's media; default {@link reservedPortsMedia}. */
  media?: KitMediaFactory;
  /** Streamable applications; default {@link defaultKitCatalogue}. */
  apps?: KitAppCatalogue;
  log?: (line: string) => void;
}

/** The request headers kept in the log: authentication, content type, origin and every `x-*` header. */
export interface RequestLogHeaders {
  authorization?: string;
  cookie?: string;
  'content-type'?: string;
  origin?: string;
  [name: string]: string | undefined;
}

export interface RequestLogEntry {
  /** Arrival time, milliseconds since the epoch. */
  time: number;
  method: string;
  /** Path after the prefix (the whole path for requests outside it), still percent-encoded. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON, the raw text when it is not JSON, or null without a body. */
  body: unknown;
  headers: RequestLogHeaders;
}

export type KitSessionState = 'pending' | 'starting' | 'ready' | 'failed';

export interface KitSessionSummary {
  id: string;
  ready: boolean;
  state: KitSessionState;
  appId: string;
  profile: string;
  version?: string;
  usdStageUri?: string;
}

export interface KitSimulator {
  /** Base URL of the API, prefix included, e.g. `http://127.0.0.1:41234/streaming`. */
  readonly url: string;
  /** `http://127.0.0.1:41234`; control endpoints live at `${origin}/_control/...`. */
  readonly origin: string;
  readonly port: number;
  sessions(): KitSessionSummary[];
  /** Every API request received, in arrival order. Preflights and control requests are not API requests. */
  requests(): RequestLogEntry[];
  setOptions(patch: Partial<KitSimulatorOptions>): void;
  addFaults(faults: KitFault[]): void;
  /** The faults still armed, with how many requests each will still affect. */
  faults(): Array<KitFault & { remaining: number }>;
  /** Terminates every session and clears faults and the request log; options stay. */
  reset(): Promise<void>;
  /** Closes the server, every connection, every session's media and every timer. */
  close(): Promise<void>;
}

interface EffectiveOptions {
  host: string;
  port: number;
  prefix: string;
  readyAfterMs: number;
  routeIp: string;
  routesShape: KitRoutesShape;
  sessionLimit: number;
  retryAfterSeconds: number | undefined;
  terminateForms: KitTerminateForms;
  media: KitMediaFactory;
  apps: KitAppCatalogue;
  log: ((line: string) => void) | undefined;
}

interface SessionRecord extends StreamRequest {
  id: string;
  state: KitSessionState;
  routeIp: string;
  media?: KitSessionMedia;
  failure?: string;
  readyTimer?: NodeJS.Timeout;
}

/** Bodies larger than this are refused with 413, as gateways do. */
export const maxApiBodyBytes = 64 * 1024;
/** Control requests may carry a whole catalogue. */
const maxControlBodyBytes = 1024 * 1024;

const pendingStatus = { condition: 'pending', message: 'Session is being prepared', status: false } as const;
const readyStatus = { condition: 'ready', message: 'Session is active', status: true } as const;
const internalErrorDetail = 'An unexpected error occurred. Please try again later.';
/** Delays reach past the player's default five-minute session timeout, so that timeout can be tested too. */
const kitFaultLimits: FaultLimits = { maxDelayMs: 10 * 60 * 1000, allowHeaders: true };
/** Browser clients send credentials to gateways in front of Kit, and read `Retry-After` from pending answers. */
const kitCors: CorsPolicy = { methods: ['GET', 'POST', 'DELETE', 'OPTIONS'], exposedHeaders: ['Retry-After'], credentials: true };

export async function startKitSimulator(options: KitSimulatorOptions = {}): Promise<KitSimulator> {
  const simulator = new KitSimulatorServer(applyOptions(initialOptions(), options, false));
  await simulator.listen();
  return simulator;
}

function initialOptions(): EffectiveOptions {
  return {
    host: '127.0.0.1',
    port: 0,
    prefix: '',
    readyAfterMs: 3000,
    routeIp: '127.0.0.1',
    routesShape: 'flat',
    sessionLimit: 4,
    retryAfterSeconds: undefined,
    terminateForms: 'both',
    media: reservedPortsMedia,
    apps: defaultKitCatalogue,
    log: undefined,
  };
}

/** Validates a patch against the current options; throws a TypeError that names the bad option. */
function applyOptions(current: EffectiveOptions, patch: unknown, started: boolean): EffectiveOptions {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw new TypeError('options must be an object');
  const next: EffectiveOptions = { ...current };
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    // An explicit undefined (or null over JSON) clears retryAfterSeconds and leaves every other option as it is.
    if (value === undefined || value === null) {
      if (key === 'retryAfterSeconds') next.retryAfterSeconds = undefined;
      continue;
    }
    switch (key) {
      case 'host':
        if (typeof value !== 'string' || value === '') throw new TypeError('host must be a non-empty string');
        if (started && value !== current.host) throw new TypeError('host cannot change after the server started');
        next.host = value;
        break;
      case 'port':
        if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 65535) {
          throw new TypeError('port must be an integer from 0 to 65535');
        }
        if (started && value !== current.port) throw new TypeError('port cannot change after the server started');
        next.port = value as number;
        break;
      case 'prefix':
        next.prefix = normalizePrefix(value);
        break;
      case 'readyAfterMs':
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 2 ** 31 - 1) {
          throw new TypeError('readyAfterMs must be a number of milliseconds, 0 or more');
        }
        next.readyAfterMs = value;
        break;
      case 'routeIp':
        if (typeof value !== 'string' || value === '') throw new TypeError('routeIp must be a non-empty string');
        next.routeIp = value;
        break;
      case 'routesShape':
        if (value !== 'flat' && value !== 'nested') throw new TypeError("routesShape must be 'flat' or 'nested'");
        next.routesShape = value;
        break;
      case 'sessionLimit':
        if (!Number.isSafeInteger(value) || (value as number) < 0) throw new TypeError('sessionLimit must be an integer, 0 or more');
        next.sessionLimit = value as number;
        break;
      case 'retryAfterSeconds':
        if (!Number.isSafeInteger(value) || (value as number) < 0) {
          throw new TypeError('retryAfterSeconds must be a whole number of seconds, 0 or more (null to stop sending Retry-After)');
        }
        next.retryAfterSeconds = value as number;
        break;
      case 'terminateForms':
        if (value !== 'both' && value !== 'path' && value !== 'body')
          throw new TypeError("terminateForms must be 'both', 'path' or 'body'");
        next.terminateForms = value;
        break;
      case 'media':
        if (typeof value !== 'function') throw new TypeError('media must be a function that creates a session media');
        next.media = value as KitMediaFactory;
        break;
      case 'apps':
        next.apps = parseCatalogue(value);
        break;
      case 'log':
        if (typeof value !== 'function') throw new TypeError('log must be a function');
        next.log = value as (line: string) => void;
        break;
      default:
        throw new TypeError(`'${key}' is not a Kit simulator option`);
    }
  }
  return next;
}

function normalizePrefix(value: unknown): string {
  if (typeof value !== 'string') throw new TypeError("prefix must be a string such as '/streaming'");
  const trimmed = value.trim().replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return '';
  if (/[?#\s]/.test(trimmed)) throw new TypeError('prefix must be a plain path without query, fragment or spaces');
  const prefix = `/${trimmed}`;
  if (prefix === '/_control' || prefix.startsWith('/_control/'))
    throw new TypeError('prefix cannot be /_control, where the control endpoints live');
  return prefix;
}

/** Where a client should connect: the any-address is reachable as loopback. */
function connectableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function pickLoggedHeaders(request: IncomingMessage): RequestLogHeaders {
  const headers: RequestLogHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    if (name === 'authorization' || name === 'cookie' || name === 'content-type' || name === 'origin' || name.startsWith('x-')) {
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return headers;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isValidPort(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) > 0 && (value as number) <= 65535;
}

/** An answer in FastAPI's shapes: `{"detail": "..."}` errors and 422 validation issues. */
class KitReply extends Reply {
  detail(status: number, detail: string, headers: OutgoingHttpHeaders = {}): void {
    this.json(status, { detail }, headers);
  }

  invalid(issues: ValidationIssue[]): void {
    this.json(422, { detail: issues });
  }

  empty(status: number): void {
    this.send(status, undefined);
  }

  methodNotAllowed(allowed: string[]): void {
    this.detail(405, 'Method Not Allowed', { Allow: allowed.join(', ') });
  }
}

class KitSimulatorServer implements KitSimulator {
  private options: EffectiveOptions;
  private readonly http = new SimulatorHttpServer((request, response) => this.onRequest(request, response));
  private readonly sessionRecords = new Map<string, SessionRecord>();
  private readonly requestLog: RequestLogEntry[] = [];
  private readonly faultBook = new FaultBook(kitFaultLimits);
  private readonly readyTimers = new Set<NodeJS.Timeout>();
  private readonly mediaStarts = new Set<Promise<void>>();
  private listeningPort = 0;
  private closing: Promise<void> | undefined;

  constructor(options: EffectiveOptions) {
    this.options = options;
  }

  async listen(): Promise<void> {
    const address = await this.http.listen(this.options.port, this.options.host, (error) => this.log(`server error: ${error.message}`));
    this.listeningPort = address.port;
  }

  get port(): number {
    return this.listeningPort;
  }

  get origin(): string {
    return `http://${connectableHost(this.options.host)}:${this.listeningPort}`;
  }

  get url(): string {
    return this.origin + this.options.prefix;
  }

  sessions(): KitSessionSummary[] {
    return [...this.sessionRecords.values()].map((record) => ({
      id: record.id,
      ready: record.state === 'ready',
      state: record.state,
      appId: record.appId,
      profile: record.profile,
      version: record.version,
      ...(record.usdStageUri === undefined ? {} : { usdStageUri: record.usdStageUri }),
    }));
  }

  requests(): RequestLogEntry[] {
    return this.requestLog.map((entry) => ({ ...entry, query: { ...entry.query }, headers: { ...entry.headers } }));
  }

  setOptions(patch: Partial<KitSimulatorOptions>): void {
    this.options = applyOptions(this.options, patch, true);
  }

  addFaults(faults: KitFault[]): void {
    this.faultBook.add(faults);
  }

  faults(): Array<KitFault & { remaining: number }> {
    return this.faultBook.list();
  }

  async reset(): Promise<void> {
    this.faultBook.clear();
    this.requestLog.length = 0;
    await Promise.all([...this.sessionRecords.values()].map((record) => this.terminate(record)));
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** True once close() started: delayed answers and media starts then give up. */
  private get closed(): boolean {
    return this.http.closing.aborted;
  }

  private async shutdown(): Promise<void> {
    const serverClosed = this.http.close();
    for (const timer of this.readyTimers) clearTimeout(timer);
    this.readyTimers.clear();
    await serverClosed;
    // A media start still running closes its media itself once it sees the simulator closed.
    await Promise.allSettled([...this.mediaStarts]);
    const records = [...this.sessionRecords.values()];
    this.sessionRecords.clear();
    await Promise.allSettled(records.map((record) => this.closeMedia(record)));
  }

  private log(line: string): void {
    try {
      this.options.log?.(line);
    } catch {
      // A failing logger must not take a request down with it.
    }
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    const started = Date.now();
    response.once('close', () => {
      const outcome = response.writableFinished ? String(response.statusCode) : 'closed without an answer';
      this.log(`${request.method} ${request.url} ${outcome} ${Date.now() - started}ms`);
    });
    const reply = new KitReply(request, response, {
      headers: corsHeaders(request, kitCors),
      closing: this.http.closing,
      maxStallMs: kitFaultLimits.maxDelayMs,
    });
    this.handle(request, reply).catch((error: unknown) => {
      this.log(`error handling ${request.method} ${request.url}: ${errorMessage(error)}`);
      if (reply.open) reply.detail(500, internalErrorDetail);
      else response.destroy();
    });
  }

  private async handle(request: IncomingMessage, reply: KitReply): Promise<void> {
    const method = (request.method ?? 'GET').toUpperCase();
    const target = splitTarget(request.url ?? '/');
    if (!target) {
      request.resume();
      reply.detail(400, 'Malformed request target', { Connection: 'close' });
      return;
    }
    if (method === 'OPTIONS') {
      request.resume();
      reply.send(204, undefined, preflightHeaders(request, kitCors));
      return;
    }
    if (target.path === '/_control' || target.path.startsWith('/_control/')) {
      await this.handleControl(method, target.path, request, reply);
      return;
    }

    const apiPath = this.stripPrefix(target.path);
    const entry: RequestLogEntry = {
      time: Date.now(),
      method,
      path: apiPath ?? target.path,
      query: target.query,
      body: null,
      headers: pickLoggedHeaders(request),
    };
    this.requestLog.push(entry);

    const read = await readBody(request, maxApiBodyBytes);
    if (read.kind === 'aborted') return;
    if (read.kind === 'too-large') {
      reply.detail(413, `Request body too large: the limit is ${maxApiBodyBytes} bytes.`, { Connection: 'close' });
      return;
    }
    const body = parseBodyText(read.text);
    entry.body = body.value;

    const fault = this.faultBook.take(method, entry.path);
    if (fault) {
      this.log(`fault for ${method} ${entry.path}: ${JSON.stringify(fault)}`);
      const defaultBody = (status: number): string => JSON.stringify({ detail: reasonPhrase(status) });
      if (await playFault(fault, reply, { closing: this.http.closing, defaultBody })) return;
      // A client that gave up during the delay never reached the API.
      if (reply.response.destroyed) return;
    }

    if (apiPath === undefined) {
      reply.detail(404, 'Not Found');
      return;
    }
    await this.route(method, apiPath, target.query, body, reply);
  }

  /** The path after the prefix, or undefined when the request is outside it. */
  private stripPrefix(path: string): string | undefined {
    const { prefix } = this.options;
    if (prefix === '') return path;
    if (path === prefix) return '';
    return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : undefined;
  }

  private async route(method: string, path: string, query: Record<string, string>, body: ParsedBody, answer: KitReply): Promise<void> {
    const segments = path.split('/').slice(1).map(decodeSegment);
    if (segments.length === 0 || segments.some((segment) => segment === undefined || segment === '')) {
      answer.detail(404, 'Not Found');
      return;
    }
    const parts = segments as string[];
    const { terminateForms } = this.options;

    if (parts.length === 1 && parts[0] === 'stream') {
      const allowed = terminateForms === 'path' ? ['GET', 'POST'] : ['GET', 'POST', 'DELETE'];
      if (method === 'GET') return this.listSessions(query, answer);
      if (method === 'POST') return this.createSession(body, answer);
      if (method === 'DELETE' && terminateForms !== 'path') return this.terminateByBody(body, answer);
      return answer.methodNotAllowed(allowed);
    }
    if (parts.length === 2 && parts[0] === 'stream') {
      const id = parts[1];
      const allowed = terminateForms === 'body' ? ['GET'] : ['GET', 'DELETE'];
      if (method === 'GET') return this.reportSession(id, answer);
      if (method === 'DELETE' && terminateForms !== 'body') return this.terminateById(id, answer);
      return answer.methodNotAllowed(allowed);
    }
    if (parts[0] === 'cfg' && parts[1] === 'apps') {
      const isCatalogueRoute =
        parts.length === 2 ||
        (parts.length === 4 && parts[3] === 'versions') ||
        (parts.length === 6 && parts[3] === 'versions' && parts[5] === 'profiles');
      if (!isCatalogueRoute) return answer.detail(404, 'Not Found');
      if (method !== 'GET') return answer.methodNotAllowed(['GET']);
      return this.answerCatalogue(parts, query, answer);
    }
    answer.detail(404, 'Not Found');
  }

  private listSessions(query: Record<string, string>, answer: KitReply): void {
    const page = checkPage(query);
    if (!page.ok) return answer.invalid(page.issues);
    const items = [...this.sessionRecords.values()].map((record) => ({
      id: record.id,
      routes: this.routesOf(record),
      status: this.statusOf(record),
    }));
    answer.json(200, paginate(items, page.page));
  }

  private async createSession(body: ParsedBody, answer: KitReply): Promise<void> {
    const check = checkStreamRequest(body, this.options.apps);
    if (!check.ok) return answer.invalid(check.issues);
    const { sessionLimit, readyAfterMs } = this.options;
    if (this.sessionRecords.size >= sessionLimit) {
      return answer.detail(
        503,
        `Session limit reached: ${this.sessionRecords.size} of ${sessionLimit} streaming sessions are in use. ` +
          'Terminate a session you no longer need (DELETE /stream/{session_id}) or wait for one to end, then try again.',
      );
    }
    const record: SessionRecord = { ...check.request, id: randomUUID(), state: 'pending', routeIp: this.options.routeIp };
    this.sessionRecords.set(record.id, record);
    this.log(`session ${record.id} created for ${record.appId} ${record.version} (${record.profile})`);

    if (readyAfterMs > 0) {
      if (!this.closed) {
        const timer = setTimeout(() => {
          this.readyTimers.delete(timer);
          record.readyTimer = undefined;
          void this.startMedia(record);
        }, readyAfterMs);
        record.readyTimer = timer;
        this.readyTimers.add(timer);
      }
      return answer.json(202, { id: record.id, status: pendingStatus }, this.retryAfterHeaders());
    }

    await this.startMedia(record);
    if (record.state === 'ready') return answer.json(200, { id: record.id, routes: this.routesOf(record), status: readyStatus });
    if (record.state === 'failed') {
      // Without a ready answer the client never learns the id, so nobody could terminate this session.
      this.sessionRecords.delete(record.id);
      return answer.detail(500, internalErrorDetail);
    }
    answer.detail(404, 'Session not found: it was terminated while starting.');
  }

  private reportSession(id: string, answer: KitReply): void {
    const record = this.sessionRecords.get(id);
    if (!record) return answer.detail(404, `Session not found: no active session has id '${id}'.`);
    if (record.state === 'ready') return answer.json(200, { id: record.id, routes: this.routesOf(record), status: readyStatus });
    if (record.state === 'failed') {
      return answer.detail(
        500,
        `The application failed to start (${record.failure ?? 'unknown reason'}). Terminate this session and request a new one.`,
      );
    }
    answer.json(202, { id: record.id, status: pendingStatus }, this.retryAfterHeaders());
  }

  private async terminateById(id: string, answer: KitReply): Promise<void> {
    const record = this.sessionRecords.get(id);
    if (!record) return answer.detail(404, `Session not found: no active session has id '${id}'.`);
    await this.terminate(record);
    answer.json(200, { id, message: 'Session terminated' });
  }

  private async terminateByBody(body: ParsedBody, answer: KitReply): Promise<void> {
    const fields =
      body.json && typeof body.value === 'object' && body.value !== null && !Array.isArray(body.value)
        ? (body.value as Record<string, unknown>)
        : undefined;
    if (body.value !== null && !fields) {
      return answer.invalid([{ loc: ['body'], msg: 'Send a JSON object like {"id": "<session id>"}', type: 'model_attributes_type' }]);
    }
    const id = fields?.id;
    if (id === undefined) return answer.invalid([{ loc: ['body', 'id'], msg: 'Field required', type: 'missing' }]);
    if (typeof id !== 'string')
      return answer.invalid([{ loc: ['body', 'id'], msg: 'Input should be a valid string', type: 'string_type' }]);
    await this.terminateById(id, answer);
  }

  private answerCatalogue(parts: string[], query: Record<string, string>, answer: KitReply): void {
    const page = checkPage(query);
    if (!page.ok) return answer.invalid(page.issues);
    const { apps } = this.options;
    if (parts.length === 2) return answer.json(200, paginate(apps.map(describeApp), page.page));
    const appId = parts[2];
    const app = findApp(apps, appId);
    if (!app) return answer.detail(404, `Application '${appId}' not found. GET /cfg/apps lists the available applications.`);
    if (parts.length === 4)
      return answer.json(
        200,
        paginate(
          app.versions.map(({ version }) => ({ version })),
          page.page,
        ),
      );
    const versionName = parts[4];
    const version = findVersion(app, versionName);
    if (!version) {
      return answer.detail(404, `Application '${appId}' has no version '${versionName}'. GET /cfg/apps/${appId}/versions lists them.`);
    }
    answer.json(200, paginate(version.profiles.map(describeProfile), page.page));
  }

  private retryAfterHeaders(): OutgoingHttpHeaders {
    const seconds = this.options.retryAfterSeconds;
    return seconds === undefined ? {} : { 'Retry-After': String(seconds) };
  }

  private statusOf(record: SessionRecord): { condition: string; message: string; status: boolean } {
    return record.state === 'ready' ? readyStatus : pendingStatus;
  }

  private routesOf(record: SessionRecord): Record<string, unknown> {
    const { media } = record;
    if (!media) return {};
    const routes = [
      {
        description: 'signaling',
        protocol: 'TCP',
        source_port: media.signaling.sourcePort,
        destination_port: media.signaling.destinationPort,
      },
      { description: 'media', protocol: 'UDP', source_port: media.media.sourcePort, destination_port: media.media.destinationPort },
    ];
    return { [record.routeIp]: this.options.routesShape === 'nested' ? { routes } : routes };
  }

  /** Creates the session's media; the session is ready once it exists. */
  private startMedia(record: SessionRecord): Promise<void> {
    record.state = 'starting';
    record.routeIp = this.options.routeIp;
    const factory = this.options.media;
    const start = (async () => {
      let media: KitSessionMedia | undefined;
      try {
        media = await factory({
          id: record.id,
          ...(record.usdStageUri === undefined ? {} : { usdStageUri: record.usdStageUri }),
          routeIp: record.routeIp,
          appId: record.appId,
          profile: record.profile,
          version: record.version,
        });
        if (!media || !isValidPort(media.signaling?.sourcePort) || !isValidPort(media.media?.sourcePort)) {
          throw new Error('the media factory returned no valid signaling and media ports');
        }
      } catch (error) {
        if (media) await this.closeMediaQuietly(media);
        if (this.sessionRecords.get(record.id) === record) {
          record.state = 'failed';
          record.failure = errorMessage(error);
        }
        this.log(`session ${record.id} failed to start: ${errorMessage(error)}`);
        return;
      }
      if (this.closed || this.sessionRecords.get(record.id) !== record) {
        await this.closeMediaQuietly(media);
        return;
      }
      record.media = media;
      record.state = 'ready';
      this.log(`session ${record.id} ready`);
    })();
    this.mediaStarts.add(start);
    void start.finally(() => this.mediaStarts.delete(start));
    return start;
  }

  private async terminate(record: SessionRecord): Promise<void> {
    if (this.sessionRecords.get(record.id) === record) this.sessionRecords.delete(record.id);
    if (record.readyTimer) {
      clearTimeout(record.readyTimer);
      this.readyTimers.delete(record.readyTimer);
      record.readyTimer = undefined;
    }
    this.log(`session ${record.id} terminated`);
    await this.closeMedia(record);
  }

  private async closeMedia(record: SessionRecord): Promise<void> {
    const { media } = record;
    record.media = undefined;
    if (media) await this.closeMediaQuietly(media);
  }

  private async closeMediaQuietly(media: KitSessionMedia): Promise<void> {
    try {
      await media.close();
    } catch (error) {
      this.log(`closing session media failed: ${errorMessage(error)}`);
    }
  }

  private async handleControl(method: string, path: string, request: IncomingMessage, answer: KitReply): Promise<void> {
    const read = await readBody(request, maxControlBodyBytes);
    if (read.kind === 'aborted') return;
    if (read.kind === 'too-large') return answer.detail(413, `Control request body too large: the limit is ${maxControlBodyBytes} bytes.`);
    const body = parseBodyText(read.text);
    const parts = path.split('/').slice(2).map(decodeSegment);
    if (parts.some((part) => part === undefined)) return answer.detail(404, 'Not Found');
    const route = (parts as string[]).join('/');
    const needsJson = (): boolean => {
      if (body.json) return true;
      answer.detail(400, 'The control request body must be JSON.');
      return false;
    };

    switch (route) {
      case 'requests':
        if (method === 'GET') return answer.json(200, this.requests());
        if (method === 'DELETE') {
          this.requestLog.length = 0;
          return answer.empty(204);
        }
        return answer.methodNotAllowed(['GET', 'DELETE']);
      case 'sessions':
        if (method === 'GET') return answer.json(200, this.sessions());
        return answer.methodNotAllowed(['GET']);
      case 'options':
        if (method === 'GET') return answer.json(200, this.describeOptions());
        if (method === 'POST') {
          if (!needsJson()) return;
          try {
            this.options = applyOptions(this.options, body.value, true);
          } catch (error) {
            return answer.detail(422, errorMessage(error));
          }
          return answer.json(200, this.describeOptions());
        }
        return answer.methodNotAllowed(['GET', 'POST']);
      case 'faults':
        if (method === 'GET') return answer.json(200, this.faults());
        if (method === 'POST') {
          if (!needsJson()) return;
          try {
            this.faultBook.add(body.value);
          } catch (error) {
            if (error instanceof FaultValidationError) return answer.detail(422, error.message);
            throw error;
          }
          return answer.json(200, this.faults());
        }
        if (method === 'DELETE') {
          this.faultBook.clear();
          return answer.empty(204);
        }
        return answer.methodNotAllowed(['GET', 'POST', 'DELETE']);
      case 'reset':
        if (method !== 'POST') return answer.methodNotAllowed(['POST']);
        await this.reset();
        return answer.empty(204);
    }

    const [collection, id, action] = parts as string[];
    if (parts.length === 3 && collection === 'sessions' && id !== undefined && action !== undefined) {
      return this.handleSessionControl(method, id, action, body, answer);
    }
    answer.detail(404, 'Not Found');
  }

  private async handleSessionControl(method: string, id: string, action: string, body: ParsedBody, answer: KitReply): Promise<void> {
    const inspection = !['fault', 'messages', 'connections'].includes(action);
    const allowedMethod = inspection ? 'GET' : action === 'fault' ? 'POST' : 'GET';
    if (method !== allowedMethod) return answer.methodNotAllowed([allowedMethod]);
    const record = this.sessionRecords.get(id);
    if (!record) return answer.detail(404, `Session not found: no active session has id '${id}'.`);
    const { media } = record;

    if (action === 'messages') return answer.json(200, media?.messages?.() ?? []);
    if (action === 'connections') return answer.json(200, { connections: media?.connections?.() ?? 0 });
    if (inspection) {
      if (!media?.inspect) return answer.detail(404, 'Not Found');
      try {
        return answer.json(200, media.inspect(action));
      } catch (error) {
        return answer.detail(404, errorMessage(error));
      }
    }

    const kind = body.json && typeof body.value === 'object' && body.value !== null ? (body.value as { kind?: unknown }).kind : undefined;
    if (typeof kind !== 'string' || kind === '')
      return answer.detail(422, 'Send {"kind": "<fault kind>"}, e.g. {"kind": "drop-signaling"}.');
    if (!media) return answer.detail(409, `Session '${id}' is not ready yet; its media does not exist.`);
    if (!media.fault) return answer.detail(501, "This session's media does not support faults.");
    try {
      await media.fault(kind);
    } catch (error) {
      return answer.detail(422, `Fault '${kind}' failed: ${errorMessage(error)}`);
    }
    answer.json(200, { id, kind });
  }

  private describeOptions(): Record<string, unknown> {
    const { media: _media, log: _log, ...serializable } = this.options;
    return { ...serializable, port: this.listeningPort };
  }
}
