/**
 * The Theta Video API's livestream calls, for pages: typed results, and one error type that
 * says what went wrong in words a streamer can act on.
 *
 * Point `apiBase` at a Theta proxy (see `src/theta-proxy`), which holds the service-account
 * secret server-side; pages served to viewers must never carry the secret. Passing
 * `serviceAccountSecret` here is meant for local tools and the simulator only.
 */
import {
  LiveStreamError,
  type LiveStreamErrorCode,
  describeAnswerWithoutMessage,
  describeUnexpectedBody,
  errorCodeForStatus,
  readServerMessage,
} from '../internal/errors.js';
import { isSuccess, joinUrl, mergeRequestInit, requestJson } from '../internal/http.js';
import { isRecord } from '../internal/json.js';

export type ThetaStreamStatus = 'on' | 'off';

/** A livestream. Field names follow the API; older spellings (`playback_url`, `thumbnail_url`) are folded in. */
export interface ThetaStream {
  id: string;
  name: string;
  status: ThetaStreamStatus;
  /** ISO time of the last change, when the service sent one. */
  update_time: string | null;
  /** Present in account listings. */
  service_account_id: string | null;
  /** HLS (`.m3u8`) address while live. */
  playback_uri: string | null;
  /** Hosted player page while live. */
  player_uri: string | null;
  thumbnail_uri: string | null;
  /** RTMP server to publish to: only while an ingestor is selected, and only for the owning account. */
  stream_server: string | null;
  /** Stream key to publish with: same conditions as `stream_server`. */
  stream_key: string | null;
}

export interface ThetaStreamList {
  total_count: number;
  streams: ThetaStream[];
}

/** An edge ingestor; the service lists available ones nearest the streamer first. */
export interface ThetaIngestor {
  id: string;
  ip: string | null;
  stream_key: string | null;
  state: string;
  stakes: number | null;
  /** `[longitude, latitude]`, or null when the service sent no usable position. */
  geo: [number, number] | null;
}

export interface ThetaIngestorList {
  total_count: number;
  ingestors: ThetaIngestor[];
}

/** Where and with which key to publish (e.g. in OBS) after selecting an ingestor. */
export interface ThetaIngestorSelection {
  stream_server: string;
  stream_key: string;
}

/**
 * What kind of failure a {@link ThetaApiError} is: the codes both elements share. The Theta client reports
 * `unauthorized` (401), `forbidden` (403), `not-found` (404), `invalid-request` (422), `server-error` (5xx, the
 * proxy's own 502 and 504 included), `http-error` (any other error status, or a success carrying an error envelope),
 * `malformed-response`, `network`, `timeout`, `aborted` and `configuration`.
 */
export type ThetaApiErrorCode = LiveStreamErrorCode;

/**
 * A failed Theta call: `code` says what kind of failure, `status` is the HTTP status (`undefined` when there was no
 * answer), and `message` is the service's own words where it sent some. Built as
 * `new ThetaApiError(code, message, status?, options?)`.
 */
export class ThetaApiError extends LiveStreamError {
  override name = 'ThetaApiError';
  /** The service's own words, when its answer carried a message. */
  declare readonly serverMessage?: string;
}

export interface ThetaClientOptions {
  /** The Theta proxy (or API) base URL; may be relative in a page, e.g. `/api/theta`. */
  apiBase: string;
  /**
   * Lists this account's streams. Without it the proxy's `/service_account/me/streams` is used, a shortcut the
   * service itself does not have: with `serviceAccountSecret` (no proxy) it is required.
   */
  serviceAccountId?: string;
  /** Sent as `x-tva-sa-secret` (with `x-tva-sa-id`) when set. Never in a page viewers load: use a proxy. */
  serviceAccountSecret?: string;
  /** Extra fetch settings, e.g. `{credentials: 'include'}` or headers for the proxy's own auth. */
  requestInit?: RequestInit;
  /** Milliseconds to wait for each whole answer; default 15000. */
  timeoutMs?: number;
}

export const defaultThetaTimeoutMs = 15_000;

/** Unselecting is slow on the real service (public code waits with heartbeats): it gets at least a minute. */
export const thetaUnselectTimeoutMs = 60_000;

export class ThetaClient {
  readonly apiBase: string;
  readonly #serviceAccountId: string | undefined;
  readonly #serviceAccountSecret: string | undefined;
  readonly #requestInit: RequestInit | undefined;
  readonly #timeoutMs: number;

  constructor(options: ThetaClientOptions) {
    const apiBase = typeof options.apiBase === 'string' && options.apiBase.trim();
    if (!apiBase) throw new TypeError('apiBase is required');
    this.apiBase = apiBase;
    this.#serviceAccountId = options.serviceAccountId || undefined;
    this.#serviceAccountSecret = options.serviceAccountSecret || undefined;
    this.#requestInit = options.requestInit;
    this.#timeoutMs = options.timeoutMs ?? defaultThetaTimeoutMs;
  }

  /** The account's streams, optionally only those `on` or `off`. */
  async listStreams(signal: AbortSignal | undefined, status?: ThetaStreamStatus): Promise<ThetaStreamList> {
    const account = this.#serviceAccountId === undefined ? 'me' : pathId(this.#serviceAccountId, 'service account id');
    const query = status === undefined ? '' : `?status=${encodeURIComponent(status)}`;
    const body = await this.#call('GET', `/service_account/${account}/streams${query}`, undefined, signal);
    const rawStreams = body.streams;
    if (!Array.isArray(rawStreams)) throw malformed('The service sent a stream list without streams');
    const streams = rawStreams.map(parseStream);
    return { total_count: typeof body.total_count === 'number' ? body.total_count : streams.length, streams };
  }

  async createStream(name: string, signal?: AbortSignal): Promise<ThetaStream> {
    return parseStream(await this.#call('POST', '/stream', { name }, signal));
  }

  async getStream(streamId: string, signal?: AbortSignal): Promise<ThetaStream> {
    return parseStream(await this.#call('GET', `/stream/${pathId(streamId, 'stream id')}`, undefined, signal));
  }

  async deleteStream(streamId: string, signal?: AbortSignal): Promise<void> {
    await this.#call('DELETE', `/stream/${pathId(streamId, 'stream id')}`, undefined, signal, false);
  }

  /** Available edge ingestors, in the service's order (nearest the streamer first). */
  async listIngestors(signal?: AbortSignal): Promise<ThetaIngestorList> {
    const body = await this.#call('GET', '/ingestor/filter', undefined, signal);
    const rawIngestors = body.ingestors;
    if (!Array.isArray(rawIngestors)) throw malformed('The service sent an ingestor list without ingestors');
    const ingestors = rawIngestors.map(parseIngestor);
    return { total_count: typeof body.total_count === 'number' ? body.total_count : ingestors.length, ingestors };
  }

  /** Reserves an ingestor for a stream; the selection lapses if nothing is published within about 5 minutes. */
  async selectIngestor(ingestorId: string, streamId: string, signal?: AbortSignal): Promise<ThetaIngestorSelection> {
    const body = await this.#call('PUT', `/ingestor/${pathId(ingestorId, 'ingestor id')}/select`, { tva_stream: streamId }, signal);
    const server = stringOrNull(body.stream_server);
    const key = stringOrNull(body.stream_key);
    if (!server || !key) throw malformed('The service selected the ingestor but sent no stream server or stream key');
    return { stream_server: server, stream_key: key };
  }

  /** Releases an ingestor; waits up to {@link thetaUnselectTimeoutMs} (or `timeoutMs` if longer), as the service can be slow. */
  async unselectIngestor(ingestorId: string, signal?: AbortSignal): Promise<void> {
    await this.#call(
      'PUT',
      `/ingestor/${pathId(ingestorId, 'ingestor id')}/unselect`,
      {},
      signal,
      false,
      Math.max(this.#timeoutMs, thetaUnselectTimeoutMs),
    );
  }

  /**
   * Sends one call and returns the success envelope's `body`, or throws a {@link ThetaApiError}. A call that needs
   * nothing back (`bodyRequired` false) succeeds on its status alone.
   */
  async #call(
    method: string,
    path: string,
    payload: unknown,
    signal: AbortSignal | undefined,
    bodyRequired = true,
    timeoutMs = this.#timeoutMs,
  ): Promise<Record<string, unknown>> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (payload !== undefined) headers['Content-Type'] = 'application/json';
    const secret = this.#serviceAccountSecret;
    if (secret !== undefined) {
      // Without the id the secret is never sent, and `/service_account/me` is only a proxy's shortcut.
      if (this.#serviceAccountId === undefined)
        throw new ThetaApiError(
          'configuration',
          'Set service-account-id (the serviceAccountId property) to the account the secret belongs to, or point api-base at a Theta proxy.',
        );
      headers['x-tva-sa-id'] = this.#serviceAccountId;
      headers['x-tva-sa-secret'] = secret;
    }
    // Without a payload the body stays undefined: so is the JSON of `undefined`.
    const init = mergeRequestInit(this.#requestInit, { method, headers, body: JSON.stringify(payload) });

    // Without an answer, a ThetaApiError coded `network` or `timeout`, or `aborted` when the caller cancelled.
    const answer = await requestJson(joinUrl(this.apiBase, path), init, { signal, timeoutMs, errorType: ThetaApiError }).catch(
      (error: unknown) => {
        throw signal?.aborted ? new ThetaApiError('aborted', 'The request was cancelled', undefined, { cause: error }) : error;
      },
    );

    const { status, body } = answer;
    if (!isSuccess(status) || (isRecord(body) && body.status === 'error')) {
      const serverMessage = readServerMessage(body, answer.text);
      // The secret must never appear in a message, even if a server echoes it.
      const text = serverMessage ?? describeAnswerWithoutMessage(answer);
      const message = secret ? text.replaceAll(secret, '[redacted]') : text;
      // Only the client knows whether the message is the service's own words.
      throw Object.assign(new ThetaApiError(errorCodeForStatus(status), message, status), {
        serverMessage: serverMessage && message,
      });
    }
    if (isRecord(body) && isRecord(body.body)) return body.body;
    // A call that needs nothing back (delete, unselect) succeeds on its status alone.
    if (!bodyRequired) return {};
    throw malformed(
      body === undefined
        ? describeUnexpectedBody(answer)
        : `The service answered ${status} with ${isRecord(body) ? 'success but no body' : 'JSON that is not an object'}`,
      status,
    );
  }
}

function malformed(message: string, status = 200): ThetaApiError {
  return new ThetaApiError('malformed-response', message, status);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function parseStream(value: unknown): ThetaStream {
  if (!isRecord(value) || typeof value.id !== 'string' || value.id === '') {
    throw malformed('The service sent a stream without an id');
  }
  return {
    id: value.id,
    name: typeof value.name === 'string' ? value.name : '',
    status: value.status === 'on' ? 'on' : 'off',
    update_time: stringOrNull(value.update_time),
    service_account_id: stringOrNull(value.service_account_id),
    playback_uri: stringOrNull(value.playback_uri) ?? stringOrNull(value.playback_url),
    player_uri: stringOrNull(value.player_uri) ?? stringOrNull(value.player_url),
    thumbnail_uri: stringOrNull(value.thumbnail_uri) ?? stringOrNull(value.thumbnail_url),
    stream_server: stringOrNull(value.stream_server),
    stream_key: stringOrNull(value.stream_key),
  };
}

function parseIngestor(value: unknown): ThetaIngestor {
  if (!isRecord(value) || typeof value.id !== 'string' || value.id === '') {
    throw malformed('The service sent an ingestor without an id');
  }
  const geo = value.geo;
  const stakes = typeof value.stakes === 'string' ? Number(value.stakes) : value.stakes;
  return {
    id: value.id,
    ip: stringOrNull(value.ip),
    stream_key: stringOrNull(value.stream_key),
    state: typeof value.state === 'string' ? value.state : 'unknown',
    // `Number.isFinite` is false for anything that is not a number: no coercion.
    stakes: Number.isFinite(stakes) ? (stakes as number) : null,
    geo: Array.isArray(geo) && Number.isFinite(geo[0]) && Number.isFinite(geo[1]) ? [geo[0], geo[1]] : null,
  };
}

/** Encodes an id for a path segment; ids that would change the path's meaning are refused outright. */
function pathId(id: string, what: string): string {
  if (typeof id !== 'string' || id === '' || id === '.' || id === '..') throw new TypeError(`Invalid ${what}`);
  return encodeURIComponent(id);
}
