/**
 * The simulated Kit server's media side, end to end on loopback: Kit's signaling
 * envelope through the signaling route, a werift client answering the offer,
 * VP8 RTP through the media route, the app-message data channel, the
 * load-balancer restriction, faults and cleanup.
 *
 * Run: node --import tsx --test test/simulators/kit/media.node.test.ts
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { RTCPeerConnection } from 'werift';
import type { RTCDataChannel } from 'werift';
import { WebSocket } from 'ws';
import { DEFAULT_TEST_PATTERN_PATH, createKitMediaFactory, rewriteOfferCandidates } from '../../../demo/simulators/kit/media/index.js';
import type { KitMediaSessionHandle } from '../../../demo/simulators/kit/media/index.js';
import { Vp8RtpPacketizer, parseIvf, readIvfFile } from '../../../demo/simulators/kit/media/ivf.js';
import { signInProblem } from '../../../demo/simulators/kit/media/signaling-server.js';

const STAGE_URI = 'omniverse://simulated/stage.usd';
const factory = createKitMediaFactory({ heartbeatMs: 300 });
const openSessions = new Set<KitMediaSessionHandle>();
const openClients = new Set<KitTestClient>();

async function startSession(id: string): Promise<KitMediaSessionHandle> {
  const media = await factory({
    id,
    usdStageUri: STAGE_URI,
    routeIp: '127.0.0.1',
    appId: 'usd-viewer',
    profile: 'default',
    version: '1',
  });
  openSessions.add(media);
  return media;
}

after(async () => {
  await Promise.all([...openClients].map((client) => client.close()));
  await Promise.all([...openSessions].map((media) => media.close()));
});

/** Resolves when `condition` holds, polling; rejects after `timeoutMs`. */
async function waitFor(what: string | (() => string), condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await delay(20);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type Envelope = Record<string, unknown>;
interface AppMessage {
  event_type: string;
  payload: Record<string, unknown>;
}

/** A client doing what a browser connector does, with werift as its WebRTC stack. */
class KitTestClient {
  readonly envelopes: Envelope[] = [];
  readonly appMessages: AppMessage[] = [];
  rtpPackets = 0;
  firstRtpAt: number | undefined;
  closeCode: number | undefined;
  closeReason = '';
  closed = false;
  readonly openedAt: number;
  pc: RTCPeerConnection | undefined;
  channel: RTCDataChannel | undefined;

  private constructor(readonly ws: WebSocket) {
    this.openedAt = performance.now();
    ws.on('message', (data) => {
      const envelope = JSON.parse(data.toString()) as Envelope;
      this.envelopes.push(envelope);
      if (typeof envelope['ackid'] === 'number') ws.send(JSON.stringify({ ack: envelope['ackid'] }));
    });
    ws.on('close', (code, reason) => {
      this.closed = true;
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
    ws.on('error', () => {});
  }

  static async connect(port: number, path = '/sign_in?peer_id=peer-0123456789&version=2'): Promise<KitTestClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    const client = new KitTestClient(ws);
    openClients.add(client);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('close', () => resolve());
    });
    return client;
  }

  get serverId(): number | undefined {
    const infos = this.envelopes.filter((envelope) => envelope['peer_info'] !== undefined);
    return (infos[1]?.['peer_info'] as { id?: number } | undefined)?.id;
  }

  offers(): string[] {
    return this.envelopes
      .map((envelope) => envelope['peer_msg'] as { msg?: string } | undefined)
      .filter((peerMessage) => typeof peerMessage?.msg === 'string')
      .map((peerMessage) => JSON.parse(peerMessage!.msg!) as { type: string; sdp: string })
      .filter((msg) => msg.type === 'offer')
      .map((msg) => msg.sdp);
  }

  sendToServer(msg: unknown): void {
    this.ws.send(JSON.stringify({ peer_msg: { to: this.serverId, msg: JSON.stringify(msg) } }));
  }

  /** Answers the latest offer; `route` given = rewrite its candidates, as a client must. */
  async answer(route: { address: string; port: number } | undefined): Promise<void> {
    await waitFor('the offer', () => this.offers().length > 0, 3000);
    const offerSdp = this.offers().at(-1)!;
    const pc = new RTCPeerConnection({
      iceServers: [],
      bundlePolicy: 'max-bundle',
      iceUseIpv4: false,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: ['127.0.0.1'],
      iceInterfaceAddresses: { udp4: '127.0.0.1' },
    });
    this.pc = pc;
    pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe(() => {
        this.rtpPackets++;
        this.firstRtpAt ??= performance.now();
      });
    });
    pc.onDataChannel.subscribe((channel) => {
      this.channel = channel;
      channel.onMessage.subscribe((data) => {
        const envelope = JSON.parse(data.toString()) as { data: string };
        this.appMessages.push(JSON.parse(envelope.data) as AppMessage);
      });
    });
    await pc.setRemoteDescription({ type: 'offer', sdp: route ? rewriteOfferCandidates(offerSdp, route) : offerSdp });
    await pc.setLocalDescription(await pc.createAnswer());
    this.sendToServer({ type: 'answer', sdp: pc.localDescription!.sdp });
  }

  sendApp(event_type: string, payload: unknown): void {
    this.channel!.send(JSON.stringify({ messageType: 'json', messageRecipient: 'kit', data: JSON.stringify({ event_type, payload }) }));
  }

  async appReply(eventType: string, after = 0): Promise<AppMessage> {
    await waitFor(`app reply ${eventType}`, () => this.appMessages.slice(after).some((m) => m.event_type === eventType), 3000);
    return this.appMessages.slice(after).find((m) => m.event_type === eventType)!;
  }

  async close(): Promise<void> {
    openClients.delete(this);
    this.ws.terminate();
    await this.pc?.close();
  }
}

describe('IVF test pattern and VP8 packetizer', () => {
  it('reads the committed clip: VP8, 320x240, 30 fps, key frame first', async () => {
    const { header, frames } = await readIvfFile(DEFAULT_TEST_PATTERN_PATH);
    assert.equal(header.fourcc, 'VP80');
    assert.equal(header.width, 320);
    assert.equal(header.height, 240);
    assert.equal(header.timebaseDenominator / header.timebaseNumerator, 30);
    assert.ok(frames.length >= 30);
    assert.equal(frames[0]!.keyframe, true);
    assert.ok(frames.some((frame) => !frame.keyframe));
  });

  it('rejects a file that is not IVF', () => {
    assert.throws(() => parseIvf(Buffer.from('not an ivf file at all, just text......')), /DKIF/);
  });

  it('splits a frame with descriptor, marker on the last packet, continuing sequence numbers', () => {
    const packetizer = new Vp8RtpPacketizer({ maxPayloadSize: 101, initialSequenceNumber: 65535, ssrc: 7 });
    const frame = Buffer.alloc(250, 1);
    const packets = packetizer.packetize(frame, 3000);
    assert.equal(packets.length, 3);
    assert.deepEqual(
      packets.map((p) => p.header.sequenceNumber),
      [65535, 0, 1],
    );
    assert.deepEqual(
      packets.map((p) => p.header.marker),
      [false, false, true],
    );
    assert.deepEqual(
      packets.map((p) => p.payload[0]),
      [0x10, 0x00, 0x00],
    );
    assert.equal(Buffer.concat(packets.map((p) => p.payload.subarray(1))).length, 250);
    assert.ok(packets.every((p) => p.header.timestamp === 3000));
    assert.equal(packetizer.packetize(frame, 6000)[0]!.header.sequenceNumber, 2);
  });
});

describe('sign-in URL check', () => {
  it('accepts the documented form and names what is wrong otherwise', () => {
    assert.equal(signInProblem('/sign_in?peer_id=peer-0123456789&version=2'), undefined);
    assert.equal(signInProblem('/elsewhere?peer_id=peer-0123456789')?.code, 4404);
    assert.match(signInProblem('/sign_in?peer_id=peer-12')?.reason ?? '', /peer_id/);
    assert.equal(signInProblem('/sign_in?peer_id=peer-0123456789&version=3')?.code, 4400);
  });
});

describe('Kit session media', () => {
  it('streams VP8 and app messages through the routes, and survives faults', async (t) => {
    const media = await startSession('session-main');
    const route = { address: '127.0.0.1', port: media.media.sourcePort };
    const client = await KitTestClient.connect(media.signaling.sourcePort);

    await waitFor('peer infos and offer', () => client.offers().length === 1, 3000);
    const [clientInfo, serverInfo, offerEnvelope] = client.envelopes;
    assert.deepEqual(clientInfo!['peer_info'], { id: (clientInfo!['peer_info'] as { id: number }).id, name: 'peer-0123456789' });
    assert.equal(typeof (clientInfo!['peer_info'] as { id: unknown }).id, 'number');
    assert.match((serverInfo!['peer_info'] as { name: string }).name, /^OneSdkServer-/);
    assert.equal((offerEnvelope!['peer_msg'] as { from: number }).from, client.serverId);
    assert.deepEqual(
      client.envelopes.slice(0, 3).map((envelope) => envelope['ackid']),
      [1, 2, 3],
    );
    const offer = client.offers()[0]!;
    assert.match(offer, /m=video .*\r\n/);
    assert.match(offer, /a=rtpmap:\d+ VP8\/90000/);
    assert.match(offer, /m=application .* webrtc-datachannel/);
    assert.match(offer, new RegExp(`a=candidate:\\S+ 1 udp \\d+ 127\\.0\\.0\\.1 ${media.media.destinationPort} typ host`));
    t.diagnostic(`offer after ${(performance.now() - client.openedAt).toFixed(0)} ms`);

    // Malformed input on the signaling socket is ignored.
    client.ws.send('{not json');
    client.ws.send(JSON.stringify([1, 2, 3]));
    client.ws.send(JSON.stringify({ peer_msg: { to: client.serverId, msg: '{broken' } }));
    // A trickled mDNS candidate (nested form) must be ignored, not stall the peer.
    client.sendToServer({
      type: 'candidate',
      candidate: {
        candidate: 'candidate:1 1 udp 2122260223 0b1c9b3e-aaaa-bbbb-cccc-0123456789ab.local 50000 typ host',
        sdpMid: '0',
        sdpMLineIndex: 0,
      },
    });

    await client.answer(route);
    await waitFor('more than 30 RTP packets', () => client.rtpPackets > 30, 5000);
    t.diagnostic(`first RTP ${(client.firstRtpAt! - client.openedAt).toFixed(0)} ms after WebSocket open`);
    assert.equal(media.connections(), 2, 'one signaling socket and one connected peer');

    // Heartbeats keep coming, with ackids.
    await waitFor('a heartbeat', () => client.envelopes.some((envelope) => typeof envelope['hb'] === 'number'), 2000);
    assert.ok(client.envelopes.filter((e) => typeof e['hb'] === 'number').every((e) => typeof e['ackid'] === 'number'));

    // App messages round trip over the data channel.
    await waitFor('the data channel', () => client.channel?.readyState === 'open', 3000);
    const sentAt = performance.now();
    client.sendApp('loadingStateQuery', {});
    const loading = await client.appReply('loadingStateResponse');
    t.diagnostic(`data channel round trip ${(performance.now() - sentAt).toFixed(1)} ms`);
    assert.deepEqual(loading.payload, { loading_state: 'idle', url: STAGE_URI });
    let seen = client.appMessages.length;
    client.sendApp('openStageRequest', { url: 'omniverse://simulated/other.usd' });
    assert.equal((await client.appReply('openedStageResult', seen)).payload['url'], 'omniverse://simulated/other.usd');
    assert.equal((await client.appReply('openedStageResult', seen)).payload['result'], 'success');
    seen = client.appMessages.length;
    client.sendApp('pointerMove', { x: 1, y: 2 });
    client.sendApp('pointerDown', { button: 0 });
    await waitFor(
      'two input echoes',
      () => client.appMessages.slice(seen).filter((m) => m.event_type === 'inputReceived').length === 2,
      3000,
    );
    const echoes = client.appMessages.slice(seen).filter((m) => m.event_type === 'inputReceived');
    assert.deepEqual(
      echoes.map((m) => m.payload),
      [
        { count: 1, last: { x: 1, y: 2 } },
        { count: 2, last: { button: 0 } },
      ],
    );
    seen = client.appMessages.length;
    client.sendApp('selectPrimsRequest', { paths: ['/World'] });
    assert.deepEqual((await client.appReply('unknownEvent', seen)).payload, { event_type: 'selectPrimsRequest' });
    client.channel!.send('not json');
    assert.deepEqual(
      (media.messages() as { event_type: string }[]).map((m) => m.event_type),
      ['loadingStateQuery', 'openStageRequest', 'pointerMove', 'pointerDown', 'selectPrimsRequest'],
    );

    // stop-media stops packets with the peer still up; resume-media restarts them.
    await media.fault('stop-media');
    await delay(300);
    const stoppedAt = client.rtpPackets;
    await delay(600);
    assert.equal(client.rtpPackets, stoppedAt, 'no RTP while media is stopped');
    assert.equal(media.connections(), 2);
    await media.fault('resume-media');
    await waitFor('RTP after resume', () => client.rtpPackets > stoppedAt + 10, 3000);

    // drop-signaling cuts the socket abruptly; a reconnecting client gets a fresh offer and peer.
    await media.fault('drop-signaling');
    await waitFor('the signaling socket to close', () => client.closed, 2000);
    assert.equal(client.closeCode, 1006, 'abrupt close, no close frame');
    const again = await KitTestClient.connect(media.signaling.sourcePort, '/sign_in?peer_id=peer-9876543210&version=2');
    await waitFor('a fresh offer', () => again.offers().length === 1, 3000);
    assert.notEqual(iceUfrag(again.offers()[0]!), iceUfrag(offer), 'a new peer connection, new ICE credentials');
    await again.answer(route);
    await waitFor('RTP on the new peer', () => again.rtpPackets > 30, 5000);
    await client.close();
    assert.equal(media.connections(), 2);

    // A newer client replaces the current one.
    const third = await KitTestClient.connect(media.signaling.sourcePort);
    await waitFor('the replaced client to be closed', () => again.closed, 2000);
    assert.equal(again.closeCode, 4409);
    await third.close();
    await again.close();
    await waitFor('no connections left', () => media.connections() === 0, 3000);
  });

  it('refuses wrong sign-in URLs with a close code and reason', async () => {
    const media = await startSession('session-urls');
    const wrongPath = await KitTestClient.connect(media.signaling.sourcePort, '/signin?peer_id=peer-0123456789');
    const wrongPeer = await KitTestClient.connect(media.signaling.sourcePort, '/sign_in?peer_id=someone&version=2');
    await waitFor('both refused', () => wrongPath.closed && wrongPeer.closed, 2000);
    assert.equal(wrongPath.closeCode, 4404);
    assert.match(wrongPath.closeReason, /sign_in/);
    assert.equal(wrongPeer.closeCode, 4400);
    assert.match(wrongPeer.closeReason, /peer_id/);
    assert.equal(wrongPeer.envelopes.length, 0);
  });

  it('shrugs off bad client input and still serves the next client', async () => {
    const media = await startSession('session-bad-input');
    const rude = await KitTestClient.connect(media.signaling.sourcePort);
    await waitFor('the offer', () => rude.offers().length === 1, 3000);
    rude.sendToServer({ type: 'answer', sdp: 'not an sdp' });
    rude.sendToServer({ type: 'answer', sdp: 42 });
    rude.sendToServer({ type: 'candidate', candidate: 'candidate:garbage' });
    rude.sendToServer({ type: 'candidate', candidate: { candidate: 5 } });
    rude.sendToServer({ type: 'bye' });
    rude.ws.send(Buffer.from([0, 1, 2]));
    rude.ws.send(JSON.stringify({ peer_msg: null, ack: 'x', ackid: {} }));
    rude.ws.send('x'.repeat(300 * 1024)); // over the message size limit: the server closes this socket
    await waitFor('the oversized message to close the socket', () => rude.closed, 2000);
    assert.equal(rude.closeCode, 1009);
    await rude.close();

    const polite = await KitTestClient.connect(media.signaling.sourcePort);
    await polite.answer({ address: '127.0.0.1', port: media.media.sourcePort });
    await waitFor('RTP for the next client', () => polite.rtpPackets > 10, 5000);
    await polite.close();
  });

  it('gives nothing to a client using the destination ports', async () => {
    const media = await startSession('session-direct');

    // Signaling destination port: reset before a single byte.
    const direct = net.connect({ host: '127.0.0.1', port: media.signaling.destinationPort });
    let received = 0;
    direct.on('data', (chunk: Buffer) => (received += chunk.length));
    direct.on('error', () => {});
    direct.on('connect', () => direct.write('GET /sign_in?peer_id=peer-0123456789&version=2 HTTP/1.1\r\nHost: x\r\n\r\n'));
    await new Promise<void>((resolve) => direct.once('close', () => resolve()));
    assert.equal(received, 0);

    // Media destination port without rewriting the offer: no media.
    const client = await KitTestClient.connect(media.signaling.sourcePort);
    await client.answer(undefined);
    await delay(2500);
    assert.equal(client.rtpPackets, 0);
    assert.notEqual(client.pc!.connectionState, 'connected');
    await client.close();
  });

  it('refuse-ice blocks ICE until resume-ice', async () => {
    const media = await startSession('session-ice');
    const route = { address: '127.0.0.1', port: media.media.sourcePort };
    await media.fault('refuse-ice');
    const refused = await KitTestClient.connect(media.signaling.sourcePort);
    await refused.answer(route);
    await delay(2000);
    assert.equal(refused.rtpPackets, 0);
    assert.equal(media.connections(), 1, 'signaling only');
    await refused.close();

    await media.fault('resume-ice');
    const accepted = await KitTestClient.connect(media.signaling.sourcePort);
    await accepted.answer(route);
    await waitFor('RTP after resume-ice', () => accepted.rtpPackets > 10, 5000);
    await assert.rejects(Promise.resolve(media.fault('no-such-fault')), /unknown fault/);
    await accepted.close();
  });

  it('closes a peer whose client went silent', async () => {
    const media = await createKitMediaFactory({ heartbeatMs: 300, peerIdleTimeoutMs: 2500 })({
      id: 'session-idle',
      routeIp: '127.0.0.1',
      appId: 'usd-viewer',
      profile: 'default',
      version: '1',
    });
    openSessions.add(media);
    const client = await KitTestClient.connect(media.signaling.sourcePort);
    await client.answer({ address: '127.0.0.1', port: media.media.sourcePort });
    await waitFor('RTP', () => client.rtpPackets > 5, 5000);
    await delay(3000); // a live client (RTCP reports, consent checks) keeps its peer past the idle timeout
    assert.equal(media.connections(), 2);
    await client.pc!.close(); // gone without a word on the signaling socket
    await waitFor('the silent peer to be closed', () => media.connections() === 1, 5000);
    assert.equal(media.peerState(), 'none');
    await client.close();
  });

  it('close() releases every port and timer', async () => {
    const media = await startSession('session-close');
    const client = await KitTestClient.connect(media.signaling.sourcePort);
    await client.answer({ address: '127.0.0.1', port: media.media.sourcePort });
    await waitFor('RTP', () => client.rtpPackets > 5, 5000);
    await media.close();
    openSessions.delete(media);
    await waitFor('the client socket to close', () => client.closed, 2000);
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
      500,
    );
    await waitFor(
      () => `no timers (still: ${process.getActiveResourcesInfo().join(', ')})`,
      () => leftovers(['Timeout', 'Immediate']).length === 0,
      3000,
    );
  });
});

function iceUfrag(sdp: string): string | undefined {
  return /a=ice-ufrag:(\S+)/.exec(sdp)?.[1];
}
