/**
 * The simulated Kit signaling server enforces Kit's signaling rules (KIT-PROTOCOL §1):
 * subprotocol and token, peer_info and offer with ackids, heartbeats, client envelope
 * shape and ackids, stats frames, reconnect sockets, close codes and cleanup. Driven
 * by a raw `ws` client, independent of the player's connector.
 *
 * Run: node --import tsx --test test/simulators/kit/signaling-server.node.test.ts
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { KitSignalingServer, signInProblem } from '../../../demo/simulators/kit/media/signaling-server.js';
import type { KitSignalingServerOptions, SignalingClient } from '../../../demo/simulators/kit/media/signaling-server.js';
import { isRecord, parseJson } from '../../../src/internal/json.js';
import { delay, waitFor as waitUntil, withTimeout as withDeadline } from '../../support/waiting.js';

/** This file's waits are shorter than the default: its server answers on loopback within milliseconds. */
const waitFor = (what: string, condition: () => boolean, timeoutMs = 3000) => waitUntil(what, condition, timeoutMs, 10);
const withTimeout = <T>(what: string, promise: Promise<T>, timeoutMs = 3000) => withDeadline(what, promise, timeoutMs);

const SESSION_ID = '6f1c2d3e-aaaa-bbbb-cccc-0123456789ab';
const SERVER_ID = 123456789;
const PEER = 'peer-0123456789';
const SIGN_IN = `/sign_in?peer_id=${PEER}&version=2`;
const PROTOCOL = `x-nv-sessionid.${SESSION_ID}`;
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.sIgNaTuRe_x';
const FAKE_OFFER = { type: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n' };

type Frame = Record<string, unknown>;

const openServers = new Set<KitSignalingServer>();
const openSockets = new Set<WebSocket>();

after(async () => {
  for (const ws of openSockets) ws.terminate();
  await Promise.all([...openServers].map((server) => server.close()));
});

interface Harness {
  server: KitSignalingServer;
  clients: { client: SignalingClient; reconnect: boolean }[];
  delivered: { client: SignalingClient; message: Record<string, unknown> }[];
  closes: { client: SignalingClient; final: boolean; code: number }[];
  logs: string[];
}

/** A server whose session answers every new sign-in with a fake offer, as the real session sends its offer. */
async function startServer(options: Partial<KitSignalingServerOptions> = {}): Promise<Harness> {
  const harness: Omit<Harness, 'server'> = { clients: [], delivered: [], closes: [], logs: [] };
  const server = await KitSignalingServer.start({
    host: '127.0.0.1',
    port: 0,
    heartbeatMs: 60_000,
    serverId: SERVER_ID,
    serverName: 'OneSdkServer-test',
    sessionId: SESSION_ID,
    onClient: (client, { reconnect }) => {
      harness.clients.push({ client, reconnect });
      if (!reconnect) client.sendPeerMessage(FAKE_OFFER);
    },
    onPeerMessage: (client, message) => harness.delivered.push({ client, message }),
    onClientClosed: (client, details) => harness.closes.push({ client, ...details }),
    log: (line) => harness.logs.push(line),
    ...options,
  });
  openServers.add(server);
  return { server, ...harness };
}

/** A raw signaling socket that records every frame and, unless told otherwise, acknowledges like NVIDIA's client. */
class RawClient {
  readonly frames: Frame[] = [];
  /** Text frames that were no JSON object (only a fault sends those). */
  readonly unreadable: string[] = [];
  closeCode: number | undefined;
  readonly closed: Promise<number>;
  private maxReceivedAckId = 0;

  constructor(
    readonly ws: WebSocket,
    private readonly autoAck: boolean,
  ) {
    openSockets.add(ws);
    ws.on('message', (data, isBinary) => {
      assert.equal(isBinary, false, 'the server sends text frames only');
      const frame = parseObject(rawText(data));
      if (!frame) {
        this.unreadable.push(rawText(data));
        return;
      }
      this.frames.push(frame);
      const ackid = frame['ackid'];
      if (typeof ackid === 'number' && this.autoAck) {
        this.maxReceivedAckId = Math.max(this.maxReceivedAckId, ackid);
        ws.send(JSON.stringify({ ack: this.maxReceivedAckId }));
      }
    });
    ws.on('error', () => {});
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        openSockets.delete(ws);
        resolve(code);
      }),
    );
  }

  static async open(port: number, path = SIGN_IN, protocol: string | undefined = PROTOCOL, autoAck = true): Promise<RawClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocol === undefined ? [] : [protocol]);
    // Frames can arrive in the same tick as 'open': the ack policy must be set before.
    const client = new RawClient(ws, autoAck);
    await withTimeout(
      'socket open',
      new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('unexpected-response', (_request, response) => reject(new Error(`refused with ${response.statusCode}`)));
        ws.once('error', reject);
      }),
    );
    return client;
  }

  /** A new sign-in, waiting for peer_info ×2 and the offer. */
  static async signIn(port: number): Promise<RawClient> {
    const client = await RawClient.open(port);
    await client.waitForFrames(3);
    return client;
  }

  get clientId(): number {
    return (this.frames[0]!['peer_info'] as { id: number }).id;
  }

  async waitForFrames(count: number, what = `${count} frames`): Promise<void> {
    await waitFor(what, () => this.frames.length >= count);
  }

  sendEnvelope(ackid: number, msg: unknown, from = this.clientId, to = SERVER_ID): void {
    this.ws.send(JSON.stringify({ peer_msg: { from, to, msg: JSON.stringify(msg) }, ackid }));
  }

  sendJson(value: unknown): void {
    this.ws.send(JSON.stringify(value));
  }

  acks(): number[] {
    return this.frames.filter((frame) => 'ack' in frame).map((frame) => frame['ack'] as number);
  }

  async closeWith(code: number): Promise<void> {
    this.ws.close(code);
    await withTimeout('close', this.closed);
  }
}

/** Attempts a sign-in that must be refused; returns the HTTP status and body. */
async function refusedSignIn(port: number, path: string, protocol: string | undefined): Promise<{ status: number; body: string }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocol === undefined ? [] : [protocol]);
  ws.on('error', () => {});
  return withTimeout(
    'refusal',
    new Promise((resolve, reject) => {
      ws.once('open', () => {
        ws.terminate();
        reject(new Error('sign-in was accepted'));
      });
      ws.once('unexpected-response', (request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        response.on('end', () => {
          request.destroy();
          resolve({ status: response.statusCode ?? 0, body });
        });
      });
    }),
  );
}

function statsFrame(header: unknown, blocks = Buffer.from('BPRF\x01\x00\x00\x00\x00')): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(json.length);
  return Buffer.concat([length, json, blocks]);
}

function peerMsg(frame: Frame | undefined): { from: number; to: number; msg: string } {
  return frame?.['peer_msg'] as { from: number; to: number; msg: string };
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

describe('sign-in URL', () => {
  it('accepts the documented form under any path prefix and names what is wrong otherwise', () => {
    assert.equal(signInProblem(SIGN_IN), undefined);
    assert.equal(signInProblem(`/some/prefix/sign_in?peer_id=${PEER}&version=2&extra=x&reconnect=1`), undefined);
    assert.equal(signInProblem(`/elsewhere?peer_id=${PEER}&version=2`)?.status, 404);
    assert.match(signInProblem('/sign_in?peer_id=peer-12&version=2')?.reason ?? '', /peer_id/);
    assert.match(signInProblem(`/sign_in?peer_id=${PEER}`)?.reason ?? '', /version/);
    assert.equal(signInProblem(`/sign_in?peer_id=${PEER}&version=3`)?.status, 400);
    assert.equal(signInProblem(`${SIGN_IN}&reconnect=yes`)?.status, 400);
  });
});

describe('Kit signaling server: sign-in', () => {
  it('requires the session subprotocol and echoes it', async () => {
    const { server } = await startServer();
    const missing = await refusedSignIn(server.port, SIGN_IN, undefined);
    assert.equal(missing.status, 400);
    assert.match(missing.body, /subprotocol/);
    const otherSession = await refusedSignIn(server.port, SIGN_IN, 'x-nv-sessionid.another-session');
    assert.equal(otherSession.status, 400);
    assert.equal((await refusedSignIn(server.port, `/elsewhere?peer_id=${PEER}&version=2`, PROTOCOL)).status, 404);
    assert.equal((await refusedSignIn(server.port, '/sign_in?peer_id=peer-1&version=2', PROTOCOL)).status, 400);
    assert.equal(server.violations().length, 4);
    assert.match(server.violations()[0]!, /HTTP 400.*subprotocol/);
    assert.equal(server.clientCount, 0);

    const client = await RawClient.open(server.port, `/streaming/abc/sign_in?peer_id=${PEER}&version=2&custom=1`);
    assert.equal(client.ws.protocol, PROTOCOL);
    assert.equal(server.clientCount, 1);
    assert.deepEqual(server.lastSignIn, {
      peerId: PEER,
      protocol: PROTOCOL,
      reconnect: false,
      url: `/streaming/abc/sign_in?peer_id=${PEER}&version=2&custom=1`,
    });
  });

  it('requires the bearer form when a token is configured, refuses others with 401, and never records the token', async () => {
    const harness = await startServer({ accessToken: TOKEN });
    const { server } = harness;
    const plain = await refusedSignIn(server.port, SIGN_IN, PROTOCOL);
    assert.equal(plain.status, 401);
    const wrongToken = `${PROTOCOL}-Authorization.Bearer-not-the-token`;
    const wrong = await refusedSignIn(server.port, SIGN_IN, wrongToken);
    assert.equal(wrong.status, 401);
    assert.doesNotMatch(wrong.body, /not-the-token/);

    const withToken = `${PROTOCOL}-Authorization.Bearer-${TOKEN}`;
    const client = await RawClient.open(server.port, `${SIGN_IN}&auth_token=${TOKEN}`, withToken);
    assert.equal(client.ws.protocol, withToken);
    await client.waitForFrames(3);
    client.sendEnvelope(1, { type: 'answer', sdp: `v=0 ${TOKEN}` });
    client.sendJson({ peer_msg: { from: client.clientId, to: SERVER_ID, msg: `not json ${TOKEN}` }, ackid: 2 });
    await waitFor('the answer and the violation', () => harness.delivered.length === 1 && server.violations().length === 3);
    assert.equal(harness.delivered[0]!.message['sdp'], `v=0 ${TOKEN}`, 'the session gets the frame as sent');

    assert.match(server.violations()[1]!, /401/);
    assert.match(server.violations()[2]!, /not json <redacted>/);
    assert.equal(server.lastSignIn?.protocol, `${PROTOCOL}-Authorization.Bearer-<redacted>`);
    const recorded = JSON.stringify([server.envelopes(), server.violations(), harness.logs, server.lastSignIn]);
    assert.ok(recorded.includes('<redacted>'));
    assert.ok(!recorded.includes(TOKEN), 'the configured token is recorded somewhere');
    assert.ok(!recorded.includes('not-the-token'), 'an offered token is recorded somewhere');
  });

  it('introduces the client and itself, then sends the offer, with ackids 1, 2, 3', async () => {
    const harness = await startServer();
    const client = await RawClient.signIn(harness.server.port);
    const [clientInfo, serverInfo, offer] = client.frames;
    assert.equal(typeof client.clientId, 'number');
    assert.notEqual(client.clientId, SERVER_ID);
    assert.deepEqual(clientInfo, { peer_info: { id: client.clientId, name: PEER }, ackid: 1 });
    assert.deepEqual(serverInfo, { peer_info: { id: SERVER_ID, name: 'OneSdkServer-test' }, ackid: 2 });
    assert.equal(offer!['ackid'], 3);
    assert.deepEqual(Object.keys(offer!), ['peer_msg', 'ackid']);
    assert.equal(peerMsg(offer).from, SERVER_ID);
    assert.equal(peerMsg(offer).to, client.clientId);
    assert.deepEqual(JSON.parse(peerMsg(offer).msg), FAKE_OFFER);
    assert.deepEqual(
      harness.clients.map(({ client: signedIn, reconnect }) => [signedIn.clientId, signedIn.peerId, reconnect]),
      [[client.clientId, PEER, false]],
    );
    await waitFor('acks cleared the retained messages', () => harness.server.unacknowledged().length === 0);
    const outgoing = harness.server.envelopes().filter((entry) => entry.direction === 'out');
    assert.deepEqual(
      outgoing.map((entry) => entry.ackid),
      [1, 2, 3],
    );
    assert.ok(harness.server.envelopes().some((entry) => entry.direction === 'in' && (entry.message as Frame)['ack'] === 3));
  });

  it('sends heartbeats without ackids', async () => {
    const { server } = await startServer({ heartbeatMs: 30 });
    const client = await RawClient.signIn(server.port);
    await waitFor('two heartbeats', () => client.frames.filter((frame) => 'hb' in frame).length >= 2);
    const heartbeats = client.frames.filter((frame) => 'hb' in frame);
    // Numbered far above any ackid, so that acknowledging one is caught (see below).
    assert.deepEqual(heartbeats.slice(0, 2), [{ hb: 1_000_000 }, { hb: 1_000_001 }]);
    assert.equal(server.violations().length, 0, 'a client that acks every ackid at once is never late');
  });

  it('gives each new client a random id, never the server id nor the previous client id', async () => {
    const ids: number[] = [];
    for (let round = 0; round < 3; round++) {
      const { server } = await startServer();
      const client = await RawClient.signIn(server.port);
      ids.push(client.clientId);
      const next = await RawClient.open(server.port, '/sign_in?peer_id=peer-5555555555&version=2');
      await next.waitForFrames(3);
      assert.notEqual(next.clientId, client.clientId);
      assert.notEqual(next.clientId, SERVER_ID);
    }
    assert.ok(
      ids.every((id) => Number.isSafeInteger(id) && id >= 1 && id < 1e9 && id !== SERVER_ID),
      ids.join(),
    );
    assert.equal(new Set(ids).size, ids.length, `the first client of each server gets its own id: ${ids.join()}`);
  });

  it('does not leave its heartbeat timer behind when it cannot listen', async () => {
    const { server } = await startServer();
    const started: unknown[] = [];
    const cleared: unknown[] = [];
    const { setInterval: realSetInterval, clearInterval: realClearInterval } = globalThis;
    globalThis.setInterval = ((...args: Parameters<typeof realSetInterval>) => {
      const timer = realSetInterval(...args);
      started.push(timer);
      return timer;
    }) as typeof realSetInterval;
    globalThis.clearInterval = ((timer: Parameters<typeof realClearInterval>[0]) => {
      cleared.push(timer);
      realClearInterval(timer);
    }) as typeof realClearInterval;
    try {
      await assert.rejects(startServer({ port: server.port }), /EADDRINUSE/);
    } finally {
      globalThis.setInterval = realSetInterval;
      globalThis.clearInterval = realClearInterval;
    }
    for (const timer of started) realClearInterval(timer as NodeJS.Timeout);
    assert.deepEqual(
      started.filter((timer) => !cleared.includes(timer)),
      [],
      'every interval started was cleared',
    );
  });
});

describe('Kit signaling server: client envelopes', () => {
  it('delivers a correct envelope once, acknowledges cumulatively, and re-acks a duplicate without delivering it', async () => {
    const harness = await startServer();
    const client = await RawClient.signIn(harness.server.port);
    const answer = { type: 'answer', sdp: 'v=0 answer' };
    client.sendEnvelope(1, answer);
    await waitFor('ack 1', () => client.acks().includes(1));
    client.sendEnvelope(5, { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0' });
    await waitFor('ack 5', () => client.acks().includes(5));
    client.sendEnvelope(1, answer);
    await waitFor('second ack', () => client.acks().length === 3);
    assert.deepEqual(client.acks(), [1, 5, 5]);
    assert.deepEqual(
      harness.delivered.map((delivery) => delivery.message),
      [answer, { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0' }],
    );
    assert.equal(harness.delivered[0]!.client, harness.clients[0]!.client);
    assert.ok(client.frames.filter((frame) => 'ack' in frame).every((frame) => !('ackid' in frame)));
    assert.deepEqual(harness.server.violations(), []);

    // The same ackid with other content means the client's counter restarted: refused.
    client.sendEnvelope(5, { type: 'answer', sdp: 'v=0 other' });
    client.sendEnvelope(6, answer);
    await waitFor('ack 6', () => client.acks().includes(6));
    assert.deepEqual(client.acks(), [1, 5, 5, 6]);
    assert.match(harness.server.violations()[0] ?? '', /reused ackid 5/);
  });

  it('records malformed envelopes as violations and neither delivers nor acknowledges them', async () => {
    const harness = await startServer();
    const client = await RawClient.signIn(harness.server.port);
    const msg = JSON.stringify({ type: 'answer', sdp: 'v=0' });
    const id = client.clientId;
    const bad: unknown[] = [
      { peer_msg: { to: SERVER_ID, msg }, ackid: 1 },
      { peer_msg: { from: id, msg }, ackid: 1 },
      { peer_msg: { from: id, to: SERVER_ID, msg } },
      { peer_msg: { from: id + 1, to: SERVER_ID, msg }, ackid: 1 },
      { peer_msg: { from: id, to: -1, msg }, ackid: 1 },
      { peer_msg: { from: String(id), to: SERVER_ID, msg }, ackid: 1 },
      { peer_msg: { from: id, to: SERVER_ID, msg }, ackid: 0 },
      { peer_msg: { from: id, to: SERVER_ID, msg }, ackid: 1.5 },
      { peer_msg: { from: id, to: SERVER_ID, msg: { type: 'answer' } }, ackid: 1 },
      { peer_msg: { from: id, to: SERVER_ID, msg: 'not json' }, ackid: 1 },
      { peer_msg: { from: id, to: SERVER_ID, msg }, ackid: 1, extra: true },
      { hb: 1 },
      { ack: 'x' },
      [1, 2],
    ];
    for (const value of bad) client.sendJson(value);
    client.ws.send('{ not json');
    client.sendEnvelope(2, { type: 'answer', sdp: 'v=0 good' });
    await waitFor('ack of the good envelope', () => client.acks().includes(2));
    assert.deepEqual(client.acks(), [2], 'only the good envelope is acknowledged');
    assert.deepEqual(
      harness.delivered.map((delivery) => delivery.message),
      [{ type: 'answer', sdp: 'v=0 good' }],
    );
    const violations = harness.server.violations();
    assert.equal(violations.length, bad.length + 1);
    assert.match(violations[0]!, /keys from, to|expected from, to, msg/);
    assert.match(violations[3]!, new RegExp(`from is ${id + 1}, expected ${id}`));
    assert.match(violations[4]!, new RegExp(`to is -1, expected ${SERVER_ID}`));
    assert.match(violations[2]!, /expected exactly/);
    assert.match(violations[9]!, /not a JSON object: not json/);
    const unparsed = harness.server.envelopes().find((entry) => entry.direction === 'in' && entry.message === '{ not json');
    assert.ok(unparsed, 'an unparseable frame is logged as its text');
  });

  it('acknowledges a binary stats frame, ignores its content, and flags malformed ones', async () => {
    const harness = await startServer();
    const client = await RawClient.signIn(harness.server.port);
    client.ws.send(statsFrame({ stats: { from: client.clientId, to: SERVER_ID }, ackid: 7 }));
    await waitFor('ack 7', () => client.acks().includes(7));
    client.ws.send(Buffer.from([0x00]));
    client.ws.send(statsFrame({ stats: { from: client.clientId, to: SERVER_ID }, ackid: 8 }).subarray(0, 10));
    client.ws.send(statsFrame({ stats: { from: 0, to: SERVER_ID }, ackid: 8 }));
    // A stats re-send is acknowledged again; a later envelope continues the shared counter.
    client.ws.send(statsFrame({ stats: { from: client.clientId, to: SERVER_ID }, ackid: 7 }));
    client.sendEnvelope(9, { type: 'answer', sdp: 'v=0' });
    await waitFor('ack 9', () => client.acks().includes(9));
    assert.deepEqual(client.acks(), [7, 7, 9]);
    assert.equal(harness.delivered.length, 1);
    const violations = harness.server.violations();
    assert.equal(violations.length, 3);
    assert.ok(violations.every((violation) => violation.startsWith('client binary frame not accepted')));
  });

  it('drops retained messages the client acknowledges and flags an ack beyond what was sent', async () => {
    const { server } = await startServer();
    const client = await RawClient.open(server.port, SIGN_IN, PROTOCOL, false);
    await client.waitForFrames(3);
    assert.deepEqual(server.unacknowledged(), [1, 2, 3]);
    client.sendJson({ ack: 2 });
    await waitFor('ack 2 applied', () => server.unacknowledged().length === 1);
    assert.deepEqual(server.unacknowledged(), [3]);
    client.sendJson({ ack: 9 });
    await waitFor('violation', () => server.violations().length === 1);
    assert.match(server.violations()[0]!, /ack 9 for a message never sent/);
    assert.deepEqual(server.unacknowledged(), []);
  });
});

describe('Kit signaling server: acknowledgements and bounds', () => {
  it('flags an ackid that goes backwards to a message never received, and neither delivers nor acks it', async () => {
    const harness = await startServer();
    const client = await RawClient.signIn(harness.server.port);
    client.sendEnvelope(5, { type: 'answer', sdp: 'v=0' });
    await waitFor('ack 5', () => client.acks().includes(5));
    client.sendEnvelope(3, { sdpMLineIndex: 0, sdpMid: '0', candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host' });
    client.sendEnvelope(5, { type: 'answer', sdp: 'v=0' });
    await waitFor('the re-send acknowledged', () => client.acks().length === 2);
    assert.deepEqual(client.acks(), [5, 5]);
    assert.equal(harness.delivered.length, 1);
    assert.deepEqual(harness.server.violations().length, 1);
    assert.match(harness.server.violations()[0]!, /ackid 3 goes backwards \(highest received 5\) for a message never received/);
  });

  it('flags a client that acknowledges a heartbeat', async () => {
    const { server } = await startServer({ heartbeatMs: 20 });
    const client = await RawClient.signIn(server.port);
    await waitFor('a heartbeat', () => client.frames.some((frame) => 'hb' in frame));
    client.sendJson({ ack: client.frames.find((frame) => 'hb' in frame)!['hb'] });
    // On a loaded machine the client may also be late to acknowledge the sign-in messages: look for this violation.
    const heartbeatAck = /ack 1000000 for a message never sent \(highest ackid sent 3\)/;
    await waitFor('the violation', () => server.violations().some((violation) => heartbeatAck.test(violation)));
  });

  it('flags server messages left unacknowledged for more than two heartbeat periods, once each', async () => {
    const { server } = await startServer({ heartbeatMs: 25 });
    const client = await RawClient.open(server.port, SIGN_IN, PROTOCOL, false);
    await client.waitForFrames(3);
    client.sendJson({ ack: 1 });
    await waitFor('the violation', () => server.violations().length > 0);
    await delay(100);
    assert.deepEqual(server.violations().length, 1, server.violations().join('\n'));
    assert.match(server.violations()[0]!, /server messages with ackid 2, 3 unacknowledged for more than 50 ms/);
    assert.deepEqual(server.unacknowledged(), [2, 3]);
  });

  it('keeps only excerpts of large frames and remembers a digest of each envelope, not its text', async () => {
    const harness = await startServer();
    const { server } = harness;
    const client = await RawClient.signIn(server.port);
    const big = 'x'.repeat(60 * 1024);
    for (let ackid = 1; ackid <= 120; ackid++) {
      client.sendEnvelope(ackid, { type: 'answer', sdp: big });
      client.sendJson({ unexpected: big, ackid });
      client.ws.send(`not json ${big}`);
    }
    await waitFor('every envelope acknowledged', () => client.acks().includes(120), 10_000);
    await waitFor('every frame read', () => server.violations().length >= 100);
    assert.equal(harness.delivered.length, 120, 'the session still gets the frames whole');
    assert.equal(harness.delivered[0]!.message['sdp'], big);
    const incoming = server.envelopes().filter((entry) => entry.direction === 'in');
    assert.ok(incoming.length >= 300);
    for (const entry of server.envelopes()) assert.ok(JSON.stringify(entry).length < 4300, 'each log entry holds a few kB at most');
    assert.ok(
      incoming.some((entry) => typeof entry.message === 'string' && entry.message.startsWith('{"peer_msg"')),
      'a large frame is logged as the start of its text',
    );
    assert.ok(server.violations().every((violation) => violation.length < 400));
    // A faithful re-send of a large envelope is still recognised, and a reused ackid still caught.
    client.sendEnvelope(120, { type: 'answer', sdp: big });
    await waitFor('the re-send acknowledged', () => client.acks().length === 121);
    client.sendEnvelope(119, { type: 'answer', sdp: `${big}!` });
    client.sendEnvelope(121, { type: 'answer', sdp: 'v=0' });
    await waitFor('ack 121', () => client.acks().includes(121));
    assert.match(server.violations().at(-1)!, /reused ackid 119/);
    assert.equal(harness.delivered.length, 121);
  });

  it('closes a socket that sends a frame over 64 kB, and records it', async () => {
    const harness = await startServer();
    const client = await RawClient.signIn(harness.server.port);
    client.sendEnvelope(1, { type: 'answer', sdp: 'x'.repeat(65 * 1024) });
    assert.equal(await withTimeout('the close', client.closed), 1009);
    await waitFor('the violation', () => harness.server.violations().length > 0);
    assert.match(harness.server.violations()[0]!, /client frame rejected: Max payload size exceeded/);
    assert.equal(harness.delivered.length, 0);
  });
});

describe('Kit signaling server: reconnect and close', () => {
  it('on reconnect=1 re-sends unacknowledged messages with their ackids, no new peer_info or offer, and replaces the first socket', async () => {
    const harness = await startServer();
    const { server } = harness;
    const first = await RawClient.open(server.port, SIGN_IN, PROTOCOL, false);
    await first.waitForFrames(3);
    first.sendJson({ ack: 2 });
    await waitFor('ack 2 applied', () => server.unacknowledged().length === 1);
    const clientId = first.clientId;

    const second = await RawClient.open(server.port, `${SIGN_IN}&reconnect=1`, PROTOCOL, false);
    assert.equal(second.ws.protocol, PROTOCOL);
    assert.equal(await withTimeout('first socket closed', first.closed), 4409);
    await second.waitForFrames(1);
    await delay(50);
    assert.equal(second.frames.length, 1, 'only the unacknowledged offer comes again');
    assert.deepEqual(second.frames[0], first.frames[2]);
    assert.deepEqual(
      harness.clients.map(({ reconnect }) => reconnect),
      [false, true],
    );
    assert.equal(harness.clients[1]!.client, harness.clients[0]!.client, 'the same client peer continues');
    assert.deepEqual(harness.closes, [], 'the replaced socket does not end the client');
    assert.equal(server.reconnects, 1);
    assert.equal(server.clientCount, 1);
    assert.equal(server.lastSignIn?.reconnect, true);

    // The client keeps its announced id on the new socket.
    second.sendEnvelope(1, { type: 'answer', sdp: 'v=0' }, clientId);
    await waitFor('ack 1', () => second.acks().includes(1));
    assert.equal(harness.delivered.length, 1);

    // A message sent while no socket is open is retained and arrives on the next reconnect.
    await second.closeWith(4001);
    await waitFor('close reported', () => harness.closes.length === 1);
    harness.clients[0]!.client.sendPeerMessage({ candidate: 'candidate:x', sdpMid: '0' });
    const third = await RawClient.open(server.port, `${SIGN_IN}&reconnect=1`);
    await third.waitForFrames(2);
    assert.deepEqual(
      third.frames.map((frame) => frame['ackid']),
      [3, 4],
    );
    assert.equal(peerMsg(third.frames[1]).to, clientId);
    assert.deepEqual(server.violations(), []);
  });

  it('refuses reconnect=1 with 409 when no client is live', async () => {
    const { server } = await startServer();
    const refused = await refusedSignIn(server.port, `${SIGN_IN}&reconnect=1`, PROTOCOL);
    assert.equal(refused.status, 409);
    assert.match(server.violations()[0] ?? '', /409.*no live client/);
  });

  it('refuses reconnect=1 with 409 under another peer name than the live client', async () => {
    const harness = await startServer();
    const { server } = harness;
    const client = await RawClient.signIn(server.port);
    const refused = await refusedSignIn(server.port, '/sign_in?peer_id=peer-9999999999&version=2&reconnect=1', PROTOCOL);
    assert.equal(refused.status, 409);
    assert.match(refused.body, /peer-9999999999.*signed in as peer-0123456789/);
    assert.match(server.violations()[0] ?? '', /409.*reuses its peer name/);
    assert.equal(client.closeCode, undefined, 'the live client keeps its socket');
    assert.equal(server.reconnects, 0);
    const again = await RawClient.open(server.port, `${SIGN_IN}&reconnect=1`);
    assert.equal(await withTimeout('first closed', client.closed), 4409);
    assert.equal(again.ws.protocol, PROTOCOL);
    assert.equal(server.reconnects, 1);
  });

  it('after endStream refuses reconnect=1 with 409 and records it, but still takes the last acks', async () => {
    const harness = await startServer();
    const { server } = harness;
    const client = await RawClient.signIn(server.port);
    await waitFor('acks applied', () => server.unacknowledged().length === 0);
    harness.clients[0]!.client.sendBye();
    server.sendError('peerRemoved');
    server.endStream('peerRemoved');
    await client.waitForFrames(5);
    assert.deepEqual(client.frames[4], { error: 'peerRemoved' });
    await waitFor('the BYE acknowledged', () => server.unacknowledged().length === 0);
    assert.equal(harness.clients[0]!.client.ended, true);
    assert.equal(client.closeCode, undefined, 'the socket stays open for the client to leave by itself');

    // Nothing more goes to an ended client.
    harness.clients[0]!.client.sendPeerMessage({ late: true });
    client.sendEnvelope(1, { type: 'answer', sdp: 'v=0' });
    await delay(50);
    assert.equal(client.frames.length, 5);
    assert.equal(harness.delivered.length, 0);

    const refused = await refusedSignIn(server.port, `${SIGN_IN}&reconnect=1`, PROTOCOL);
    assert.equal(refused.status, 409);
    assert.deepEqual(server.violations().length, 1);
    assert.match(server.violations()[0]!, /409: reconnect after the server ended the stream \(peerRemoved\)/);
    // A new sign-in is a new client and is welcome.
    const next = await RawClient.open(server.port, '/sign_in?peer_id=peer-5555555555&version=2');
    await next.waitForFrames(3);
    assert.equal(harness.clients.length, 2);
  });

  it('reports 4001 and a dropped connection as final: false, and 1000 as final: true', async () => {
    const harness = await startServer();
    const { server } = harness;
    const first = await RawClient.signIn(server.port);
    await first.closeWith(4001);
    await waitFor('4001 reported', () => harness.closes.length === 1);
    assert.deepEqual(
      harness.closes.map(({ final, code }) => ({ final, code })),
      [{ final: false, code: 4001 }],
    );

    const second = await RawClient.open(server.port, `${SIGN_IN}&reconnect=1`);
    second.ws.terminate();
    await waitFor('drop reported', () => harness.closes.length === 2);
    assert.deepEqual(harness.closes[1]!.final, false);
    assert.equal(harness.closes[1]!.code, 1006);

    const third = await RawClient.open(server.port, `${SIGN_IN}&reconnect=1`);
    await third.closeWith(1000);
    await waitFor('1000 reported', () => harness.closes.length === 3);
    assert.deepEqual(
      harness.closes.map(({ final }) => final),
      [false, false, true],
    );
    assert.ok(harness.closes.every(({ client }) => client === harness.clients[0]!.client));
    assert.equal((await refusedSignIn(server.port, `${SIGN_IN}&reconnect=1`, PROTOCOL)).status, 409);
  });

  it('dropClient cuts the socket without a close frame and keeps the client for a reconnect', async () => {
    const harness = await startServer();
    const { server } = harness;
    const client = await RawClient.open(server.port, SIGN_IN, PROTOCOL, false);
    await client.waitForFrames(3);
    server.dropClient();
    assert.equal(await withTimeout('drop', client.closed), 1006);
    await waitFor('drop reported', () => harness.closes.length === 1);
    assert.deepEqual(
      harness.closes.map(({ final, code }) => ({ final, code })),
      [{ final: false, code: 1006 }],
    );
    const again = await RawClient.open(server.port, `${SIGN_IN}&reconnect=1`);
    await again.waitForFrames(3);
    assert.deepEqual(again.frames, client.frames);
  });

  it('a new sign-in replaces the client: new id, old socket closed with 4409, ackids continue', async () => {
    const harness = await startServer();
    const { server } = harness;
    const first = await RawClient.signIn(server.port);
    const second = await RawClient.open(server.port, '/sign_in?peer_id=peer-5555555555&version=2');
    assert.equal(await withTimeout('first closed', first.closed), 4409);
    await second.waitForFrames(3);
    assert.deepEqual(
      second.frames.slice(0, 3).map((frame) => frame['ackid']),
      [4, 5, 6],
    );
    assert.deepEqual(second.frames[0], { peer_info: { id: second.clientId, name: 'peer-5555555555' }, ackid: 4 });
    assert.notEqual(second.clientId, first.clientId);
    assert.deepEqual(harness.closes, []);
    // The replaced client is gone: messages to it are dropped.
    harness.clients[0]!.client.sendPeerMessage({ late: true });
    second.sendEnvelope(1, { type: 'answer', sdp: 'v=0' });
    await waitFor('ack', () => second.acks().includes(1));
    assert.equal(second.frames.filter((frame) => 'peer_msg' in frame).length, 1);
  });

  it('sends errors without an ackid and BYE as a bare msg string', async () => {
    const harness = await startServer();
    const client = await RawClient.signIn(harness.server.port);
    harness.clients[0]!.client.sendBye();
    harness.server.sendError('peerRemoved');
    await client.waitForFrames(5);
    assert.deepEqual(client.frames[3], { peer_msg: { from: SERVER_ID, to: client.clientId, msg: 'BYE' }, ackid: 4 });
    assert.deepEqual(client.frames[4], { error: 'peerRemoved' });
  });

  it('resets connections from an address other than the allowed one', async () => {
    const { server } = await startServer({ allowedRemoteAddress: '127.0.0.2' });
    const error = await withTimeout(
      'reset',
      new Promise<NodeJS.ErrnoException>((resolve) => {
        const socket = net.connect(server.port, '127.0.0.1');
        socket.on('error', resolve);
        socket.on('close', () => resolve(new Error('closed') as NodeJS.ErrnoException));
      }),
    );
    assert.equal(error.code, 'ECONNRESET');
  });

  it('close() ends every socket, even one mid-handshake, and stops listening', async () => {
    const harness = await startServer({ heartbeatMs: 20 });
    const { server } = harness;
    const client = await RawClient.signIn(server.port);
    const halfOpen = net.connect(server.port, '127.0.0.1');
    halfOpen.on('error', () => {});
    await withTimeout('tcp connect', new Promise((resolve) => halfOpen.once('connect', resolve)));
    halfOpen.write('GET /sign_in HTTP/1.1\r\nHost: x\r\n');
    const halfOpenClosed = new Promise((resolve) => halfOpen.once('close', resolve));

    await withTimeout('server close', server.close());
    openServers.delete(server);
    assert.equal(await withTimeout('client close', client.closed), 1001);
    await withTimeout('half-open socket closed', halfOpenClosed);
    assert.equal(server.clientCount, 0);
    assert.deepEqual(harness.closes, [], 'the closing session is not called back');
    const refused = await withTimeout(
      'refused connection',
      new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
        const socket = net.connect(server.port, '127.0.0.1');
        socket.on('error', resolve);
        socket.on('connect', () => {
          socket.destroy();
          resolve(undefined);
        });
      }),
    );
    assert.equal(refused?.code, 'ECONNREFUSED');
    const heartbeats = client.frames.filter((frame) => 'hb' in frame).length;
    await delay(60);
    assert.equal(client.frames.filter((frame) => 'hb' in frame).length, heartbeats);
  });
});

describe('Kit signaling server: scripted misbehaviour', () => {
  it('sends raw text as it is, unretained, and logs only its start', async () => {
    const { server } = await startServer();
    const client = await RawClient.signIn(server.port);
    assert.equal(server.sendRaw('{"peer_msg": {'), true);
    const large = `{"padding":"${'x'.repeat(100_000)}"}`;
    assert.equal(server.sendRaw(large), true);
    await waitFor('both frames', () => client.unreadable.length === 1 && client.frames.some((frame) => 'padding' in frame));
    assert.equal(client.unreadable[0], '{"peer_msg": {');
    await waitFor('acks cleared the retained messages', () => server.unacknowledged().length === 0);
    const logged = server.envelopes().filter((entry) => entry.direction === 'out' && typeof entry.message === 'string');
    assert.equal(logged.length, 2);
    assert.ok((logged[1]!.message as string).length < 5000, 'an excerpt of the large frame');
    await client.closeWith(1000);
    assert.equal(server.sendRaw('{}'), false, 'no open socket');
  });

  it('sends a peer message text as it is, with the next ackid', async () => {
    const harness = await startServer();
    const client = await RawClient.signIn(harness.server.port);
    harness.clients[0]!.client.sendPeerText('{"type": "offer", "sdp": ');
    await client.waitForFrames(4);
    assert.deepEqual(client.frames[3], { peer_msg: { from: SERVER_ID, to: client.clientId, msg: '{"type": "offer", "sdp": ' }, ackid: 4 });
  });

  it('sends its messages again with the same ackids, acknowledged or not', async () => {
    const { server } = await startServer();
    const client = await RawClient.signIn(server.port);
    await waitFor('acks cleared the retained messages', () => server.unacknowledged().length === 0);
    assert.equal(server.resendSent(), 3);
    await client.waitForFrames(6);
    assert.deepEqual(client.frames.slice(3), client.frames.slice(0, 3));
    assert.deepEqual(client.acks(), []);
    assert.deepEqual(server.violations(), []);
  });

  it('sends peer messages with their ackids in order, the higher first', async () => {
    const { server } = await startServer();
    const client = await RawClient.signIn(server.port);
    assert.deepEqual(server.sendPeerMessagesReversed([{ candidate: 'a' }, { candidate: 'b' }]), [4, 5]);
    await client.waitForFrames(5);
    assert.deepEqual(
      client.frames.slice(3).map((frame) => [frame['ackid'], JSON.parse(peerMsg(frame).msg)]),
      [
        [5, { candidate: 'b' }],
        [4, { candidate: 'a' }],
      ],
    );
    await waitFor('a cumulative ack covers both', () => server.unacknowledged().length === 0);
    assert.deepEqual(server.violations(), []);
  });

  it('stops heartbeats while paused and resumes them', async () => {
    const { server } = await startServer({ heartbeatMs: 20 });
    const client = await RawClient.signIn(server.port);
    const heartbeats = () => client.frames.filter((frame) => 'hb' in frame).length;
    await waitFor('a heartbeat', () => heartbeats() > 0);
    server.heartbeatsPaused = true;
    await delay(30);
    const paused = heartbeats();
    await delay(200);
    assert.equal(heartbeats(), paused);
    server.heartbeatsPaused = false;
    await waitFor('heartbeats again', () => heartbeats() > paused + 1);
  });
});
