import type { KitCloseReason } from './connector.js';
import { type SignalingBase, SignalingProtocol, createPeerName, signInUrl } from './signaling-protocol.js';

/** What the signaling socket needs from the connection it serves. */
export interface SignalingHost {
  /** True while `connect` is pending: a socket lost before the offer then ends the attempt. */
  connecting(): boolean;
  /** A `peer_msg` payload from the server: the offer, or a trickled candidate. */
  peerMessage(message: Record<string, unknown>): void;
  /** Video frames decoded so far (`undefined` when unknown), to tell a lost socket from a lost stream. */
  frames(): Promise<number | undefined>;
  /** Ends the connection: see `KitConnectOptions.onClosed`. */
  fail: (reason: KitCloseReason, detail: string) => void;
  log: (...parts: unknown[]) => void;
}

/** Kit's signaling WebSocket of one connection. */
export interface SignalingSocket {
  /** Sends a payload to the server peer in an acknowledged envelope, now or when a socket opens. */
  send(payload: unknown): void;
  close(): void;
}

/**
 * Signs in and keeps signaling up: acknowledges what the server sends, re-sends what the server has not acknowledged
 * whenever a socket opens, and re-opens a lost or silent socket (`&reconnect=1`) with backoff while the media flows.
 */
export function openSignaling(base: SignalingBase, subprotocol: string, host: SignalingHost): SignalingSocket {
  const protocol = new SignalingProtocol(createPeerName());
  const { fail, log } = host;
  let socket: WebSocket | undefined;
  /** Sockets opened so far; every one after the first is a re-open of the same session (`&reconnect=1`). */
  let opens = 0;
  /** Re-opens in a row that did not reach `open`: the backoff grows with them. */
  let failedOpens = 0;
  /** Frames decoded as of the last re-open that did not reach `open`. */
  let framesAtRefusal: number | undefined = -1;
  /** Re-opens a socket that went silent after it had been sending heartbeats. */
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  let lastHeartbeat = 0;
  let heartbeatGap = 0;
  let reopenTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const closeSocket = (code: number, reason: string) => {
    const current = socket;
    socket = undefined;
    // 1 is WebSocket.OPEN: a socket still connecting is closed too.
    if (current && current.readyState <= 1) current.close(code, reason);
  };

  /** Sends on the socket when it is open; envelopes are kept by the protocol and re-sent on re-open. */
  const write = (text: string) => {
    log('signaling out', text);
    if (socket?.readyState === 1) socket.send(text);
  };

  /**
   * A socket that sent heartbeats and then fell silent for three of their periods (at least 10 s) is half-open, as
   * after a laptop's sleep or a changed network: it is re-opened. A server that never sends heartbeats is never
   * judged by them, and silence alone never ends the stream.
   */
  const armWatchdog = () => {
    clearTimeout(watchdog);
    if (heartbeatGap)
      watchdog = setTimeout(
        () => {
          log('signaling silent, re-opening');
          lastHeartbeat = heartbeatGap = 0;
          closeSocket(4000, 'no heartbeat');
          open();
        },
        Math.max(10_000, 3 * heartbeatGap),
      );
  };

  const receive = (data: unknown) => {
    if (closed || typeof data !== 'string') return;
    const { events, ack, heartbeat } = protocol.receive(data);
    if (heartbeat) {
      const now = performance.now();
      if (lastHeartbeat) heartbeatGap = now - lastHeartbeat;
      lastHeartbeat = now;
    } else log('signaling in', data);
    armWatchdog();
    if (ack) write(ack);
    for (const event of events) {
      if (event.type === 'peer-message') host.peerMessage(event.message);
      else if (event.type === 'bye') fail('server-ended', 'The server ended the stream.');
      else if (event.type === 'error' && event.error === 'peerRemoved') fail('server-ended', 'The server ended the stream (peerRemoved).');
      else if (event.type === 'error') fail('server-error', `The signaling server reported an error: ${event.error}`);
    }
  };

  /**
   * Re-opens a socket lost once the media flowed, with backoff. A re-open that did not reach `open` (`refused`) is
   * checked first: refused twice with not one frame decoded in between (at least the 1 s backoff), the server has let
   * go of this viewer, as Kit does when a frozen tab's socket closes with 1001 as the tab resumes. The picture is then
   * frozen, and re-opening for ever would only delay the reconnect that brings it back. While frames arrive, signaling
   * loss is not media loss, and re-opens go on. (The socket's close comes as the tab resumes, so a `resume` listener
   * would learn nothing sooner.)
   */
  const reopen = async (refused: boolean, why: string) => {
    if (refused) {
      const frames = await host.frames().catch(() => undefined);
      if (closed) return;
      if (frames === framesAtRefusal) {
        fail('signaling-closed', `Signaling closed (${why}), and no video arrives.`);
        return;
      }
      framesAtRefusal = frames;
    }
    reopenTimer = setTimeout(open, Math.min(500 * 2 ** failedOpens++, 10_000));
  };

  const open = () => {
    const url = signInUrl(base, protocol.peerName, { reconnect: opens++ > 0 });
    log('signaling', url);
    // A subprotocol is an HTTP token; the browser's own error would quote it, access token included.
    if (!/^[\w!#$%&'*+.^`|~-]+$/.test(subprotocol)) {
      fail('signaling-error', 'The session id or access token has characters a WebSocket subprotocol cannot carry.');
      return;
    }
    let current: WebSocket;
    try {
      current = socket = new WebSocket(url, subprotocol);
    } catch {
      fail('signaling-error', `The signaling address is not valid: ${url}`);
      return;
    }
    let opened = false;
    current.addEventListener('open', () => {
      opened = true;
      failedOpens = 0;
      // Whatever the server has not acknowledged may have been lost with the previous socket.
      for (const text of protocol.unacknowledged()) write(text);
    });
    current.addEventListener('message', ({ data }) => receive(data));
    current.addEventListener('close', (event) => {
      if (socket !== current || closed) return;
      socket = undefined;
      // The watchdog is for an open socket: firing during the backoff, it would open a second one.
      clearTimeout(watchdog);
      const why = event.reason ? `${event.code}: ${event.reason}` : String(event.code);
      log('signaling closed', why);
      // Before the stream is up, a lost socket is a failed attempt; once media flows, it is only signaling that
      // was lost: the picture goes on while the socket is re-opened.
      if (host.connecting() && !(opened && protocol.serverId >= 0)) {
        fail('signaling-closed', `Signaling closed (${why}).`);
        return;
      }
      void reopen(!opened, why);
    });
  };

  open();
  return {
    send: (payload) => write(protocol.wrap(payload)),
    close: () => {
      closed = true;
      clearTimeout(reopenTimer);
      clearTimeout(watchdog);
      closeSocket(1000, 'closed by client');
    },
  };
}
