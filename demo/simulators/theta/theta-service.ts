/**
 * The Theta Video API's livestream model, in memory: service accounts, streams, edge
 * ingestors and the selections that bind them. It knows nothing about HTTP; every refusal
 * is a {@link ThetaServiceError} carrying the status and message the service answers with.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { RtmpPublish } from './rtmp-ingest.js';

export type ThetaStreamStatus = 'on' | 'off';

/** `[longitude, latitude]`, as the service spells ingestor positions. */
export type GeoPoint = [number, number];

export interface ThetaServiceAccount {
  id: string;
  secret: string;
}

/**
 * The states the real service's ingestor listing shows. Which one a given situation produces is not documented:
 * here `selected` means a stream has it and waits for a publisher, `busy` that a publisher is live on it.
 */
export type ThetaIngestorState = 'available' | 'busy' | 'selected' | 'unavailable';

/**
 * An edge ingestor the simulator offers; `state` is its state when no account of this simulator uses it, so an
 * ingestor can stand for one that other customers of the service keep busy or selected.
 */
export interface ThetaIngestorDefinition {
  id: string;
  ip: string;
  geo: GeoPoint;
  stakes: number;
  state?: ThetaIngestorState;
}

export class ThetaServiceError extends Error {
  override name = 'ThetaServiceError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A stream's HLS output for one live session. */
export interface ThetaPlayback {
  /** The `playback_uri`: a new address for every live session, as the real service gives. */
  readonly uri: string;
  /** The session is over: the playlist ends (`#EXT-X-ENDLIST`). */
  end(): void;
}

/** How the service reaches the outside world: where publishers send video, where viewers watch. */
export interface ThetaServiceEnvironment {
  /** The `stream_server` handed out for a selection of this ingestor. */
  streamServerFor(ingestor: ThetaIngestorDefinition): string;
  /** A selection issued this key: publishers using it must now reach {@link ThetaService.startPublish}. */
  keyIssued(streamKey: string): void;
  /** The key's selection ended: publishers using it must be refused. */
  keyRevoked(streamKey: string): void;
  /** The stream went live: package `publish` as HLS, or serve a playlist without segments when there is no publisher. */
  startPlayback(streamId: string, publish: RtmpPublish | null): ThetaPlayback;
  playerUriFor(streamId: string): string;
}

export interface ThetaServiceSettings {
  serviceAccounts: ThetaServiceAccount[];
  ingestors: ThetaIngestorDefinition[];
  /** The streamer's position when the caller's address is not in {@link callerLocations}; ingestors are listed nearest first from here. */
  location: GeoPoint;
  /** Where callers are, by IP address (`X-Forwarded-For` first, then the connection's address). */
  callerLocations: Record<string, GeoPoint>;
  /** How long a selection waits for a publisher before the ingestor is freed. */
  selectionTtlMs: number;
  /** Streams one service account may own. */
  streamLimit: number;
}

interface Selection {
  ingestorId: string;
  streamId: string;
  serviceAccountId: string;
  streamKey: string;
  streamServer: string;
  /** The backup ingest point the real service hands out beside the main one; publishing there works the same. */
  backupStreamKey: string;
  backupStreamServer: string;
  /** Pending while the selection is unused; cleared while a publisher is live. */
  expiryTimer: NodeJS.Timeout | null;
}

interface StreamRecord {
  id: string;
  serviceAccountId: string;
  name: string;
  status: ThetaStreamStatus;
  updateTime: Date;
  playback: ThetaPlayback | null;
  playerUri: string | null;
  selection: Selection | null;
  publish: RtmpPublish | null;
}

interface IngestorRecord {
  definition: ThetaIngestorDefinition;
  selection: Selection | null;
}

/**
 * The stream as `POST /stream` and `GET /stream/{id}` show it. Real answers carry empty and null fields
 * (`description`, `thumbnail_uri`) and `use_drm`; clients must tolerate them, so the simulator sends them too.
 */
export interface ThetaStreamView {
  id: string;
  name: string;
  description: string;
  status: ThetaStreamStatus;
  update_time: string;
  playback_uri: string | null;
  player_uri: string | null;
  thumbnail_uri: string | null;
  use_drm: boolean;
  stream_server?: string;
  stream_key?: string;
  backup_stream_server?: string;
  backup_stream_key?: string;
}

/** The stream as the service-account listing shows it. */
export interface ThetaListedStreamView {
  id: string;
  service_account_id: string;
  name: string;
  description: string;
  status: ThetaStreamStatus;
  update_time: string;
  playback_uri: string | null;
  player_uri: string | null;
  thumbnail_uri: string | null;
}

export interface ThetaIngestorView {
  id: string;
  ip: string;
  stream_key: string | null;
  state: ThetaIngestorState;
  stakes: number;
  geo: GeoPoint;
}

/** Who is asking for the ingestor list, as far as the simulator can tell from the request. */
export interface IngestorQuery {
  /** The `X-Forwarded-For` header as received. */
  forwardedFor?: string;
  /** The address the request came from. */
  remoteAddress?: string;
  /** The `max_distance` query parameter as received (metres). */
  maxDistance?: string | null;
}

export const streamNameMaxLength = 128;

/** The headers a caller authenticates with, as received (absent headers are `undefined`). */
export interface PresentedCredentials {
  id: string | undefined;
  secret: string | undefined;
}

export class ThetaService {
  private readonly accounts = new Map<string, ThetaServiceAccount>();
  private readonly streams = new Map<string, StreamRecord>();
  private readonly ingestors = new Map<string, IngestorRecord>();
  private readonly selectionsByKey = new Map<string, Selection>();
  private closed = false;

  constructor(
    readonly settings: ThetaServiceSettings,
    private readonly environment: ThetaServiceEnvironment,
  ) {
    for (const account of settings.serviceAccounts) this.accounts.set(account.id, account);
    for (const definition of settings.ingestors) this.ingestors.set(definition.id, { definition, selection: null });
  }

  /** The caller's account; refuses a call without credentials or with wrong ones. */
  requireAccount(credentials: PresentedCredentials): ThetaServiceAccount {
    const account = this.identify(credentials);
    if (!account) {
      throw new ThetaServiceError(401, 'Missing service account credentials: send the x-tva-sa-id and x-tva-sa-secret headers');
    }
    return account;
  }

  /**
   * The caller's account, or null for a call without credentials. Credentials that are sent
   * but wrong are refused even where anonymous calls are allowed.
   */
  identify(credentials: PresentedCredentials): ThetaServiceAccount | null {
    const { id, secret } = credentials;
    if (id === undefined && secret === undefined) return null;
    if (!id || !secret) throw new ThetaServiceError(401, 'Both x-tva-sa-id and x-tva-sa-secret headers are required');
    const account = this.accounts.get(id);
    if (!account || !sameSecret(account.secret, secret)) {
      throw new ThetaServiceError(403, 'Invalid service account credentials');
    }
    return account;
  }

  createStream(account: ThetaServiceAccount, body: unknown): ThetaStreamView {
    const rawName = isRecord(body) ? body.name : undefined;
    if (typeof rawName !== 'string' || rawName.trim() === '') throw new ThetaServiceError(400, 'name is required');
    const name = rawName.trim();
    if (name.length > streamNameMaxLength) {
      throw new ThetaServiceError(400, `name must be at most ${streamNameMaxLength} characters`);
    }
    // eslint-disable-next-line no-control-regex -- the service refuses names with control characters
    if (/[\u0000-\u001f\u007f]/.test(name)) throw new ThetaServiceError(400, 'name must not contain control characters');
    const owned = this.streamsOf(account.id).length;
    if (owned >= this.settings.streamLimit) {
      throw new ThetaServiceError(400, `Live stream limit reached - you already have ${owned}/${this.settings.streamLimit} streams`);
    }
    const stream: StreamRecord = {
      id: `stream_${randomId(25)}`,
      serviceAccountId: account.id,
      name,
      status: 'off',
      updateTime: new Date(),
      playback: null,
      playerUri: null,
      selection: null,
      publish: null,
    };
    this.streams.set(stream.id, stream);
    return this.viewStream(stream, false);
  }

  /** Anyone may read a stream; only its owner sees where and with which key to publish. */
  getStream(streamId: string, account: ThetaServiceAccount | null): ThetaStreamView {
    const stream = this.requireStream(streamId);
    return this.viewStream(stream, account !== null && account.id === stream.serviceAccountId);
  }

  /** Deletes a stream; a live one is stopped and its ingestor released first. */
  deleteStream(streamId: string, account: ThetaServiceAccount): void {
    const stream = this.requireStream(streamId);
    if (stream.serviceAccountId !== account.id) throw new ThetaServiceError(403, 'You are not authorized to delete this stream');
    if (stream.selection) this.endSelection(stream.selection);
    this.stopPublish(stream);
    this.streams.delete(stream.id);
  }

  listStreams(
    serviceAccountId: string,
    account: ThetaServiceAccount,
    status: string | null,
  ): { total_count: number; streams: ThetaListedStreamView[] } {
    if (serviceAccountId !== account.id) {
      throw new ThetaServiceError(403, 'You are not authorized to list the streams of this service account');
    }
    if (status !== null && status !== 'on' && status !== 'off') {
      throw new ThetaServiceError(400, 'Invalid status - it must be on or off');
    }
    const streams = this.streamsOf(account.id)
      .filter((stream) => status === null || stream.status === status)
      .map((stream) => this.viewListedStream(stream));
    return { total_count: streams.length, streams };
  }

  /**
   * Every ingestor with its state, nearest to the caller first, within `max_distance` metres of the caller when
   * that is given. The real service locates the caller by the connection's address; whether it honours
   * `X-Forwarded-For` from a proxy is unknown. The simulator honours it, so a proxy that passes the streamer's
   * address on can be tested: see {@link locateCaller}.
   */
  listIngestors(query: IngestorQuery = {}): { total_count: number; ingestors: ThetaIngestorView[] } {
    const location = this.locateCaller(query);
    const maxDistanceKm = parseMaxDistanceKm(query.maxDistance);
    const ingestors = [...this.ingestors.values()]
      .map((ingestor) => ({ ingestor, distance: distanceKm(location, ingestor.definition.geo) }))
      .filter(({ distance }) => distance <= maxDistanceKm)
      .sort((a, b) => a.distance - b.distance)
      .map(({ ingestor }) => this.viewIngestor(ingestor));
    return { total_count: ingestors.length, ingestors };
  }

  /**
   * Where the caller is: the left-most `X-Forwarded-For` address (the original client) when the table knows it,
   * else the connection's address when the table knows it, else the configured streamer location. A location is
   * therefore always known, and `max_distance` always applies.
   */
  locateCaller(query: IngestorQuery): GeoPoint {
    const table = this.settings.callerLocations;
    const forwarded = normalizeAddress(query.forwardedFor?.split(',')[0] ?? '');
    const remote = normalizeAddress(query.remoteAddress ?? '');
    const known = (address: string) => address !== '' && Object.hasOwn(table, address);
    if (known(forwarded)) return table[forwarded];
    if (known(remote)) return table[remote];
    return this.settings.location;
  }

  selectIngestor(ingestorId: string, account: ThetaServiceAccount, body: unknown): { stream_server: string; stream_key: string } {
    const ingestor = this.requireIngestor(ingestorId);
    const streamId = isRecord(body) ? body.tva_stream : undefined;
    if (typeof streamId !== 'string' || streamId === '') throw new ThetaServiceError(400, 'tva_stream is required');
    const stream = this.streams.get(streamId);
    if (!stream || stream.serviceAccountId !== account.id) {
      throw new ThetaServiceError(403, 'You are not authorized to select this ingestor');
    }
    const current = ingestor.selection;
    if (current && current.streamId === stream.id) {
      // Selecting again for the same stream hands out the same key rather than breaking a live encoder.
      return { stream_server: current.streamServer, stream_key: current.streamKey };
    }
    const state = this.stateOf(ingestor);
    // The real service's answers here are not documented: an ingestor in use elsewhere is a conflict (409), one
    // that is down refuses with the message the service is known to send for selections it does not allow (403).
    if (state === 'unavailable') throw new ThetaServiceError(403, 'You are not authorized to select this ingestor');
    if (state !== 'available') {
      throw new ThetaServiceError(409, `Ingestor ${ingestor.definition.id} is not available for selection: it is ${state}`);
    }
    if (stream.selection) {
      if (stream.publish || stream.status === 'on') {
        throw new ThetaServiceError(409, 'This stream is live on another ingestor; stop it or unselect that ingestor first');
      }
      // One ingestor per stream: choosing another one frees the previous choice.
      this.endSelection(stream.selection);
    }
    const streamServer = this.environment.streamServerFor(ingestor.definition);
    const selection: Selection = {
      ingestorId: ingestor.definition.id,
      streamId: stream.id,
      serviceAccountId: account.id,
      streamKey: randomStreamKey(),
      streamServer,
      backupStreamKey: randomStreamKey(),
      backupStreamServer: streamServer,
      expiryTimer: null,
    };
    ingestor.selection = selection;
    stream.selection = selection;
    for (const key of [selection.streamKey, selection.backupStreamKey]) {
      this.selectionsByKey.set(key, selection);
      this.environment.keyIssued(key);
    }
    this.armExpiry(selection);
    return { stream_server: selection.streamServer, stream_key: selection.streamKey };
  }

  unselectIngestor(ingestorId: string, account: ThetaServiceAccount): Record<string, never> {
    const ingestor = this.requireIngestor(ingestorId);
    const selection = ingestor.selection;
    if (!selection) throw new ThetaServiceError(400, `Ingestor ${ingestor.definition.id} is not selected`);
    if (selection.serviceAccountId !== account.id) {
      throw new ThetaServiceError(403, 'You are not authorized to unselect this ingestor');
    }
    const stream = this.streams.get(selection.streamId);
    this.endSelection(selection);
    if (stream) this.stopPublish(stream);
    return {};
  }

  /** A publisher arrived with a stream key: accept it only for a live selection of a stream not already on air. */
  startPublish(publish: RtmpPublish): boolean {
    if (this.closed) return false;
    const selection = this.selectionsByKey.get(publish.streamKey);
    const stream = selection ? this.streams.get(selection.streamId) : undefined;
    if (!selection || !stream || stream.publish) return false;
    clearExpiry(selection);
    stream.publish = publish;
    this.setStatus(stream, 'on');
    return true;
  }

  /** The publisher stopped: the stream turns off, its playlist ends, and the ingestor is released, as the real service does. */
  endPublish(publish: RtmpPublish): void {
    const stream = [...this.streams.values()].find((candidate) => candidate.publish?.sessionId === publish.sessionId);
    if (!stream) return;
    stream.publish = null;
    this.setStatus(stream, 'off');
    if (stream.selection) this.endSelection(stream.selection);
  }

  /**
   * Sets a stream's status without any publisher, for tests and demos that need no RTMP: `on` serves a live
   * playlist without segments, `off` ends a live stream as a stopped publisher would (the ingestor is released).
   */
  forceStatus(streamId: string, status: unknown): ThetaStreamView {
    const stream = this.requireStream(streamId);
    if (status !== 'on' && status !== 'off') throw new ThetaServiceError(400, 'status must be "on" or "off"');
    if (status === 'off') {
      const wasOn = stream.status === 'on';
      this.stopPublish(stream);
      if (wasOn && stream.selection) this.endSelection(stream.selection);
    } else if (stream.status !== 'on') {
      this.setStatus(stream, 'on');
    }
    return this.viewStream(stream, true);
  }

  /** Everything the simulator holds, stream keys included, for tests and the demo's debug view. */
  snapshot(): {
    streams: Array<ThetaListedStreamView & { ingestor_id: string | null; stream_key: string | null }>;
    ingestors: ThetaIngestorView[];
  } {
    return {
      streams: [...this.streams.values()].map((stream) => ({
        ...this.viewListedStream(stream),
        ingestor_id: stream.selection?.ingestorId ?? null,
        stream_key: stream.selection?.streamKey ?? null,
      })),
      ingestors: [...this.ingestors.values()].map((ingestor) => this.viewIngestor(ingestor)),
    };
  }

  streamById(streamId: string): { name: string; status: ThetaStreamStatus; playbackUri: string | null } | undefined {
    const stream = this.streams.get(streamId);
    return stream && { name: stream.name, status: stream.status, playbackUri: stream.playback?.uri ?? null };
  }

  /** Clears every timer and disconnects every publisher. */
  close(): void {
    this.closed = true;
    for (const stream of this.streams.values()) {
      if (stream.selection) this.endSelection(stream.selection);
      this.stopPublish(stream);
    }
  }

  private armExpiry(selection: Selection): void {
    clearExpiry(selection);
    selection.expiryTimer = setTimeout(() => {
      selection.expiryTimer = null;
      const stream = this.streams.get(selection.streamId);
      if (stream?.publish) return;
      this.endSelection(selection);
    }, this.settings.selectionTtlMs);
    // A pending expiry must never keep a process alive on its own.
    selection.expiryTimer.unref();
  }

  private endSelection(selection: Selection): void {
    clearExpiry(selection);
    const ingestor = this.ingestors.get(selection.ingestorId);
    if (ingestor?.selection === selection) ingestor.selection = null;
    const stream = this.streams.get(selection.streamId);
    if (stream?.selection === selection) stream.selection = null;
    for (const key of [selection.streamKey, selection.backupStreamKey]) {
      if (this.selectionsByKey.get(key) !== selection) continue;
      this.selectionsByKey.delete(key);
      this.environment.keyRevoked(key);
    }
  }

  /** Disconnects the stream's publisher, if any, and turns the stream off at once. */
  private stopPublish(stream: StreamRecord): void {
    const publish = stream.publish;
    stream.publish = null;
    if (publish) publish.stop();
    if (stream.status === 'on') this.setStatus(stream, 'off');
  }

  private setStatus(stream: StreamRecord, status: ThetaStreamStatus): void {
    stream.status = status;
    stream.updateTime = new Date();
    stream.playback?.end();
    stream.playback = status === 'on' ? this.environment.startPlayback(stream.id, stream.publish) : null;
    stream.playerUri = status === 'on' ? this.environment.playerUriFor(stream.id) : null;
  }

  private streamsOf(serviceAccountId: string): StreamRecord[] {
    return [...this.streams.values()].filter((stream) => stream.serviceAccountId === serviceAccountId);
  }

  private requireStream(streamId: string): StreamRecord {
    const stream = this.streams.get(streamId);
    if (!stream) throw new ThetaServiceError(404, 'Stream not found');
    return stream;
  }

  private requireIngestor(ingestorId: string): IngestorRecord {
    const ingestor = this.ingestors.get(ingestorId);
    if (!ingestor) throw new ThetaServiceError(404, 'Ingestor not found');
    return ingestor;
  }

  private stateOf(ingestor: IngestorRecord): ThetaIngestorState {
    const { selection } = ingestor;
    if (selection) return this.streams.get(selection.streamId)?.publish ? 'busy' : 'selected';
    return ingestor.definition.state ?? 'available';
  }

  private viewIngestor(ingestor: IngestorRecord): ThetaIngestorView {
    const { id, ip, stakes, geo } = ingestor.definition;
    // The key belongs to the selecting account; the public listing never shows it.
    return { id, ip, stream_key: null, state: this.stateOf(ingestor), stakes, geo: [geo[0], geo[1]] };
  }

  /** A stream as account listings show it: with its owner, never with its publishing point. */
  private viewListedStream(stream: StreamRecord): ThetaListedStreamView {
    return {
      id: stream.id,
      service_account_id: stream.serviceAccountId,
      name: stream.name,
      description: '',
      status: stream.status,
      update_time: stream.updateTime.toISOString(),
      playback_uri: stream.playback?.uri ?? null,
      player_uri: stream.playerUri,
      thumbnail_uri: null,
    };
  }

  private viewStream(stream: StreamRecord, withPublishingPoint: boolean): ThetaStreamView {
    const view: ThetaStreamView = {
      id: stream.id,
      name: stream.name,
      description: '',
      status: stream.status,
      update_time: stream.updateTime.toISOString(),
      playback_uri: stream.playback?.uri ?? null,
      player_uri: stream.playerUri,
      thumbnail_uri: null,
      use_drm: false,
    };
    if (withPublishingPoint && stream.selection) {
      view.stream_server = stream.selection.streamServer;
      view.stream_key = stream.selection.streamKey;
      view.backup_stream_server = stream.selection.backupStreamServer;
      view.backup_stream_key = stream.selection.backupStreamKey;
    }
    return view;
  }
}

function clearExpiry(selection: Selection): void {
  if (selection.expiryTimer) clearTimeout(selection.expiryTimer);
  selection.expiryTimer = null;
}

function sameSecret(expected: string, presented: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

const idAlphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
const keyAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Uniformly random characters of `alphabet` (rejection sampling, so no character is more likely than another). */
function randomString(length: number, alphabet: string): string {
  const limit = 256 - (256 % alphabet.length);
  let text = '';
  while (text.length < length) {
    for (const byte of randomBytes(length)) {
      if (byte < limit && text.length < length) text += alphabet[byte % alphabet.length];
    }
  }
  return text;
}

/** Random lower-case alphanumerics, the shape of the service's `stream_...` and `srvacc_...` ids. */
export function randomId(length: number): string {
  return randomString(length, idAlphabet);
}

/** A stream key shaped like the real service's: 32 mixed-case letters and digits. */
export function randomStreamKey(): string {
  return randomString(32, keyAlphabet);
}

/** `max_distance` in metres (public code sends 40000000, about the Earth's circumference) as kilometres; absent is no limit. */
function parseMaxDistanceKm(raw: string | null | undefined): number {
  if (raw === undefined || raw === null || raw === '') return Infinity;
  const metres = Number(raw);
  // How the real service answers a malformed value is unknown; refusing it catches client mistakes early.
  if (!Number.isFinite(metres) || metres < 0) throw new ThetaServiceError(400, 'max_distance must be a non-negative number of metres');
  return metres / 1000;
}

/** An address as a lookup key: IPv4-mapped IPv6 addresses and a port after an IPv4 address removed. */
function normalizeAddress(address: string): string {
  let result = address.trim().toLowerCase();
  if (result.startsWith('::ffff:') && result.includes('.')) result = result.slice('::ffff:'.length);
  if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(result)) result = result.slice(0, result.lastIndexOf(':'));
  if (result.startsWith('[') && result.includes(']')) result = result.slice(1, result.indexOf(']'));
  return result;
}

/** Great-circle distance in kilometres between two `[longitude, latitude]` points. */
export function distanceKm(from: GeoPoint, to: GeoPoint): number {
  const toRadians = (degrees: number) => (degrees * Math.PI) / 180;
  const [lon1, lat1] = from;
  const [lon2, lat2] = to;
  const dLat = toRadians(lat2 - lat1);
  const dLon = toRadians(lon2 - lon1);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(toRadians(lat1)) * Math.cos(toRadians(lat2)) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
