import { describeAnswerWithoutMessage, describeUnexpectedBody, errorCodeForStatus, readServerMessage } from '../internal/errors.js';
import { type HttpAnswer, isSuccess, joinUrl, mergeRequestInit, parseRetryAfter, requestJson } from '../internal/http.js';
import { isRecord } from '../internal/json.js';
import { formatDuration, sleep } from '../internal/timing.js';
import { KitStreamError } from './kit-error.js';
import { type KitConnectionTarget, findConnectionTarget } from './routes.js';

/** What `POST /stream` asks for. */
export interface KitSessionRequest {
  appId: string;
  profile: string;
  /** Omitted means the latest version. */
  version?: string;
  /** Sent as `arguments`, e.g. `{usd_stage_uri}`. */
  arguments?: Record<string, unknown>;
}

/** A session as the service describes it at one moment. */
export type KitSessionAnswer =
  | { id: string; ready: false; message?: string; retryAfterMs?: number }
  | { id: string; ready: true; message?: string; routes: unknown; target: KitConnectionTarget };

export type KitReadySession = Extract<KitSessionAnswer, { ready: true }>;

export interface KitSessionClientOptions {
  /** Base URL of the streaming API; may carry a path prefix (`https://host/streaming`). */
  server: string;
  /** Merged into every request: headers and credentials for gateways that need auth. */
  requestInit?: RequestInit;
  /** Milliseconds one request may take before it counts as failed. */
  requestTimeoutMs?: number;
}

export interface PollOptions {
  signal?: AbortSignal;
  /** First wait between polls, in ms. */
  intervalMs: number;
  /** Give up this long after `startedAt`, in ms. */
  timeoutMs: number;
  /** When the wait started (ms, `performance.now()` clock); defaults to now. */
  startedAt?: number;
  /** Called after each pending answer. */
  onPending?: (info: { id: string; elapsedMs: number; attempt: number; message?: string }) => void;
}

/**
 * The Kit App Streaming REST API: create, get, poll and terminate sessions.
 * Knows nothing about elements; every call takes an `AbortSignal` and fails with a {@link KitStreamError}.
 */
export class KitSessionClient {
  readonly server: string;
  readonly #requestInit: RequestInit | undefined;
  readonly #requestTimeoutMs: number;

  constructor(options: KitSessionClientOptions) {
    this.server = options.server;
    this.#requestInit = options.requestInit;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /** `POST /stream`: a ready session (200) or a pending one (202) to poll. */
  async create(request: KitSessionRequest, signal?: AbortSignal): Promise<KitSessionAnswer> {
    const { appId, profile, version, arguments: args } = request;
    // JSON leaves out what is undefined: an empty version or arguments are not sent.
    const body = { id: appId, profile, version: version || undefined, arguments: args && Object.keys(args).length > 0 ? args : undefined };
    return readSession(await this.#send('POST', 'stream', body, signal));
  }

  /** `GET /stream/{id}`: the session's state now. */
  async get(id: string, signal?: AbortSignal): Promise<KitSessionAnswer> {
    return readSession(await this.#send('GET', sessionPath(id), undefined, signal), id);
  }

  /**
   * Polls `GET /stream/{id}` until the session is ready. Pending answers wait longer each time (a `Retry-After`
   * header wins); network failures and 5xx answers are retried the same way until the timeout; other errors end it.
   */
  async pollUntilReady(id: string, options: PollOptions): Promise<KitReadySession> {
    const { signal, intervalMs, timeoutMs } = options;
    const maxIntervalMs = Math.max(maxPollMs, intervalMs);
    const startedAt = options.startedAt ?? performance.now();
    let wait = intervalMs;
    for (let attempt = 1; ; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        const answer = await this.get(id, signal);
        if (answer.ready) return answer;
        retryAfterMs = answer.retryAfterMs;
        options.onPending?.({ id, elapsedMs: performance.now() - startedAt, attempt, message: answer.message });
      } catch (error) {
        if (!(error instanceof KitStreamError) || !error.transient) throw error;
      }
      const left = timeoutMs - (performance.now() - startedAt);
      if (left <= 0) throw timeoutError(timeoutMs);
      // A Retry-After of 0 (or a date in the past) must not turn polling into a busy loop.
      await sleep(Math.min(Math.max(retryAfterMs ?? wait, minimumPollMs), left), signal);
      wait = Math.min(wait * pollGrowth, maxIntervalMs);
    }
  }

  /**
   * Ends a session. Tries `DELETE /stream/{id}` first; deployments that only know the form with the id in the
   * body (`DELETE /stream {"id"}`, as NVIDIA's sample sends it) answer that with 404 or 405.
   * With `keepalive` (a page going away) both forms go at once: no code runs after the page to send the second.
   */
  async terminate(id: string, options: { signal?: AbortSignal; keepalive?: boolean } = {}): Promise<void> {
    const { signal, keepalive } = options;
    const byPath = () => this.#send('DELETE', sessionPath(id), undefined, signal, keepalive);
    const byBody = () => this.#send('DELETE', 'stream', { id }, signal, keepalive);
    // The answer whose error is reported comes first.
    const answers = keepalive ? await Promise.all([byPath(), byBody()]) : [await byPath()];
    if (!keepalive && (answers[0].status === 404 || answers[0].status === 405)) answers.unshift(await byBody());
    if (!answers.some((answer) => isSuccess(answer.status))) throw errorFromAnswer(answers[0]);
  }

  /** One call; a `body` goes as JSON. */
  #send(method: string, path: string, body?: object, signal?: AbortSignal, keepalive?: boolean): Promise<HttpAnswer> {
    const init: RequestInit = body ? { method, body: JSON.stringify(body), headers: jsonHeaders } : { method };
    return requestJson(joinUrl(this.server, path), mergeRequestInit(this.#requestInit, init), {
      signal,
      timeoutMs: this.#requestTimeoutMs,
      keepalive,
      errorType: KitStreamError,
    });
  }
}

/** The wait between polls grows by this factor after each pending answer or transient failure, up to `maxPollMs`. */
const pollGrowth = 1.5;
const maxPollMs = 10_000;
/** The shortest wait between polls, whatever the server says. */
const minimumPollMs = 250;

const jsonHeaders = { 'content-type': 'application/json', accept: 'application/json' };

function sessionPath(id: string): string {
  return `stream/${encodeURIComponent(id)}`;
}

function timeoutError(timeoutMs: number): KitStreamError {
  return new KitStreamError(
    'timeout',
    `The app was not ready after ${formatDuration(timeoutMs)}. It may still be starting: try again, or raise the timeout.`,
  );
}

function readSession(answer: HttpAnswer, expectedId?: string): KitSessionAnswer {
  if (answer.status !== 200 && answer.status !== 202) throw errorFromAnswer(answer);
  const body = answer.body;
  if (!isRecord(body)) throw new KitStreamError('malformed-response', describeUnexpectedBody(answer), answer.status);
  const id = (typeof body.id === 'string' && body.id) || expectedId;
  if (!id) throw new KitStreamError('malformed-response', `The service answered ${answer.status} without a session id`, answer.status);
  const status = isRecord(body.status) ? body.status : {};
  const message = typeof status.message === 'string' ? status.message : undefined;
  const ready = answer.status === 200 && status.condition !== 'pending' && status.status !== false;
  if (!ready) return { id, ready: false, message, retryAfterMs: parseRetryAfter(answer.headers.get('retry-after')) };
  return { id, ready: true, message, routes: body.routes, target: findConnectionTarget(body.routes) };
}

/** Maps an error answer to a typed error carrying the server's own message (FastAPI's `detail`) when there is one. */
export function errorFromAnswer(answer: HttpAnswer): KitStreamError {
  const message = readServerMessage(answer.body, answer.text) ?? describeAnswerWithoutMessage(answer);
  return new KitStreamError(errorCodeForStatus(answer.status), message, answer.status);
}
