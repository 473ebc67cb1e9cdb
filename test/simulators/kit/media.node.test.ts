/**
 * The simulated Kit session's media, end to end on loopback, driven by a client
 * written from KIT-PROTOCOL.md (not from the player's code): a `ws` signaling
 * socket with Kit's subprotocol, peer_info, ackids and cumulative acks, a werift
 * peer connection that creates `input_channel_v1` and `cursor_channel`, takes
 * `control_channel` from the server, receives H264 through the media route, and
 * speaks the binary input protocol and the app-message wire forms.
 *
 * Run: node --import tsx --test test/simulators/kit/media.node.test.ts
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { RTCPeerConnection } from 'werift';
import type { RTCDataChannel } from 'werift';
import { WebSocket } from 'ws';
import { createKitMediaFactory, rewriteOfferCandidates } from '../../../demo/simulators/kit/media/index.js';
import type { KitMediaFactoryOptions, KitMediaSessionHandle } from '../../../demo/simulators/kit/media/index.js';
import { nvstAnswerProblems } from '../../../demo/simulators/kit/media/session.js';
import { isRecord, parseJson } from '../../../src/internal/json.js';
import { delay, waitFor, withTimeout } from '../../support/waiting.js';
import { loopbackH264Receiver } from '../../support/werift-receiver.js';

const STAGE_URI = 'omniverse://simulated/stage.usd';
const ROUTE_IP = '127.0.0.1';
const openSessions = new Set<KitMediaSessionHandle>();
const openClients = new Set<KitTestClient>();

after(async () => {
  await Promise.all([...openClients].map((client) => client.close()));
  await Promise.all([...openSessions].map((media) => media.close()));
});

async function startSession(id: string, options: KitMediaFactoryOptions = {}): Promise<KitMediaSessionHandle> {
  const media = await createKitMediaFactory({ heartbeatMs: 300, ...options })({
    id,
    usdStageUri: STAGE_URI,
    routeIp: ROUTE_IP,
    appId: 'usd-viewer',
    profile: 'default',
    version: '1',
  });
  openSessions.add(media);
  return media;
}

/** Bytes from a hex listing such as `05 00 00 00`. */
function hex(listing: string): Buffer {
  return Buffer.from(listing.replace(/\s+/g, ''), 'hex');
}

/** §5.3, version > 2: `0x23 <u64 BE send time µs> 0x22 <event>`. */
function framed(sendTimeUs: number, event: Buffer): Buffer {
  const head = Buffer.alloc(10);
  head[0] = 0x23;
  head.writeBigUInt64BE(BigInt(sendTimeUs), 1);
  head[9] = 0x22;
  return Buffer.concat([head, event]);
}

// §5.4: a 1920x1080 picture shown at 1:1, TS 1 234 567 µs. The stream here is 320x240, so the app scales by 1/6 and 2/9.
/** Absolute move to (100, 50), reference 1920x1080: stream (16.7, 11.1), inside the text region (top 20 %). */
const MOVE_TEXT_REGION = hex('05 00 00 00  00 64  00 32  00 00  07 80  04 38  00 00 00 00  00 00 00 00 00 12 D6 87');
/** The same move to (480, 540): stream (80, 120), the cube's half of the picture. */
const MOVE_CUBE = hex('05 00 00 00  01 E0  02 1C  00 00  07 80  04 38  00 00 00 00  00 00 00 00 00 12 D6 87');
const LEFT_DOWN = hex('08 00 00 00  01  00  00 00 00 00  00 00 00 00 00 12 D6 87');
const LEFT_UP = hex('09 00 00 00  01  00  00 00 00 00  00 00 00 00 00 12 D6 87');
/** The document's version 3 form of the button down, as a check of {@link framed}. */
const LEFT_DOWN_V3 = hex('23 00 00 00 00 00 12 D6 90 22 08 00 00 00 01 00 00 00 00 00 00 00 00 00 00 12 D6 87');
/** The §4.1 wire example, exactly: three levels, two of them JSON strings. */
const LOADING_STATE_QUERY_FRAME = String.raw`{"customMessage":"{\"messageType\":\"json\",\"messageRecipient\":\"kit\",\"data\":\"{\\\"event_type\\\":\\\"loadingStateQuery\\\",\\\"payload\\\":{}}\"}"}`;

type Frame = Record<string, unknown>;
interface OfferMessage {
  type: 'offer';
  sdp: string;
  nvstSdp?: string;
}
interface MediaRoute {
  address: string;
  port: number;
}

/** A client doing what NVIDIA's browser library does (§1-§6), with werift as its WebRTC stack. */
class KitTestClient {
  /** §1.1: a random integer below 10^9, right-padded with 0 to 10 digits. */
  readonly peerName = `peer-${String(Math.floor(Math.random() * 1e9)).padEnd(10, '0')}`;
  /** Every frame received on any of this client's sockets, in order. */
  readonly frames: Frame[] = [];
  /** Text frames that were no JSON object. */
  readonly unreadable: string[] = [];
  readonly offers: OfferMessage[] = [];
  /** Close code of each socket, in order. */
  readonly closeCodes: number[] = [];
  ownId = 0;
  serverId = -1;
  ws!: WebSocket;
  pc: RTCPeerConnection | undefined;
  input: RTCDataChannel | undefined;
  control: RTCDataChannel | undefined;
  readonly inputReceived: Buffer[] = [];
  readonly cursorReceived: Buffer[] = [];
  readonly controlReceived: string[] = [];
  readonly payloadTypes = new Set<number>();
  readonly streamIds: string[] = [];
  rtpPackets = 0;
  /** One counter for every envelope, starting at 1 (§1.4). */
  private nextAckId = 1;
  private maxReceivedAckId = 0;
  /** Sent envelopes the server has not acknowledged yet, by ackid; re-sent on every socket open. */
  readonly retained = new Map<number, string>();
  private answered = false;
  private readonly pendingCandidates: unknown[] = [];

  private constructor(
    readonly port: number,
    readonly protocol: string,
  ) {
    openClients.add(this);
  }

  static async signIn(port: number, protocol: string): Promise<KitTestClient> {
    const client = new KitTestClient(port, protocol);
    await client.open();
    return client;
  }

  /** Opens a socket; `reconnect` adds `&reconnect=1` and keeps the peer name, ids and counters (§1.6). */
  async open(reconnect = false): Promise<void> {
    const query = `peer_id=${this.peerName}&version=2${reconnect ? '&reconnect=1' : ''}`;
    const ws = new WebSocket(`ws://127.0.0.1:${this.port}/sign_in?${query}`, [this.protocol]);
    this.ws = ws;
    // Frames can arrive in the same tick as 'open'.
    ws.on('message', (data) => this.receive(rawText(data)));
    ws.on('close', (code) => this.closeCodes.push(code));
    ws.on('error', () => {});
    await withTimeout(
      'the signaling socket to open',
      new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('unexpected-response', (_request, response) => reject(new Error(`sign-in refused with HTTP ${response.statusCode}`)));
        ws.once('error', reject);
      }),
    );
    assert.equal(ws.protocol, this.protocol, 'the server echoes the subprotocol');
    for (const text of this.retained.values()) ws.send(text);
  }

  /**
   * §1.3: hb ignored, ack drops retained envelopes, ackid-bearing messages deduplicated and acknowledged cumulatively.
   * A frame that is no JSON object is kept in {@link unreadable} and otherwise ignored.
   */
  private receive(text: string): void {
    const frame = parseObject(text);
    if (!frame) {
      this.unreadable.push(text);
      return;
    }
    this.frames.push(frame);
    if (frame['hb']) return;
    if (typeof frame['ack'] === 'number') {
      for (const ackid of this.retained.keys()) if (ackid <= frame['ack']) this.retained.delete(ackid);
      return;
    }
    const ackid = frame['ackid'];
    if (typeof ackid === 'number') {
      const fresh = ackid > this.maxReceivedAckId;
      if (fresh) this.maxReceivedAckId = ackid;
      this.ws.send(JSON.stringify({ ack: this.maxReceivedAckId }));
      if (!fresh) return;
    }
    const info = frame['peer_info'] as { id: number; name: string } | undefined;
    if (info && (info.name === this.peerName || this.ownId === 0)) this.ownId = info.id;
    const peerMsg = frame['peer_msg'] as { from: number; msg: string } | undefined;
    if (peerMsg && peerMsg.msg !== 'BYE') {
      const msg = parseObject(peerMsg.msg);
      if (msg?.['type'] === 'offer') {
        this.serverId = peerMsg.from;
        this.offers.push(msg as unknown as OfferMessage);
      }
    }
  }

  /** Sends `msg` in the §1.4 envelope and retains it until acknowledged; returns its ackid. */
  send(msg: unknown): number {
    const ackid = this.nextAckId++;
    const text = JSON.stringify({ peer_msg: { from: this.ownId, to: this.serverId, msg: JSON.stringify(msg) }, ackid });
    this.retained.set(ackid, text);
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
    return ackid;
  }

  /** Sets the peer connection up for the latest offer, as §2-§3 describe, and returns the answer message (not sent). */
  async prepareAnswer(route: MediaRoute | undefined): Promise<Frame> {
    await waitFor('the offer', () => this.offers.length > 0);
    const offer = this.offers.at(-1)!;
    const pc = loopbackH264Receiver();
    this.pc = pc;
    pc.ontrack = (event) => {
      this.streamIds.push(...event.streams.map((stream) => stream.id));
      event.track.onReceiveRtp.subscribe((packet) => {
        this.rtpPackets++;
        this.payloadTypes.add(packet.header.payloadType);
      });
    };
    pc.onDataChannel.subscribe((channel) => {
      if (channel.label !== 'control_channel') return;
      this.control = channel;
      channel.onMessage.subscribe((data) => this.controlReceived.push(typeof data === 'string' ? data : data.toString('utf8')));
    });
    // §2.5: every non-TCP local candidate goes out as a peer_msg, in the browser's `candidate:` form, after the answer.
    pc.onIceCandidate.subscribe((candidate) => {
      if (!candidate || / tcp /i.test(candidate.candidate)) return;
      const text = candidate.candidate.startsWith('candidate:') ? candidate.candidate : `candidate:${candidate.candidate}`;
      this.pendingCandidates.push({ sdpMLineIndex: candidate.sdpMLineIndex, sdpMid: candidate.sdpMid, candidate: text });
      if (this.answered) this.flushCandidates();
    });
    // §3: the client's channels exist before the offer is applied. Even stream ids, as a DTLS client (Chromium) picks.
    const input = pc.createDataChannel('input_channel_v1', { ordered: true, id: 0 });
    input.onMessage.subscribe((data) => this.inputReceived.push(Buffer.from(data)));
    this.input = input;
    const cursor = pc.createDataChannel('cursor_channel', { ordered: true, id: 2 });
    cursor.onMessage.subscribe((data) => this.cursorReceived.push(Buffer.from(data)));
    // §2.4: the offer's candidates name in-cluster addresses; the route is the way in.
    await pc.setRemoteDescription({ type: 'offer', sdp: route ? rewriteOfferCandidates(offer.sdp, route) : offer.sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    return { type: 'answer', sdp: pc.localDescription!.sdp };
  }

  sendAnswer(answer: Frame): number {
    const ackid = this.send(answer);
    this.answered = true;
    this.flushCandidates();
    return ackid;
  }

  async answer(route: MediaRoute | undefined): Promise<void> {
    this.sendAnswer(await this.prepareAnswer(route));
  }

  private flushCandidates(): void {
    for (const candidate of this.pendingCandidates.splice(0)) this.send(candidate);
  }

  sendInput(...messages: Buffer[]): void {
    for (const message of messages) this.input!.send(message);
  }

  /** Frames received without an ackid, other than hb and ack: errors. */
  errors(): unknown[] {
    return this.frames.filter((frame) => 'error' in frame).map((frame) => frame['error']);
  }

  /** App messages received on control_channel (§4.2 form), with any other keys they had. */
  appMessages(): Frame[] {
    return this.controlReceived
      .map((text) => JSON.parse(text) as Frame)
      .filter((frame) => typeof frame['customMessage'] === 'string')
      .map((frame) => JSON.parse(frame['customMessage'] as string) as Frame);
  }

  async close(): Promise<void> {
    openClients.delete(this);
    this.ws.terminate();
    await this.pc?.close();
  }
}

/** The JSON object `text` holds, or undefined. */
function parseObject(text: string): Frame | undefined {
  const value = parseJson(text);
  return isRecord(value) ? value : undefined;
}

function rawText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function sessionProtocol(sessionId: string): string {
  return `x-nv-sessionid.${sessionId}`;
}

/** A sign-in that must be refused before the upgrade; resolves with the HTTP status. */
async function refusedSignIn(port: number, protocols: string[]): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/sign_in?peer_id=peer-1234567890&version=2`, protocols);
  ws.on('error', () => {});
  return withTimeout(
    'the refusal',
    new Promise((resolve, reject) => {
      ws.once('open', () => {
        ws.terminate();
        reject(new Error('sign-in was accepted'));
      });
      ws.once('unexpected-response', (request, response) => {
        request.destroy();
        resolve(response.statusCode ?? 0);
      });
    }),
  );
}

/** §6: kind, id, hotspot, MIME, base64 image, optional position; undefined when the bytes do not fit the layout. */
function readCursor(bytes: Buffer): { kind: number; id: number; mime: string; image: string; rest: number } | undefined {
  if (bytes.length < 5) return undefined;
  const mimeEnd = 5 + bytes[4]!;
  if (bytes.length < mimeEnd + 2) return undefined;
  const imageEnd = mimeEnd + 2 + bytes.readUInt16LE(mimeEnd);
  if (bytes.length < imageEnd) return undefined;
  return {
    kind: bytes[0]!,
    id: bytes[1]!,
    mime: bytes.subarray(5, mimeEnd).toString('utf8'),
    image: bytes.subarray(mimeEnd + 2, imageEnd).toString('utf8'),
    rest: bytes.length - imageEnd,
  };
}

function violations(media: KitMediaSessionHandle): string[] {
  return media.inspect('violations') as string[];
}

function peerMsgOf(frame: Frame): { from: number; to: number; msg: string } | undefined {
  return frame['peer_msg'] as { from: number; to: number; msg: string } | undefined;
}

/** The nvstSdp answer §2.3 asks for: the server's o= and t=, the answer's ICE and DTLS values, each offered section. */
function nvstAnswerFor(offerNvstSdp: string, answerSdp: string): string {
  const lines = offerNvstSdp.split(/\r?\n/);
  const session = (prefix: string) => lines.find((line) => line.startsWith(prefix)) ?? '';
  const attribute = (name: string) => new RegExp(`^a=${name}:(.+?)\\s*$`, 'm').exec(answerSdp)?.[1] ?? '';
  const sections = lines.flatMap((line, index) =>
    line.startsWith('m=') ? [`m=${line.slice(2).split(' ')[0]} 0 RTP/AVP`, lines[index + 1]!] : [],
  );
  return [
    'v=0',
    session('o='),
    's=-',
    session('t='),
    `a=general.icePassword:${attribute('ice-pwd')}`,
    `a=general.iceUserNameFragment:${attribute('ice-ufrag')}`,
    `a=general.dtlsFingerprint:${attribute('fingerprint').split(' ')[1]!.toUpperCase()}`,
    ...sections,
    '',
  ].join('\r\n');
}

function mediaSection(sdp: string, kind: string): string {
  return new RegExp(`m=${kind} [^]*?(?=\\r\\nm=|$)`).exec(sdp)?.[0] ?? '';
}

describe('a Kit session streaming to a client that follows the protocol', () => {
  const sessionId = '3f9a7c1e-0d2b-4c5a-9e8f-112233445566';
  let media: KitMediaSessionHandle;
  let client: KitTestClient;
  let route: MediaRoute;

  before(async () => {
    media = await startSession(sessionId);
    route = { address: ROUTE_IP, port: media.media.sourcePort };
  });

  it('signs in with the subprotocol and streams H264 through the media route', async (t) => {
    assert.equal(await refusedSignIn(media.signaling.sourcePort, []), 400, 'no subprotocol');
    assert.equal(await refusedSignIn(media.signaling.sourcePort, [sessionProtocol('another-session')]), 400);
    client = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
    const openedAt = performance.now();

    await waitFor('peer_info twice and the offer', () => client.offers.length === 1);
    const [clientInfo, serverInfo, offerFrame] = client.frames.filter((frame) => 'ackid' in frame);
    assert.deepEqual(
      [clientInfo, serverInfo, offerFrame].map((frame) => frame!['ackid']),
      [1, 2, 3],
    );
    assert.equal((clientInfo!['peer_info'] as { name: string }).name, client.peerName);
    assert.equal(client.ownId, (clientInfo!['peer_info'] as { id: number }).id);
    assert.equal(client.serverId, (serverInfo!['peer_info'] as { id: number }).id);
    assert.equal((offerFrame!['peer_msg'] as { to: number }).to, client.ownId);

    const offer = client.offers[0]!;
    const video = mediaSection(offer.sdp, 'video');
    const h264Type = Number(/a=rtpmap:(\d+) H264\/90000/.exec(video)?.[1]);
    assert.ok(h264Type > 0, 'H264 in the offer');
    assert.match(offer.sdp, /a=ice-lite/);
    assert.match(offer.sdp, /a=setup:actpass/);
    assert.match(video, /a=msid:app_media_stream /);
    assert.match(offer.sdp, /m=application \d+ UDP\/DTLS\/SCTP webrtc-datachannel/);
    assert.match(offer.sdp, new RegExp(`a=candidate:\\S+ 1 udp \\d+ 127\\.0\\.0\\.1 ${media.media.destinationPort} typ host`));
    assert.equal(offer.nvstSdp, undefined, 'no nvstSdp unless configured');

    // An envelope without from and ackid is not Kit's: recorded, not acted on, not acknowledged.
    const refusals = violations(media);
    assert.equal(refusals.length, 2, 'each refused sign-in is recorded');
    assert.match(refusals[0]!, /subprotocol .* missing/);
    const answer = await client.prepareAnswer(route);
    client.ws.send(JSON.stringify({ peer_msg: { to: client.serverId, msg: JSON.stringify(answer) } }));
    await waitFor('the violation', () => violations(media).length === 3);
    assert.match(violations(media)[2]!, /envelope/);
    assert.equal(media.inspect('answer'), null);
    assert.equal(media.peerState(), 'new');

    assert.equal(client.sendAnswer(answer), 1, 'the envelope counter starts at 1');
    await waitFor('H264 RTP through the media route', () => client.rtpPackets > 30, 8000);
    t.diagnostic(`30 RTP packets ${(performance.now() - openedAt).toFixed(0)} ms after sign-in`);
    assert.deepEqual([...client.payloadTypes], [h264Type]);
    assert.deepEqual(client.streamIds, ['app_media_stream']);
    assert.equal((media.inspect('answer') as { sdp: string }).sdp, answer['sdp']);
    await waitFor('every envelope acknowledged', () => client.retained.size === 0);
    assert.ok(client.frames.some((frame) => frame['ack'] === 1));
    const trickled = (media.inspect('envelopes') as { direction: string; message: { peer_msg?: { msg?: unknown } } }[]).filter(
      (entry) => entry.direction === 'in' && String(entry.message.peer_msg?.msg).startsWith('{"sdpMLineIndex"'),
    );
    assert.ok(trickled.length > 0, 'the client trickled its candidates, and they were accepted');
    assert.deepEqual(media.signalingServer.unacknowledged(), [], 'the client acknowledged every server message');
    await waitFor('the three channels open', () => {
      const channels = media.inspect('channels') as Record<string, string>;
      return ['control_channel', 'input_channel_v1', 'cursor_channel'].every((label) => channels[label] === 'open');
    });
    await waitFor('control_channel at the client', () => client.control?.readyState === 'open');
    assert.equal(media.connections(), 2, 'one signaling socket and one connected peer');
    const signIn = media.inspect('sign-in') as { last: { peerId: string; protocol: string; reconnect: boolean }; reconnects: number };
    assert.deepEqual(signIn, {
      last: { ...signIn.last, peerId: client.peerName, protocol: sessionProtocol(sessionId), reconnect: false },
      reconnects: 0,
    });
    assert.equal(violations(media).length, 3, 'nothing else was against the protocol');
    await waitFor('a heartbeat without ackid', () => client.frames.some((frame) => typeof frame['hb'] === 'number'), 2000);
    assert.ok(client.frames.filter((frame) => 'hb' in frame).every((frame) => !('ackid' in frame)));
  });

  it('speaks input version 3: handshake first, a click selects, the top 20 % shows the text cursor', async () => {
    assert.ok(client?.input, 'needs the stream of the first test');
    await waitFor('the handshake', () => client.inputReceived.length > 0);
    assert.deepEqual(client.inputReceived[0], hex('0E 02 03 00'), 'marker 526, version 3');
    assert.deepEqual(framed(0x12d690, LEFT_DOWN), LEFT_DOWN_V3);

    client.sendInput(framed(0x12d688, MOVE_CUBE), framed(0x12d690, LEFT_DOWN), framed(0x12d6a0, LEFT_UP));
    await waitFor('stageSelectionChanged', () => client.appMessages().some((m) => m['event_type'] === 'stageSelectionChanged'));
    assert.deepEqual(client.appMessages(), [{ event_type: 'stageSelectionChanged', payload: { prims: ['/World/Cube'] } }]);
    await waitFor('the default cursor', () => client.cursorReceived.length === 1);
    assert.deepEqual(readCursor(client.cursorReceived[0]!), { kind: 0, id: 1, mime: '', image: '', rest: 0 });

    client.sendInput(framed(0x12d6b0, MOVE_TEXT_REGION), framed(0x12d6c0, LEFT_DOWN), framed(0x12d6d0, LEFT_UP));
    await waitFor('the text cursor', () => client.cursorReceived.length === 2);
    const textCursor = readCursor(client.cursorReceived[1]!);
    assert.ok(textCursor, 'the §6 layout');
    assert.equal(textCursor.kind, 0, 'a system cursor');
    assert.equal(textCursor.id, 2, 'the text cursor');
    assert.ok(textCursor.rest === 0 || textCursor.rest >= 4, 'nothing but an optional position follows the image');

    await waitFor('six input events decoded', () => (media.inspect('input') as unknown[]).length === 6);
    const decoded = media.inspect('input') as Frame[];
    assert.deepEqual(
      decoded.map(({ kind, x, y, refWidth, refHeight, button, down, framed: isFramed }) => ({
        kind,
        ...(kind === 'move' ? { x, y, refWidth, refHeight } : { button, down }),
        isFramed,
      })),
      [
        { kind: 'move', x: 480, y: 540, refWidth: 1920, refHeight: 1080, isFramed: true },
        { kind: 'button', button: 1, down: true, isFramed: true },
        { kind: 'button', button: 1, down: false, isFramed: true },
        { kind: 'move', x: 100, y: 50, refWidth: 1920, refHeight: 1080, isFramed: true },
        { kind: 'button', button: 1, down: true, isFramed: true },
        { kind: 'button', button: 1, down: false, isFramed: true },
      ],
    );
    assert.deepEqual(
      decoded.map((event) => event['timestampUs']),
      Array(6).fill(1_234_567),
    );
    assert.equal(decoded[1]!['sentAtUs'], 0x12d690);
    assert.equal(client.appMessages().length, 1, 'a click in the text region selects nothing');
  });

  it('answers the exact §4.1 app message in the two-level §4.2 form, and ignores a bare one', async () => {
    assert.ok(client?.control, 'needs the stream of the first test');
    assert.equal(
      LOADING_STATE_QUERY_FRAME,
      JSON.stringify({
        customMessage: JSON.stringify({
          messageType: 'json',
          messageRecipient: 'kit',
          data: JSON.stringify({ event_type: 'loadingStateQuery', payload: {} }),
        }),
      }),
    );
    const violationsBefore = violations(media).length;
    const repliesBefore = client.controlReceived.length;
    // control_channel is ordered: a reply to the bare frame would arrive before the reply to the correct one.
    client.control.send(JSON.stringify({ event_type: 'loadingStateQuery', payload: {} }));
    client.control.send(LOADING_STATE_QUERY_FRAME);
    await waitFor('loadingStateResponse', () => client.controlReceived.length > repliesBefore);
    await delay(100);
    const replies = client.controlReceived.slice(repliesBefore).map((text) => JSON.parse(text) as Frame);
    assert.equal(replies.length, 1, 'one reply: the bare frame gets none');
    assert.deepEqual(Object.keys(replies[0]!), ['customMessage']);
    assert.deepEqual(JSON.parse(replies[0]!['customMessage'] as string), {
      event_type: 'loadingStateResponse',
      payload: { loading_state: 'idle', url: STAGE_URI },
    });
    const newViolations = violations(media).slice(violationsBefore);
    assert.equal(newViolations.length, 1);
    assert.match(newViolations[0]!, /bare app message/);
    assert.deepEqual(media.messages(), [{ event_type: 'loadingStateQuery', payload: {} }]);
    const control = media.inspect('control') as { direction: string; text: string }[];
    assert.ok(control.some((entry) => entry.direction === 'in' && entry.text === LOADING_STATE_QUERY_FRAME));
  });

  it('keeps the stream when signaling drops: the reconnect=1 socket gets no new offer', async () => {
    assert.ok(client?.pc, 'needs the stream of the first test');
    await media.fault('drop-signaling');
    await waitFor('the socket to drop', () => client.closeCodes.length === 1);
    assert.equal(client.closeCodes[0], 1006, 'no close frame');
    const framesBefore = client.frames.length;
    const rtpBefore = client.rtpPackets;

    await client.open(true);
    const candidateAckId = client.send({
      sdpMLineIndex: 0,
      sdpMid: '0',
      candidate: 'candidate:1 1 udp 2122260223 0b1c9b3e-aaaa-bbbb-cccc-0123456789ab.local 50000 typ host',
    });
    await waitFor('heartbeats on the new socket', () => client.frames.slice(framesBefore).filter((frame) => 'hb' in frame).length >= 2);
    await waitFor('RTP still flowing', () => client.rtpPackets > rtpBefore + 20);
    const sinceReconnect = client.frames.slice(framesBefore);
    assert.deepEqual(
      sinceReconnect.filter((frame) => 'peer_msg' in frame || 'peer_info' in frame),
      [],
      'no new peer_info, no new offer',
    );
    assert.equal(client.offers.length, 1);
    assert.ok(
      sinceReconnect.some((frame) => frame['ack'] === candidateAckId),
      'the envelope counter carries on across sockets',
    );
    assert.equal(media.peerState(), 'connected');
    const signIn = media.inspect('sign-in') as { last: { peerId: string; reconnect: boolean }; reconnects: number };
    assert.equal(signIn.last.peerId, client.peerName);
    assert.equal(signIn.last.reconnect, true);
    assert.equal(signIn.reconnects, 1);
    assert.equal(media.connections(), 2);
  });

  it('sends the timer warning on control_channel and keeps the stream', async () => {
    assert.ok(client?.control, 'needs the stream of the first test');
    const controlBefore = client.controlReceived.length;
    await media.fault('timer-warning');
    await waitFor('the warning', () => client.controlReceived.length === controlBefore + 1);
    assert.deepEqual(JSON.parse(client.controlReceived.at(-1)!), { timerNotification: { code: 4, secondsLeft: 30 } });
    await assert.rejects(Promise.resolve(media.fault('no-such-fault')), /unknown fault/);
    assert.equal(media.peerState(), 'connected');
    assert.deepEqual(media.inspect('unacknowledged'), []);
  });

  it('says exitMessage and peerRemoved when the session closes, then releases every port', async () => {
    assert.ok(client?.control, 'needs the stream of the first test');
    const exitsBefore = client.controlReceived.filter((text) => text.includes('exitMessage')).length;
    const errorsBefore = client.errors().length;
    let errorsAtClose = -1;
    client.ws.once('close', () => (errorsAtClose = client.errors().length));
    await media.close();
    openSessions.delete(media);
    await waitFor('the signaling socket to close', () => client.closeCodes.length === 2);
    assert.equal(errorsAtClose, errorsBefore + 1, 'peerRemoved arrived before the socket closed');
    assert.deepEqual(client.errors().at(-1), 'peerRemoved');
    // The route is gone once the session closes: an exitMessage that arrives at all was sent before.
    await waitFor(
      'exitMessage on control_channel',
      () => client.controlReceived.filter((text) => text.includes('exitMessage')).length > exitsBefore,
    );
    assert.deepEqual(JSON.parse(client.controlReceived.at(-1)!), { exitMessage: { code: 0 } });
    assert.equal(media.connections(), 0);
    assert.equal(media.peerState(), 'none');
    await client.close();

    for (const port of [media.signaling.sourcePort, media.signaling.destinationPort]) {
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve());
      });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    for (const port of [media.media.sourcePort, media.media.destinationPort]) {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ port, address: '127.0.0.1', exclusive: true }, () => resolve());
      });
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
  });
});

describe('scripted faults', () => {
  /** A session and a client whose stream is up: RTP through the route, the three channels open, the handshake in. */
  async function streaming(sessionId: string, options: KitMediaFactoryOptions = {}) {
    const media = await startSession(sessionId, options);
    const client = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
    await client.answer({ address: ROUTE_IP, port: media.media.sourcePort });
    await waitFor('RTP', () => client.rtpPackets > 5, 8000);
    await waitFor(
      'control_channel and the handshake',
      () => client.control?.readyState === 'open' && client.inputReceived.length > 0,
      8000,
    );
    return { media, client };
  }

  it('close-before-offer closes the next sign-in after its peer_info with 1011, once', async () => {
    const sessionId = 'd1d2e3f4-0000-4000-8000-000000000001';
    const media = await startSession(sessionId);
    await media.fault('close-before-offer');
    const refused = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
    await waitFor('the close', () => refused.closeCodes.length === 1);
    assert.deepEqual(refused.closeCodes, [1011]);
    assert.deepEqual(
      refused.frames.map((frame) => Object.keys(frame).filter((key) => key !== 'ackid')),
      [['peer_info'], ['peer_info']],
      'both peer_info, no offer',
    );
    assert.equal(media.peerState(), 'none', 'no peer was made for it');
    await refused.close();

    const client = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
    await client.answer({ address: ROUTE_IP, port: media.media.sourcePort });
    await waitFor('RTP for the next sign-in', () => client.rtpPackets > 5, 8000);
    assert.deepEqual(violations(media), []);
    await client.close();
  });

  it('refuse-signaling resets new connections to the route and leaves the open socket alone, until resume-signaling', async () => {
    const sessionId = 'd1d2e3f4-0000-4000-8000-000000000002';
    const { media, client } = await streaming(sessionId);
    await media.fault('refuse-signaling');
    await assert.rejects(KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId)), /ECONNRESET|socket hang up/);
    const heartbeats = client.frames.filter((frame) => 'hb' in frame).length;
    await waitFor('heartbeats on the open socket', () => client.frames.filter((frame) => 'hb' in frame).length > heartbeats + 1);
    await media.fault('drop-signaling');
    await waitFor('the drop', () => client.closeCodes.length === 1);
    await assert.rejects(client.open(true), /ECONNRESET|socket hang up/);
    await media.fault('resume-signaling');
    await client.open(true);
    assert.equal((media.inspect('sign-in') as { reconnects: number }).reconnects, 1);
    const rtp = client.rtpPackets;
    await waitFor('RTP all along', () => client.rtpPackets > rtp + 10);
    assert.deepEqual(violations(media), []);
    await client.close();
  });

  it('sends malformed and oversized frames, duplicate and out-of-order ackids on the open socket, as real frames', async () => {
    const sessionId = 'd1d2e3f4-0000-4000-8000-000000000003';
    const { media, client } = await streaming(sessionId);
    await waitFor('every server message acknowledged', () => media.signalingServer.unacknowledged().length === 0);
    const before = client.frames.length;

    await media.fault('malformed-signaling');
    const peerMessagesSince = (index: number) => client.frames.slice(index).filter((frame) => 'peer_msg' in frame);
    await waitFor('the malformed frames', () => client.unreadable.length === 2 && peerMessagesSince(before).length === 1);
    assert.match(client.unreadable[0]!, /^\{"peer_msg": \{"from": 1, "msg": "\{\\"type\\": \\"offer$/);
    assert.equal(client.unreadable[1], '[{"ackid": 1}]');
    const [unreadablePeerMsg] = peerMessagesSince(before);
    assert.equal(peerMsgOf(unreadablePeerMsg!)?.msg, '{"type": "offer", "sdp": ');
    assert.equal(unreadablePeerMsg!['ackid'], 4, 'a peer message like any other: the next ackid, retained until acknowledged');

    await media.fault('oversized-signaling');
    await waitFor('the oversized frame', () => client.frames.some((frame) => String(peerMsgOf(frame)?.msg).length > 2_000_000));
    const oversized = client.frames.find((frame) => String(peerMsgOf(frame)?.msg).length > 2_000_000)!;
    assert.equal(oversized['ackid'], undefined);
    const logged = (media.inspect('envelopes') as { direction: string; message: unknown }[]).filter((entry) => entry.direction === 'out');
    assert.ok(
      logged.every((entry) => JSON.stringify(entry.message).length < 10_000),
      'the log keeps an excerpt',
    );

    const offerFrames = () => client.frames.filter((frame) => String(peerMsgOf(frame)?.msg).includes('"type":"offer"'));
    await media.fault('duplicate-ackids');
    await waitFor('the offer again', () => offerFrames().length === 2);
    assert.deepEqual(
      offerFrames().map((frame) => frame['ackid']),
      [3, 3],
    );
    assert.equal(client.offers.length, 1, 'the client dropped the duplicate');

    const beforeCandidates = client.frames.length;
    await media.fault('out-of-order-ackids');
    await waitFor('two candidates', () => peerMessagesSince(beforeCandidates).length === 2);
    const candidates = peerMessagesSince(beforeCandidates);
    assert.deepEqual(
      candidates.map((frame) => frame['ackid']),
      [6, 5],
      'the higher ackid first',
    );
    const trickled = JSON.parse(peerMsgOf(candidates[0]!)!.msg) as Frame;
    assert.match(
      String(trickled['candidate']),
      new RegExp(`^candidate:\\S+ 1 udp \\d+ 127\\.0\\.0\\.1 ${media.media.destinationPort} typ host`),
    );
    assert.equal(trickled['sdpMLineIndex'], 0);

    await waitFor('every server message acknowledged again', () => media.signalingServer.unacknowledged().length === 0);
    const rtp = client.rtpPackets;
    await waitFor('RTP all along', () => client.rtpPackets > rtp + 10);
    assert.equal(client.closeCodes.length, 0);
    assert.deepEqual(violations(media), []);
    await client.close();
  });

  it('stop-heartbeats silences the socket while the media flows, until resume-heartbeats', async () => {
    const sessionId = 'd1d2e3f4-0000-4000-8000-000000000004';
    const { media, client } = await streaming(sessionId, { heartbeatMs: 100 });
    const heartbeats = () => client.frames.filter((frame) => 'hb' in frame).length;
    await media.fault('stop-heartbeats');
    await delay(150);
    const silentFrom = heartbeats();
    const rtp = client.rtpPackets;
    await delay(600);
    assert.equal(heartbeats(), silentFrom, 'no heartbeat for six periods');
    assert.ok(client.rtpPackets > rtp + 10, 'the media went on');
    await media.fault('resume-heartbeats');
    await waitFor('heartbeats again', () => heartbeats() > silentFrom + 1);
    assert.deepEqual(violations(media), []);
    await client.close();
  });

  it('stop-media before the client arrives: connected, and not one RTP packet until resume-media', async () => {
    const sessionId = 'd1d2e3f4-0000-4000-8000-000000000005';
    const media = await startSession(sessionId);
    await media.fault('stop-media');
    const client = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
    await client.answer({ address: ROUTE_IP, port: media.media.sourcePort });
    await waitFor('the peer connected', () => media.peerState() === 'connected', 8000);
    await delay(500);
    assert.equal(client.rtpPackets, 0);
    assert.equal(media.framesSent(), 0);
    await media.fault('resume-media');
    await waitFor('RTP after resume-media', () => client.rtpPackets > 5);
    await client.close();
  });

  it('offer-without-video makes the next offer data channels only, once', async () => {
    const sessionId = 'd1d2e3f4-0000-4000-8000-000000000006';
    const media = await startSession(sessionId, { nvstSdp: true });
    await media.fault('offer-without-video');
    const client = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
    await waitFor('the offer', () => client.offers.length === 1);
    const offer = client.offers[0]!;
    assert.doesNotMatch(offer.sdp, /^m=video/m);
    assert.match(offer.sdp, /^m=application \d+ UDP\/DTLS\/SCTP webrtc-datachannel/m);
    assert.doesNotMatch(offer.nvstSdp!, /^m=video/m, 'the nvstSdp has no video section either');
    const answer = await client.prepareAnswer({ address: ROUTE_IP, port: media.media.sourcePort });
    client.sendAnswer({ ...answer, nvstSdp: nvstAnswerFor(offer.nvstSdp!, answer['sdp'] as string) });
    await waitFor('control_channel at the client', () => client.control?.readyState === 'open', 8000);
    await delay(300);
    assert.equal(client.rtpPackets, 0);
    assert.deepEqual(violations(media), []);
    await client.close();

    const next = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
    await waitFor('the next offer', () => next.offers.length === 1);
    assert.match(next.offers[0]!.sdp, /^m=video/m);
    await next.close();
  });

  it('no-control-channel makes the next peer offer SCTP without control_channel, once', async () => {
    const sessionId = 'd1d2e3f4-0000-4000-8000-000000000007';
    const media = await startSession(sessionId);
    await media.fault('no-control-channel');
    const client = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
    await client.answer({ address: ROUTE_IP, port: media.media.sourcePort });
    await waitFor('RTP', () => client.rtpPackets > 5, 8000);
    await waitFor('the handshake on the client channel', () => client.inputReceived.length > 0, 8000);
    await delay(300);
    assert.equal(client.control, undefined, 'control_channel never came');
    assert.deepEqual(media.inspect('channels'), { input_channel_v1: 'open', cursor_channel: 'open' });
    await client.close();

    const next = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
    await next.answer({ address: ROUTE_IP, port: media.media.sourcePort });
    await waitFor('control_channel for the next sign-in', () => next.control?.readyState === 'open', 8000);
    await next.close();
  });

  it('garbage-cursor and garbage-input send bytes that are no message, and need their channel open', async () => {
    const sessionId = 'd1d2e3f4-0000-4000-8000-000000000008';
    const media = await startSession(sessionId);
    await assert.rejects(Promise.resolve(media.fault('garbage-cursor')), /no open cursor_channel/);
    await assert.rejects(Promise.resolve(media.fault('garbage-input')), /no open input_channel_v1/);
    const client = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
    await client.answer({ address: ROUTE_IP, port: media.media.sourcePort });
    await waitFor('the handshake', () => client.inputReceived.length === 1, 8000);
    await waitFor(
      'cursor_channel open at the server',
      () => (media.inspect('channels') as Record<string, string>)['cursor_channel'] === 'open',
    );

    await media.fault('garbage-cursor');
    await waitFor('five cursor messages', () => client.cursorReceived.length === 5);
    const kinds = client.cursorReceived.map((bytes) => bytes[0]);
    assert.deepEqual(kinds.slice(0, 4), [0xee, 1, 1, 0xee], 'unknown kinds and truncated images, never a valid kind 0 or 10');
    assert.ok(
      client.cursorReceived.slice(1, 3).every((bytes) => readCursor(bytes) === undefined),
      'the images end before their lengths say',
    );
    assert.equal(client.cursorReceived[4]!.toString('utf8'), 'not a cursor');

    await media.fault('garbage-input');
    await waitFor('four more input messages', () => client.inputReceived.length === 5);
    assert.deepEqual(client.inputReceived[2], hex('02 00'), 'a second handshake, naming version 2');
    assert.equal(client.inputReceived[4]!.toString('utf8'), '{"version": 2}');
    // The client's input is still read as the announced version.
    client.sendInput(framed(0x12d688, MOVE_CUBE));
    await waitFor('the move decoded', () => (media.inspect('input') as unknown[]).length === 1);
    assert.deepEqual(violations(media), []);
    await client.close();
  });
});

describe('Kit session options and restrictions', () => {
  it('with a token, input version 2 and nvstSdp: bearer sign-in, plain input, and an answer without nvstSdp is a violation', async () => {
    const sessionId = 'b7e2c4d6-1a3f-4e5b-8c7d-aabbccddeeff';
    const token = 'eyJhbGciOiJIUzI1NiJ9.dG9rZW4.c2lnbmF0dXJl';
    const media = await startSession(sessionId, { accessToken: token, inputVersion: 2, nvstSdp: true });
    const port = media.signaling.sourcePort;
    assert.equal(await refusedSignIn(port, [sessionProtocol(sessionId)]), 401, 'the plain form when a token is required');
    assert.equal(await refusedSignIn(port, [`${sessionProtocol(sessionId)}-Authorization.Bearer-wrong`]), 401);
    const client = await KitTestClient.signIn(port, `${sessionProtocol(sessionId)}-Authorization.Bearer-${token}`);
    const signIn = media.inspect('sign-in') as { last: { protocol: string } };
    assert.ok(!signIn.last.protocol.includes(token), 'the token is not recorded');

    await waitFor('the offer', () => client.offers.length === 1);
    const nvstSdp = client.offers[0]!.nvstSdp;
    assert.equal(typeof nvstSdp, 'string');
    assert.match(nvstSdp!, /^v=0\r\n/);
    assert.match(nvstSdp!, /\r\no=\S.*\r\n/);
    assert.match(nvstSdp!, /\r\nm=video .*\r\na=msid:\S+/, 'every media part has an msid (§2.3)');

    const violationsBefore = violations(media).length;
    await client.answer({ address: ROUTE_IP, port: media.media.sourcePort });
    await waitFor('the violation', () => violations(media).length > violationsBefore);
    assert.match(violations(media).at(-1)!, /nvstSdp/);
    assert.equal(violations(media).length, violationsBefore + 1, 'one violation: the missing nvstSdp');
    assert.equal((media.inspect('answer') as { nvstSdp?: string }).nvstSdp, undefined);

    await waitFor('the handshake', () => client.inputReceived.length > 0, 8000);
    assert.deepEqual(client.inputReceived[0], hex('02 00'), 'version 2, plain');
    client.sendInput(MOVE_CUBE, LEFT_DOWN, LEFT_UP);
    await waitFor('stageSelectionChanged', () => client.appMessages().length === 1);
    assert.deepEqual(client.appMessages(), [{ event_type: 'stageSelectionChanged', payload: { prims: ['/World/Cube'] } }]);
    const decoded = media.inspect('input') as Frame[];
    assert.deepEqual(
      decoded.map((event) => [event['kind'], event['framed']]),
      [
        ['move', false],
        ['button', false],
        ['button', false],
      ],
    );
    assert.equal(violations(media).length, violationsBefore + 1, 'the plain input was as version 2 expects');
    await client.close();
  });

  it('a reconnect while the first peer is being created gets one offer and one peer', async () => {
    const sessionId = 'c1d2e3f4-0000-4000-8000-000000000010';
    const media = await startSession(sessionId);
    const client = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
    // The worker switch of §1.6 can come this early: the first socket is replaced before the offer is out.
    await client.open(true);
    await waitFor('the offer', () => client.offers.length > 0);
    await delay(500);
    assert.equal(client.offers.length, 1, 'one offer');
    const offersSent = (media.inspect('envelopes') as { direction: string; ackid?: number; message: { peer_msg?: { msg?: string } } }[])
      .filter((entry) => entry.direction === 'out' && String(entry.message.peer_msg?.msg).includes('"type":"offer"'))
      .map((entry) => entry.ackid);
    assert.equal(new Set(offersSent).size, 1, 'the server made one offer (re-sends keep its ackid)');
    await client.answer({ address: ROUTE_IP, port: media.media.sourcePort });
    await waitFor('RTP', () => client.rtpPackets > 5, 8000);
    assert.equal(media.peerState(), 'connected');
    assert.deepEqual(violations(media), []);
    await client.close();
  });

  it('ends the stream for good on end-stream, bye, peer-removed and signaling-error: no reconnect, the peer closed shortly after', async () => {
    const sessionId = 'c1d2e3f4-0000-4000-8000-000000000011';
    const media = await startSession(sessionId);
    const route = { address: ROUTE_IP, port: media.media.sourcePort };
    const faults: [string, (client: KitTestClient) => boolean][] = [
      ['end-stream', (client) => client.controlReceived.some((text) => text === '{"exitMessage":{"code":0}}')],
      [
        'bye',
        (client) =>
          client.frames.some((frame) => {
            const peerMsg = frame['peer_msg'] as { from: number; to: number; msg: string } | undefined;
            return peerMsg?.msg === 'BYE' && peerMsg.to === client.ownId && typeof frame['ackid'] === 'number';
          }),
      ],
      ['peer-removed', (client) => client.frames.some((frame) => frame['error'] === 'peerRemoved' && !('ackid' in frame))],
      ['signaling-error', (client) => client.errors().includes('serverOverloaded')],
    ];
    for (const [fault, told] of faults) {
      const client = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
      if (fault === 'end-stream') {
        // exitMessage travels on control_channel: the stream must be up.
        await client.answer(route);
        await waitFor('control_channel at the client', () => client.control?.readyState === 'open', 8000);
        // The server's end opens on the client's acknowledgement, a moment later.
        await waitFor(
          'control_channel at the server',
          () => (media.inspect('channels') as Record<string, string>)['control_channel'] === 'open',
        );
      } else {
        await waitFor('the offer', () => client.offers.length === 1);
      }
      assert.notEqual(media.peerState(), 'none');
      const faultAt = performance.now();
      await media.fault(fault);
      await waitFor(`what ${fault} says`, () => told(client));
      await waitFor(`the peer closed after ${fault}`, () => media.peerState() === 'none', 3000);
      assert.ok(performance.now() - faultAt >= 400, 'the client had a moment to read why before its peer went');
      await assert.rejects(client.open(true), /HTTP 409/);
      assert.match(violations(media).at(-1)!, /409: reconnect after the server ended the stream/);
      await client.close();
    }
    assert.equal(violations(media).length, faults.length, violations(media).join('\n'));
  });

  it('records peer messages that are neither an answer nor a candidate in the §2.5 form, and rejected ones', async () => {
    const sessionId = 'c1d2e3f4-0000-4000-8000-000000000012';
    const media = await startSession(sessionId);
    const client = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
    const answer = await client.prepareAnswer({ address: ROUTE_IP, port: media.media.sourcePort });
    const host = 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host';
    const bad: [unknown, RegExp][] = [
      [{ type: 'pranswer', sdp: answer['sdp'] }, /neither an answer nor a candidate/],
      [{ hello: 1 }, /neither an answer nor a candidate/],
      [{ type: 'answer' }, /answer without an sdp string/],
      [{ type: 'candidate', candidate: host, sdpMid: '0', sdpMLineIndex: 0 }, /has a type field/],
      [{ candidate: host, sdpMLineIndex: 0 }, /sdpMid missing/],
      [{ candidate: host, sdpMid: '0' }, /sdpMLineIndex missing/],
      [{ candidate: host, sdpMid: '0', sdpMLineIndex: null }, /sdpMLineIndex missing/],
      [{ candidate: '', sdpMid: '0', sdpMLineIndex: 0 }, /empty candidate string/],
      [{ candidate: 'candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active', sdpMid: '0', sdpMLineIndex: 0 }, /TCP candidate/],
    ];
    const violationsBefore = violations(media).length;
    for (const [message] of bad) client.send(message);
    await waitFor('every bad message acknowledged', () => client.retained.size === 0);
    const recorded = violations(media).slice(violationsBefore);
    assert.equal(recorded.length, bad.length, recorded.join('\n'));
    bad.forEach(([, reason], index) => assert.match(recorded[index]!, reason));

    // None of that got in the way: the answer still streams.
    client.sendAnswer(answer);
    client.send({ ...answer });
    // mDNS candidates are ignored by design (NVIDIA's browser trickles them); one for an unknown section is rejected.
    client.send({
      sdpMLineIndex: 0,
      sdpMid: '0',
      candidate: 'candidate:3 1 udp 2122260223 0b1c9b3e-1111-2222-3333-444455556666.local 50000 typ host',
    });
    client.send({ sdpMLineIndex: 5, sdpMid: '7', candidate: host });
    await waitFor('RTP', () => client.rtpPackets > 5, 8000);
    await waitFor('the rejection', () => violations(media).length === violationsBefore + bad.length + 2);
    const later = violations(media).slice(violationsBefore + bad.length);
    assert.match(later[0]!, /a second answer to the same offer/);
    assert.match(later[1]!, /candidate candidate:1 1 udp .* was rejected: .*sdpMid/);

    // Once its peer is gone (the viewer left), an offer is no longer open to an answer.
    await waitFor('control_channel at the client', () => client.control?.readyState === 'open', 8000);
    client.control!.send('{"exitMessage":{"code":0}}');
    await waitFor('the peer closed', () => media.peerState() === 'none');
    client.send(answer);
    await waitFor('the violation', () => violations(media).length === violationsBefore + bad.length + 3);
    assert.match(violations(media).at(-1)!, /answer with no offer pending/);
    await client.close();
  });

  it('notes data on channels it does not read, refuses text input, and reads exitMessage by its key', async () => {
    const sessionId = 'c1d2e3f4-0000-4000-8000-000000000013';
    const media = await startSession(sessionId);
    const client = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
    await client.answer({ address: ROUTE_IP, port: media.media.sourcePort });
    await waitFor('control_channel at the client', () => client.control?.readyState === 'open', 8000);
    await waitFor('the handshake', () => client.inputReceived.length > 0);
    const stats = client.pc!.createDataChannel('stats_channel', { ordered: false, maxRetransmits: 0 });
    await waitFor('stats_channel open', () => stats.readyState === 'open');
    stats.send(Buffer.from([1, 2, 3]));
    stats.send(Buffer.from([4, 5, 6]));
    client.control!.send(Buffer.from([0x7b, 0x7d]));
    client.input!.send('{"x":1}');
    // A control key whose value mentions exitMessage is not the viewer leaving.
    client.control!.send('{"windowState":{"streamIndex":0,"frameNumber":1,"windowStateFlags":3,"note":"\\"exitMessage\\""}}');
    await waitFor('the notes', () => (media.inspect('notes') as string[]).length >= 2);
    await waitFor('the violation', () => violations(media).length > 0);
    await delay(300);
    assert.deepEqual(violations(media).length, 1, violations(media).join('\n'));
    assert.match(violations(media)[0]!, /text message on input_channel_v1 .*binary/);
    const notes = media.inspect('notes') as string[];
    assert.equal(notes.filter((note) => note.includes('stats_channel')).length, 1, 'noted once per channel');
    assert.ok(notes.some((note) => /binary message of 2 bytes on control_channel/.test(note)));
    assert.deepEqual((media.inspect('input') as unknown[]).length, 0, 'text is not decoded as input');
    assert.equal(media.peerState(), 'connected');

    client.control!.send('{"exitMessage":{"code":0}}');
    await waitFor('the peer closed', () => media.peerState() === 'none');
    await client.close();
  });

  it('gives nothing to a client using the destination ports', async () => {
    const sessionId = 'c1d2e3f4-0000-4000-8000-000000000001';
    const media = await startSession(sessionId);

    // Signaling destination port: reset before a single byte.
    const direct = net.connect({ host: '127.0.0.1', port: media.signaling.destinationPort });
    let received = 0;
    direct.on('data', (chunk: Buffer) => (received += chunk.length));
    direct.on('error', () => {});
    direct.on('connect', () => direct.write('GET /sign_in?peer_id=peer-0123456789&version=2 HTTP/1.1\r\nHost: x\r\n\r\n'));
    await withTimeout('the reset', new Promise<void>((resolve) => direct.once('close', () => resolve())));
    assert.equal(received, 0);

    // The offer's candidates used as they are (the media destination port): no media.
    const client = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
    await client.answer(undefined);
    await delay(2000);
    assert.equal(client.rtpPackets, 0);
    assert.notEqual(client.pc!.connectionState, 'connected');
    assert.equal(media.connections(), 1, 'signaling only');
    await client.close();
  });

  it('refuse-ice blocks ICE until resume-ice', async () => {
    const sessionId = 'c1d2e3f4-0000-4000-8000-000000000002';
    const media = await startSession(sessionId);
    const route = { address: ROUTE_IP, port: media.media.sourcePort };
    await media.fault('refuse-ice');
    const refused = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
    await refused.answer(route);
    await delay(2000);
    assert.equal(refused.rtpPackets, 0);
    assert.equal(media.connections(), 1, 'signaling only');
    await refused.close();

    await media.fault('resume-ice');
    const accepted = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
    await accepted.answer(route);
    await waitFor('RTP after resume-ice', () => accepted.rtpPackets > 10, 8000);
    await accepted.close();
  });

  it('closes a peer whose client went silent', async () => {
    const sessionId = 'c1d2e3f4-0000-4000-8000-000000000003';
    const media = await startSession(sessionId, { peerIdleTimeoutMs: 2000 });
    const client = await KitTestClient.signIn(media.signaling.sourcePort, sessionProtocol(sessionId));
    await client.answer({ address: ROUTE_IP, port: media.media.sourcePort });
    await waitFor('RTP', () => client.rtpPackets > 5, 8000);
    await delay(2500); // a live client (RTCP reports, consent checks) keeps its peer past the idle timeout
    assert.equal(media.connections(), 2);
    await client.pc!.close(); // gone without a word on the signaling socket
    await waitFor('the silent peer to be closed', () => media.connections() === 1);
    assert.equal(media.peerState(), 'none');
    await client.close();
  });

  it('leaves no handles behind once every session is closed', async () => {
    await Promise.all([...openClients].map((client) => client.close()));
    await Promise.all([...openSessions].map((media) => media.close()));
    openSessions.clear();
    // Closed handles leave the list one event-loop turn later. werift's DTLS
    // handshake flights sleep up to a second before noticing they are done, so
    // timers get a short grace period too.
    const leftovers = (kinds: string[]) => process.getActiveResourcesInfo().filter((name) => kinds.includes(name));
    await waitFor(
      () => `no sockets (still: ${process.getActiveResourcesInfo().join(', ')})`,
      () => leftovers(['UDPWrap', 'TCPServerWrap', 'TCPSocketWrap', 'TCPWrap']).length === 0,
      1000,
    );
    await waitFor(
      () => `no timers (still: ${process.getActiveResourcesInfo().join(', ')})`,
      () => leftovers(['Timeout', 'Immediate']).length === 0,
      3000,
    );
  });
});

describe('the nvstSdp answer check (§2.3)', () => {
  const offer = [
    'v=0',
    'o=SdpTest 1700000000000 42 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=general.clientCapture:0',
    'm=video 0 RTP/AVP',
    'a=msid:fbc-video-0',
    'a=video.maxFPS:30',
    'm=application 0 RTP/AVP',
    'a=msid:ri',
    'a=ri.partialReliableThresholdMs:0',
    '',
  ].join('\r\n');
  const answerSdp = [
    'v=0',
    'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1',
    'm=video 9 UDP/TLS/RTP/SAVPF 102',
    'a=ice-ufrag:Wx3z',
    'a=ice-pwd:Qm4sXr9Lk2Jh7Tg5Vb1Nc8Df',
    'a=fingerprint:sha-256 0a:1b:2c:3d:4e:5f:60:71:82:93:a4:b5:c6:d7:e8:f9:0a:1b:2c:3d:4e:5f:60:71:82:93:a4:b5:c6:d7:e8:f9',
    'a=setup:active',
    'a=mid:0',
    '',
  ].join('\r\n');
  const fingerprint = '0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9';
  /** Built as §2.3 describes NVIDIA's client: LF-separated settings, then the credentials appended with CRLF. */
  function answerNvst(overrides: Record<string, string | null> = {}): string {
    const line = (key: string, value: string) => (overrides[key] === null ? '' : `${overrides[key] ?? value}`);
    const session =
      [line('v', 'v=0'), line('o', 'o=SdpTest 1700000000000 42 IN IP4 127.0.0.1'), line('s', 's=-'), line('t', 't=0 0')]
        .filter((text) => text !== '')
        .join('\n') + '\n';
    const credentials = [
      line('pwd', 'a=general.icePassword:Qm4sXr9Lk2Jh7Tg5Vb1Nc8Df'),
      line('ufrag', 'a=general.iceUserNameFragment:Wx3z'),
      line('fingerprint', `a=general.dtlsFingerprint:${fingerprint}`),
    ]
      .filter((text) => text !== '')
      .map((text) => `${text}\r\n`)
      .join('');
    const sections = [
      line('video', 'm=video 0 RTP/AVP\na=msid:fbc-video-0\na=video.maxFPS:60'),
      line('application', 'm=application 0 RTP/AVP\na=msid:ri'),
    ]
      .filter((text) => text !== '')
      .join('\n');
    return `${session}${credentials}${sections}\n`;
  }

  it('accepts an answer built as NVIDIA builds it', () => {
    assert.deepEqual(nvstAnswerProblems(offer, answerNvst(), answerSdp), []);
  });

  it('names every departure from §2.3', () => {
    const cases: [Record<string, string | null>, RegExp][] = [
      [{ v: 'v=1' }, /first line must be v=0/],
      [{ o: 'o=SdpTest test_id_13 14 IN IPv4 127.0.0.1' }, /o= must be the server's origin SdpTest 1700000000000 42/],
      [{ o: null }, /o= must be the server's origin .* got none/],
      [{ t: 't=1 2' }, /t= must be the server's time 0 0, got 1 2/],
      [{ s: null }, /s=- missing/],
      [{ pwd: null }, /a=general.icePassword missing/],
      [{ pwd: 'a=general.icePassword:other' }, /icePassword other is not the answer SDP's a=ice-pwd/],
      [{ ufrag: 'a=general.iceUserNameFragment:Wx3y' }, /iceUserNameFragment Wx3y is not the answer SDP's a=ice-ufrag/],
      [{ fingerprint: null }, /a=general.dtlsFingerprint missing/],
      [{ fingerprint: `a=general.dtlsFingerprint:${fingerprint.toLowerCase()}` }, /dtlsFingerprint must be upper-case/],
      [
        { fingerprint: `a=general.dtlsFingerprint:${fingerprint.replace('0A', 'FF')}` },
        /dtlsFingerprint .* is not the answer SDP's a=fingerprint/,
      ],
      [{ video: 'm=video 9 RTP/AVP\na=msid:fbc-video-0' }, /section m=video 9 RTP\/AVP must read m=<type> 0 RTP\/AVP/],
      [{ video: 'm=video 0 RTP/AVP\na=msid:other' }, /a=msid:other was not offered/],
      [{ application: null }, /the offered section m=application a=msid:ri is missing/],
    ];
    for (const [overrides, reason] of cases) {
      const problems = nvstAnswerProblems(offer, answerNvst(overrides), answerSdp);
      assert.ok(
        problems.some((problem) => reason.test(problem)),
        `${JSON.stringify(overrides)}: ${problems.join(' | ')}`,
      );
    }
    assert.match(
      nvstAnswerProblems(offer, answerNvst(), answerSdp.replace(/a=ice-pwd:.*\r\n/, '')).join(),
      /the answer SDP has no a=ice-pwd/,
    );
  });
});
