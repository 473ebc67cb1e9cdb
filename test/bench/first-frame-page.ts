/**
 * The two clients the benchmark compares: the element, and a minimal hand-written client of Kit's protocol (the
 * baseline), written from the protocol description alone, with nothing from src/ but the element itself.
 *
 * Each is timed from "session ready" to the first decoded frame, detected the same way, checked every 10 ms: the video
 * has current data, or getStats() counts a decoded frame. Once streaming, the benchmark dispatches synthetic pointer
 * events at the picture and records when it did (wall clock), so that the Node side can pair each with the moment the
 * simulator received the resulting input.
 */
import '../../src/kit-stream-player/index.js';

type ClientName = 'element' | 'baseline';

/** A client that streams: where pointer events go, and how it lets go of its session. */
interface StreamingClient {
  id: string;
  firstFrameMs: number;
  target: HTMLElement;
  stop(): Promise<void>;
}

declare global {
  interface Window {
    bench: {
      /** Starts a session and streams until the first decoded frame; returns the session id and the time it took. */
      start(client: ClientName, server: string): Promise<{ id: string; firstFrameMs: number }>;
      /** Dispatches `count` pointerdown/pointerup pairs `spacingMs` apart; returns each pointerdown's wall-clock time. */
      presses(count: number, spacingMs: number): Promise<number[]>;
      /** Dispatches `count` pointermoves `spacingMs` apart; returns each one's wall-clock time. */
      moves(count: number, spacingMs: number): Promise<number[]>;
      /** Ends the current client's stream and its session. */
      stop(): Promise<void>;
      /**
       * How this page gets animation frames (the element sends moves on them): frames per second while requested
       * back to back, and the median wait for a frame requested by a timer `idleMs` after the last one, as a pointer
       * event that far apart would.
       */
      animationFrames(idleMs: number): Promise<{ perSecond: number; requestToFrameMs: number }>;
    };
  }
}

const stage = document.querySelector<HTMLElement>('#stage')!;
let current: StreamingClient | undefined;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Milliseconds since the epoch, sub-millisecond: comparable with the simulator's arrival times on the same machine. */
const wallClock = () => performance.timeOrigin + performance.now();

async function startElement(server: string): Promise<StreamingClient> {
  const player = document.createElement('kit-stream-player');
  Object.assign(player, { appId: 'usd-viewer', profile: 'default' });
  player.style.width = '100%';
  player.style.height = '100%';
  const connected = new Promise<{ id: string; timeToFirstFrame: number }>((resolve, reject) => {
    player.addEventListener('kit-connected', (event) => resolve(event.detail), { once: true });
    player.addEventListener('kit-error', (event) => reject(new Error(event.detail.message)), { once: true });
  });
  const stop = async () => {
    const ended = new Promise((resolve) => player.addEventListener('kit-session-ended', resolve, { once: true }));
    player.remove();
    await ended;
  };
  stage.append(player);
  player.server = server;
  let detail: { id: string; timeToFirstFrame: number };
  try {
    detail = await connected;
  } catch (error) {
    await stop();
    throw error;
  }
  // The element starts forwarding input once it has rendered its streaming state.
  await player.updateComplete;
  await sleep(0);
  const target = player.shadowRoot!.querySelector<HTMLElement>('[part="video-area"]')!;
  return { id: detail.id, firstFrameMs: detail.timeToFirstFrame, target, stop };
}

/** The fields of a signaling message the baseline client reads. */
interface SignalingMessage {
  hb?: unknown;
  ack?: unknown;
  ackid?: unknown;
  error?: unknown;
  peer_info?: { id: number; name: string };
  peer_msg?: { from: number; msg: string };
}

/** The ready answer of `POST /stream`: routes as `{ip: [route]}` or, as NVIDIA's sample reads them, `{ip: {routes}}`. */
interface ReadySession {
  id: string;
  routes: Record<
    string,
    Array<{ description: string; source_port: number }> | { routes: Array<{ description: string; source_port: number }> }
  >;
}

/** Writes a u64 big-endian (Kit's timestamps: microseconds) as its high and low u32 halves. */
function writeU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / 2 ** 32));
  view.setUint32(offset + 4, value % 2 ** 32);
}

async function startBaseline(server: string): Promise<StreamingClient> {
  const created = await fetch(`${server}/stream`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'usd-viewer', profile: 'default' }),
  });
  const session = (await created.json()) as ReadySession;
  const readyAt = performance.now();
  const [host, entry] = Object.entries(session.routes)[0];
  const routes = Array.isArray(entry) ? entry : entry.routes;
  const signalingPort = routes.find((route) => route.description === 'signaling')!.source_port;
  const mediaPort = routes.find((route) => route.description === 'media')!.source_port;
  // The server names its in-cluster address and port; the load balancer's route IP and media port reach it.
  const rewrite = (candidate: string) => {
    const fields = candidate.split(' ');
    fields[4] = host;
    fields[5] = String(mediaPort);
    return fields.join(' ');
  };

  const peerName = `peer-${String(Math.floor(Math.random() * 1e9)).padEnd(10, '0')}`;
  const socket = new WebSocket(`ws://${host}:${signalingPort}/sign_in?peer_id=${peerName}&version=2`, `x-nv-sessionid.${session.id}`);
  const peer = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
  // Kit expects both client channels in the answer, so they exist before the offer is taken.
  const input = peer.createDataChannel('input_channel_v1', { ordered: true });
  const cursor = peer.createDataChannel('cursor_channel', { ordered: true });
  input.binaryType = cursor.binaryType = 'arraybuffer';
  let control: RTCDataChannel | undefined;
  peer.ondatachannel = (event) => (control = event.channel);
  const startedAt = performance.now();
  const video = Object.assign(document.createElement('video'), { muted: true, autoplay: true, playsInline: true });
  video.style.width = video.style.height = '100%';
  stage.append(video);
  peer.ontrack = (event) => {
    video.srcObject = event.streams[0] ?? new MediaStream([event.track]);
    video.play().catch(() => undefined);
  };

  let ownId = 0;
  let serverId = -1;
  let nextAckId = 1;
  let maxReceivedAckId = 0;
  let failure: string | undefined;
  const sendPeerMessage = (payload: unknown) =>
    socket.send(JSON.stringify({ peer_msg: { from: ownId, to: serverId, msg: JSON.stringify(payload) }, ackid: nextAckId++ }));
  peer.onicecandidate = ({ candidate }) => {
    if (candidate?.candidate && !/ tcp /i.test(candidate.candidate))
      sendPeerMessage({ sdpMLineIndex: candidate.sdpMLineIndex, sdpMid: candidate.sdpMid, candidate: candidate.candidate });
  };
  // The offer and the candidates after it are applied in order: a candidate needs the remote description.
  let peerWork = Promise.resolve();
  const onPeerMessage = async (msg: string) => {
    if (msg === 'BYE') return void (failure = 'the server said BYE');
    const message = JSON.parse(msg) as { type?: string; sdp?: string; candidate?: string; sdpMid?: string; sdpMLineIndex?: number };
    if (message.type === 'offer' && message.sdp) {
      const sdp = message.sdp
        .split('\r\n')
        .map((line) => (line.startsWith('a=candidate:') ? `a=${rewrite(line.slice(2))}` : line))
        .join('\r\n');
      await peer.setRemoteDescription({ type: 'offer', sdp });
      await peer.setLocalDescription(await peer.createAnswer());
      sendPeerMessage({ type: 'answer', sdp: peer.localDescription!.sdp });
    } else if (message.candidate) {
      await peer.addIceCandidate({ candidate: rewrite(message.candidate), sdpMid: message.sdpMid, sdpMLineIndex: message.sdpMLineIndex });
    }
  };
  socket.onclose = (event) => void (failure ??= `signaling closed with ${event.code}`);
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data as string) as SignalingMessage;
    // Heartbeats are not acknowledged; this client re-sends nothing, so the server's acks need no bookkeeping.
    if (message.hb || message.ack !== undefined) return;
    if (typeof message.ackid === 'number') {
      const fresh = message.ackid > maxReceivedAckId;
      maxReceivedAckId = Math.max(maxReceivedAckId, message.ackid);
      socket.send(JSON.stringify({ ack: maxReceivedAckId }));
      if (!fresh) return;
    }
    if (message.peer_info && (message.peer_info.name === peerName || ownId === 0)) ownId = message.peer_info.id;
    if (message.error !== undefined) failure = `signaling error ${JSON.stringify(message.error)}`;
    if (message.peer_msg) {
      serverId = message.peer_msg.from;
      const { msg } = message.peer_msg;
      peerWork = peerWork.then(() => onPeerMessage(msg)).catch((error: unknown) => void (failure = String(error)));
    }
  };

  // Input: the server's first message on the channel announces the protocol version; above 2, events are framed.
  let inputVersion = 0;
  input.onmessage = ({ data }: MessageEvent<ArrayBuffer>) => {
    if (inputVersion || data.byteLength < 2) return;
    const view = new DataView(data);
    inputVersion = view.getUint16(0, true) === 526 && data.byteLength >= 4 ? view.getUint16(2, true) : view.getUint16(0, true);
  };
  const micros = (time: number) => Math.max(0, Math.round((time - startedAt) * 1000));
  const sendInput = (event: Uint8Array<ArrayBuffer>) => {
    if (input.readyState !== 'open') return;
    if (inputVersion <= 2) return input.send(event);
    const message = new Uint8Array(10 + event.length);
    message[0] = 0x23;
    writeU64(new DataView(message.buffer), 1, micros(performance.now()));
    message[9] = 0x22;
    message.set(event, 10);
    input.send(message);
  };
  const sendButton = (down: boolean, event: PointerEvent) => {
    const bytes = new Uint8Array(18);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, down ? 8 : 9, true);
    view.setUint8(4, event.button + 1);
    writeU64(view, 10, micros(event.timeStamp));
    sendInput(bytes);
  };
  video.onpointerdown = (event) => sendButton(true, event);
  video.onpointerup = (event) => sendButton(false, event);
  video.onpointermove = (event) => {
    // Absolute position in CSS pixels of the picture as shown (`object-fit: contain`), which is also the reference size.
    const box = video.getBoundingClientRect();
    const scale = video.videoWidth ? Math.min(box.width / video.videoWidth, box.height / video.videoHeight) : 1;
    const width = video.videoWidth ? video.videoWidth * scale : box.width;
    const height = video.videoWidth ? video.videoHeight * scale : box.height;
    const clamp = (value: number, max: number) => Math.min(Math.max(Math.trunc(value), 0), Math.trunc(max));
    const bytes = new Uint8Array(26);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, 5, true);
    view.setUint16(4, clamp(event.clientX - box.left - (box.width - width) / 2, width));
    view.setUint16(6, clamp(event.clientY - box.top - (box.height - height) / 2, height));
    view.setUint16(10, Math.trunc(width));
    view.setUint16(12, Math.trunc(height));
    writeU64(view, 18, micros(event.timeStamp));
    sendInput(bytes);
  };

  const stop = async () => {
    // Tells the app the viewer left, then lets go of everything and terminates the session.
    if (control?.readyState === 'open') control.send(JSON.stringify({ exitMessage: { code: 0 } }));
    peer.close();
    socket.close();
    video.remove();
    await fetch(`${server}/stream/${session.id}`, { method: 'DELETE' });
  };
  try {
    for (let i = 0; i < 2000; i++) {
      if (failure) throw new Error(`The baseline client failed: ${failure}`);
      if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth > 0) break;
      let frames = 0;
      (await peer.getStats()).forEach((entry: { type: string; kind?: string; framesDecoded?: number }) => {
        if (entry.type === 'inbound-rtp' && entry.kind === 'video') frames = entry.framesDecoded ?? 0;
      });
      if (frames > 0) break;
      if (i === 1999) throw new Error('The baseline client got no frame in 20 s.');
      await sleep(10);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { id: session.id, firstFrameMs: performance.now() - readyAt, target: video, stop };
}

function streaming(): StreamingClient {
  if (!current) throw new Error('No client is streaming.');
  return current;
}

/** Dispatches one pointer event per step of a fixed schedule, so late timers do not push the later steps back. */
async function dispatchSeries(count: number, spacingMs: number, step: (index: number) => void): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    await sleep(Math.max(0, start + i * spacingMs - performance.now()));
    step(i);
  }
}

function pointer(type: string, x: number, y: number, buttons: { button: number; buttons: number }): PointerEvent {
  return new PointerEvent(type, {
    pointerId: 1,
    pointerType: 'mouse',
    isPrimary: true,
    bubbles: true,
    composed: true,
    cancelable: true,
    clientX: x,
    clientY: y,
    ...buttons,
  });
}

function centreOf(target: HTMLElement): { x: number; y: number } {
  const box = target.getBoundingClientRect();
  return { x: box.left + box.width / 2, y: box.top + box.height / 2 };
}

window.bench = {
  async start(client, server) {
    if (current) throw new Error('A client is still streaming.');
    current = await (client === 'element' ? startElement(server) : startBaseline(server));
    return { id: current.id, firstFrameMs: current.firstFrameMs };
  },

  async presses(count, spacingMs) {
    const { target } = streaming();
    const { x, y } = centreOf(target);
    const times: number[] = [];
    await dispatchSeries(count * 2, spacingMs / 2, (i) => {
      const down = i % 2 === 0;
      const event = pointer(down ? 'pointerdown' : 'pointerup', x, y, { button: 0, buttons: down ? 1 : 0 });
      if (down) times.push(wallClock());
      target.dispatchEvent(event);
    });
    return times;
  },

  async moves(count, spacingMs) {
    const { target } = streaming();
    const { x, y } = centreOf(target);
    const times: number[] = [];
    // Alternates a few pixels either side of the centre, so that every move goes somewhere new.
    await dispatchSeries(count, spacingMs, (i) => {
      const event = pointer('pointermove', x + (i % 2 ? 10 : -10), y, { button: -1, buttons: 0 });
      times.push(wallClock());
      target.dispatchEvent(event);
    });
    return times;
  },

  async stop() {
    const client = current;
    current = undefined;
    await client?.stop();
  },

  async animationFrames(idleMs) {
    const nextFrame = () => new Promise<number>((resolve) => requestAnimationFrame(() => resolve(performance.now())));
    let frames = 0;
    const start = performance.now();
    while ((await nextFrame()) - start < 500) frames++;
    const perSecond = (frames * 1000) / (performance.now() - start);
    const waits: number[] = [];
    for (let i = 0; i < 21; i++) {
      await sleep(idleMs);
      const requested = performance.now();
      waits.push((await nextFrame()) - requested);
    }
    waits.sort((a, b) => a - b);
    return { perSecond, requestToFrameMs: waits[10] };
  },
};
