/**
 * The two clients the first-frame benchmark compares, each timed from "session ready" to the first decoded frame:
 * the element, and a minimal hand-written client of the same signaling and WebRTC path (the baseline).
 * Both show the stream in a <video> and detect the first frame the same way, checked every 10 ms: the video has
 * current data, or getStats() counts a decoded frame.
 */
import '../../src/kit-stream-player/index.js';

declare global {
  interface Window {
    bench: { element(server: string): Promise<number>; baseline(server: string): Promise<number> };
  }
}

const stage = document.querySelector('#stage')!;

async function element(server: string): Promise<number> {
  const player = document.createElement('kit-stream-player');
  Object.assign(player, { appId: 'usd-viewer', profile: 'default' });
  player.style.width = '100%';
  player.style.height = '100%';
  const connected = new Promise<number>((resolve, reject) => {
    player.addEventListener('kit-connected', (event) => resolve(event.detail.timeToFirstFrame), { once: true });
    player.addEventListener('kit-error', (event) => reject(new Error(event.detail.message)), { once: true });
  });
  stage.append(player);
  player.server = server;
  try {
    return await connected;
  } finally {
    const ended = new Promise((resolve) => player.addEventListener('kit-session-ended', resolve, { once: true }));
    player.remove();
    await ended;
  }
}

/** The fields of a signaling message the baseline client reads. */
interface SignalingMessage {
  ackid?: unknown;
  peer_info?: { id: unknown; name: string };
  peer_msg?: { msg: string };
}

async function baseline(server: string): Promise<number> {
  const created = await fetch(`${server}/stream`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'usd-viewer', profile: 'default' }),
  });
  const session = (await created.json()) as { id: string; routes: Record<string, Array<{ description: string; source_port: number }>> };
  const readyAt = performance.now();
  const [host, routes] = Object.entries(session.routes)[0];
  const signalingPort = routes.find((route) => route.description === 'signaling')!.source_port;
  const mediaPort = routes.find((route) => route.description === 'media')!.source_port;
  const rewrite = (candidate: string) => {
    const parts = candidate.split(' ');
    parts[4] = host;
    parts[5] = String(mediaPort);
    return parts.join(' ');
  };

  const peerId = `peer-${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}`;
  const socket = new WebSocket(`ws://${host}:${signalingPort}/sign_in?peer_id=${peerId}&version=2`);
  const peer = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
  const video = Object.assign(document.createElement('video'), { muted: true, autoplay: true, playsInline: true });
  stage.append(video);
  peer.ontrack = (event) => {
    video.srcObject = event.streams[0] ?? new MediaStream([event.track]);
    video.play().catch(() => undefined);
  };
  let serverId: unknown;
  const send = (message: unknown) => socket.send(JSON.stringify(message));
  peer.onicecandidate = (event) => {
    if (event.candidate?.candidate) {
      send({
        peer_msg: {
          to: serverId,
          msg: JSON.stringify({
            type: 'candidate',
            candidate: event.candidate.candidate,
            sdpMid: event.candidate.sdpMid,
            sdpMLineIndex: event.candidate.sdpMLineIndex,
          }),
        },
      });
    }
  };
  socket.onmessage = async (event) => {
    const message = JSON.parse(event.data as string) as SignalingMessage;
    if (message.ackid !== undefined) send({ ack: message.ackid });
    if (message.peer_info && message.peer_info.name !== peerId) serverId = message.peer_info.id;
    if (message.peer_msg) {
      const inner = JSON.parse(message.peer_msg.msg) as { type: string; sdp?: string };
      if (inner.type === 'offer') {
        const sdp = (inner.sdp as string)
          .split('\r\n')
          .map((line) => (line.startsWith('a=candidate:') ? `a=${rewrite(line.slice(2))}` : line))
          .join('\r\n');
        await peer.setRemoteDescription({ type: 'offer', sdp });
        await peer.setLocalDescription(await peer.createAnswer());
        send({ peer_msg: { to: serverId, msg: JSON.stringify({ type: 'answer', sdp: peer.localDescription!.sdp }) } });
      }
    }
  };
  try {
    for (let i = 0; i < 2000; i++) {
      if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth > 0) return performance.now() - readyAt;
      let frames = 0;
      (await peer.getStats()).forEach((entry: { type: string; kind?: string; framesDecoded?: number }) => {
        if (entry.type === 'inbound-rtp' && entry.kind === 'video') frames = entry.framesDecoded ?? 0;
      });
      if (frames > 0) return performance.now() - readyAt;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error('The baseline client got no frame in 20 s.');
  } finally {
    peer.close();
    socket.close();
    video.remove();
    await fetch(`${server}/stream/${session.id}`, { method: 'DELETE' });
  }
}

window.bench = { element, baseline };
