/**
 * The client's half of Kit's signaling envelope: `peer_info` / `peer_msg` / `error` from the server, every client
 * payload wrapped in a `peer_msg` with an `ackid`, cumulative `{"ack": n}` both ways and `{"hb": n}` heartbeats.
 * Pure state, no socket: the connector feeds it frames and sends what it returns.
 */
import { readServerMessage } from '../internal/errors.js';
import { isRecord, parseJson } from '../internal/json.js';

export type SignalingEvent =
  | { type: 'peer-info'; id: number; name: string }
  /** `peer_msg.msg`, parsed. */
  | { type: 'peer-message'; from: number; message: Record<string, unknown> }
  /** `peer_msg.msg` was the bare string `BYE`: the server ended the stream normally. */
  | { type: 'bye' }
  | { type: 'error'; error: string };

export interface SignalingReceipt {
  events: SignalingEvent[];
  /** Text to send back: the cumulative `{"ack": n}`, present when the frame carried an `ackid`. */
  ack?: string;
  heartbeat?: boolean;
}

/** Larger frames are refused unread: an offer with its candidates is a few kilobytes. */
const maxFrameChars = 1 << 20;

/**
 * Envelopes kept for re-sending until acknowledged. A session sends an answer and a few dozen candidates, so an
 * acknowledging server never gets near this; a server that never acknowledges would otherwise make the list grow for
 * the whole session, and re-sending hundreds of stale envelopes after a reconnect helps nobody.
 */
const maxRetained = 256;

/** A number, or a string holding one (some servers send ids and ackids as strings); otherwise NaN. */
function toNumber(value: unknown): number {
  return typeof value === 'number' || (typeof value === 'string' && /\S/.test(value)) ? Number(value) : NaN;
}

export class SignalingProtocol {
  #ownId = 0;
  #serverId = -1;
  #nextAckId = 1;
  #maxReceivedAckId = 0;
  /** Envelopes not yet acknowledged, oldest first, by ackid. */
  #retained: [number, string][] = [];

  constructor(readonly peerName: string) {}

  /** 0 until a `peer_info` names this peer, or the first `peer_info` arrives while it is still 0. */
  get ownId(): number {
    return this.#ownId;
  }

  /** -1 until a `peer_msg` arrives: its `from` is the peer to answer. */
  get serverId(): number {
    return this.#serverId;
  }

  /** Wraps a payload in a `peer_msg` envelope with the next ackid and keeps it until the server acknowledges it. */
  wrap(payload: unknown): string {
    const ackid = this.#nextAckId++;
    const text = JSON.stringify({
      peer_msg: { from: this.#ownId, to: this.#serverId, msg: JSON.stringify(payload) },
      ackid,
    });
    if (this.#retained.push([ackid, text]) > maxRetained) this.#retained.shift();
    return text;
  }

  /** Every envelope not yet acknowledged, oldest first: sent again whenever a socket (re)opens. */
  unacknowledged(): string[] {
    return this.#retained.map((entry) => entry[1]);
  }

  /** Reads one server text frame: what to act on, and the acknowledgement to send back. */
  receive(text: string): SignalingReceipt {
    const message = typeof text === 'string' && text.length <= maxFrameChars ? parseJson(text) : undefined;
    if (!isRecord(message)) return { events: [] };
    // Any truthy `hb` is a heartbeat, so `{"hb": 0}` is read as an ordinary message, as Kit's own client does.
    if (message.hb) return { events: [], heartbeat: true };
    const { ack, ackid } = message;
    if (ack !== undefined) {
      const acked = toNumber(ack);
      // Written so that an ack that is no number (NaN) removes nothing.
      this.#retained = this.#retained.filter(([retained]) => !(retained <= acked));
    }
    // A frame holding only an acknowledgement carries nothing else to act on.
    if (ackid == null) return ack === undefined ? this.#dispatch(message) : { events: [] };
    const received = toNumber(ackid);
    // Only a positive whole number is an ackid: one like 1e300 would make every later message look like a duplicate.
    if (!Number.isSafeInteger(received) || received <= 0) return { events: [] };
    // Ackids increase but need not be consecutive; anything not above the highest seen is a re-sent duplicate.
    const receipt: SignalingReceipt = received > this.#maxReceivedAckId ? this.#dispatch(message) : { events: [] };
    receipt.ack = JSON.stringify({ ack: (this.#maxReceivedAckId = Math.max(this.#maxReceivedAckId, received)) });
    return receipt;
  }

  #dispatch({ peer_info: info, peer_msg: envelope, error }: Record<string, unknown>): SignalingReceipt {
    if (isRecord(info)) {
      const id = toNumber(info.id);
      if (!Number.isFinite(id)) return { events: [] };
      const name = typeof info.name === 'string' ? info.name : '';
      if (name === this.peerName || !this.#ownId) this.#ownId = id;
      return { events: [{ type: 'peer-info', id, name }] };
    }
    if (isRecord(envelope)) {
      const from = toNumber(envelope.from);
      if (Number.isFinite(from)) this.#serverId = from;
      if (envelope.msg === 'BYE') return { events: [{ type: 'bye' }] };
      // `msg` is a JSON string on the wire; an object is accepted as it is.
      const inner = parseJson(envelope.msg);
      return isRecord(inner) ? { events: [{ type: 'peer-message', from: this.#serverId, message: inner }] } : { events: [] };
    }
    // Kit sends a word (`peerRemoved`); a message in any other shape is read as an HTTP error's would be.
    return { events: error ? [{ type: 'error', error: readServerMessage(error) ?? JSON.stringify(error) }] : [] };
  }
}

/** A peer name as Kit's client draws it: `peer-` and a random integer below 10^9, right-padded with `0` to 10 digits. */
export function createPeerName(): string {
  const random = new Uint32Array(1);
  // Draws above 4·10^9 are redrawn so that every value below 10^9 is equally likely.
  do crypto.getRandomValues(random);
  while (random[0] >= 4e9);
  return `peer-${String(random[0] % 1e9).padEnd(10, '0')}`;
}

export interface SignalingBase {
  secure: boolean;
  host: string;
  port: number;
  /**
   * Path prefix in front of `/sign_in` (none by default). A path that already ends with `/sign_in` is used as it is,
   * so a value naming the whole path, as the `signaling-path` attribute once did, keeps working.
   */
  path?: string;
}

/** The sign-in URL: `<ws|wss>://host:port[/path]/sign_in?peer_id=<name>&version=2[&reconnect=1]`. */
export function signInUrl(base: SignalingBase, peerName: string, options: { reconnect?: boolean } = {}): string {
  const host = base.host.includes(':') && !base.host.startsWith('[') ? `[${base.host}]` : base.host;
  // Without trailing slashes, with a leading one, and with `/sign_in` at the end unless it is there already.
  const path = (base.path ?? '')
    .replace(/\/+$/, '')
    .replace(/^(?=[^/])/, '/')
    .replace(/(\/sign_in)?$/, '/sign_in');
  return (
    `${base.secure ? 'wss' : 'ws'}://${host}:${base.port}${path}?peer_id=${encodeURIComponent(peerName)}&version=2` +
    (options.reconnect ? '&reconnect=1' : '')
  );
}

/**
 * The WebSocket subprotocol that carries the session (and, when given, the bearer token: browsers cannot set
 * headers on a WebSocket). Both values must be HTTP token characters, or the WebSocket constructor throws.
 */
export function sessionProtocol(sessionId: string, accessToken?: string): string {
  return `x-nv-sessionid.${sessionId}${accessToken ? `-Authorization.Bearer-${accessToken}` : ''}`;
}
