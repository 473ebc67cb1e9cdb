/**
 * The built-in connector's parts that need no browser: the signaling socket (sign-in, acknowledgements, re-opens with
 * backoff, the heartbeat watchdog, and when refused re-opens end the connection) and the data channels (the app
 * message queue, the wait for `control_channel`, control messages, the goodbye), each against fakes of the
 * browser's WebSocket and data channels, on a fake clock.
 *
 * Run: node --import tsx --test test/kit-stream-player/kit-signaling-connector.node.test.ts
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { KitCloseReason, KitConnectOptions } from '../../src/kit-stream-player/connector.js';
import { openDataChannels } from '../../src/kit-stream-player/data-channels.js';
import { type SignalingHost, openSignaling } from '../../src/kit-stream-player/signaling-socket.js';

/** Lets pending promise work run (the socket's close handler awaits the frame count). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** An event with the fields a browser's `MessageEvent` / `CloseEvent` carries. */
const event = (type: string, fields: Record<string, unknown> = {}) => Object.assign(new Event(type), fields);

/** A WebSocket as the browser's, driven by the test. */
class FakeSocket extends EventTarget {
  static all: FakeSocket[] = [];
  readyState = 0;
  readonly sent: string[] = [];
  closedWith: [number, string] | undefined;
  constructor(
    readonly url: string,
    readonly protocol: string,
  ) {
    super();
    FakeSocket.all.push(this);
  }
  send(text: string): void {
    this.sent.push(text);
  }
  close(code: number, reason: string): void {
    this.readyState = 3;
    this.closedWith = [code, reason];
  }
  accept(): void {
    this.readyState = 1;
    this.dispatchEvent(event('open'));
  }
  /** Closed by the network or the server: refused before `open`, or lost after it. */
  lose(code = 1006): void {
    this.readyState = 3;
    this.dispatchEvent(event('close', { code, reason: '' }));
  }
  receive(message: unknown): void {
    this.dispatchEvent(event('message', { data: JSON.stringify(message) }));
  }
}

const lastSocket = () => FakeSocket.all.at(-1)!;

/** The newest socket drops, as a network does, and what that sets off has run. */
async function loseSocket(): Promise<void> {
  lastSocket().lose();
  await settle();
}

const liveSockets = () => FakeSocket.all.filter((socket) => socket.readyState <= 1);

interface Failure {
  reason: KitCloseReason;
  detail: string;
}

/** A signaling socket for a stream that is up (or, with `connecting`, still connecting), and what it reported. */
function signaling(options: { connecting?: boolean; frames?: () => number | undefined } = {}) {
  const failures: Failure[] = [];
  const peerMessages: Record<string, unknown>[] = [];
  let connecting = options.connecting ?? false;
  const host: SignalingHost = {
    connecting: () => connecting,
    peerMessage: (message) => peerMessages.push(message),
    frames: () => Promise.resolve(options.frames?.()),
    fail: (reason, detail) => {
      failures.push({ reason, detail });
      socket.close();
    },
    log: () => undefined,
  };
  const socket = openSignaling({ secure: false, host: '10.0.0.1', port: 49100 }, 'x-nv-sessionid.abc', host);
  return { socket, failures, peerMessages, streaming: () => (connecting = false) };
}

/** Signs the first socket in and has it receive an offer, as a server does. */
function signIn(): void {
  const first = lastSocket();
  first.accept();
  first.receive({ peer_info: { id: 7, name: 'client' }, ackid: 1 });
  first.receive({ peer_msg: { from: 1, to: 7, msg: JSON.stringify({ type: 'offer', sdp: 'v=0' }) }, ackid: 2 });
}

describe('signaling socket', () => {
  beforeEach(() => {
    FakeSocket.all = [];
    Object.assign(globalThis, { WebSocket: FakeSocket });
    mock.timers.enable({ apis: ['setTimeout'] });
  });
  afterEach(() => {
    mock.timers.reset();
    delete (globalThis as { WebSocket?: unknown }).WebSocket;
  });

  it('signs in, acknowledges, and re-opens a lost socket with &reconnect=1, re-sending what was not acknowledged', async () => {
    const { socket, peerMessages, failures } = signaling();
    assert.match(lastSocket().url, /^ws:\/\/10\.0\.0\.1:49100\/sign_in\?peer_id=peer-\d{10}&version=2$/);
    assert.equal(lastSocket().protocol, 'x-nv-sessionid.abc');
    signIn();
    assert.deepEqual(peerMessages, [{ type: 'offer', sdp: 'v=0' }]);
    assert.deepEqual(lastSocket().sent, ['{"ack":1}', '{"ack":2}']);
    socket.send({ type: 'answer' });
    const answer = lastSocket().sent.at(-1)!;
    assert.equal(JSON.parse(answer).ackid, 1);

    await loseSocket();
    mock.timers.tick(499);
    assert.equal(FakeSocket.all.length, 1);
    mock.timers.tick(1);
    assert.equal(FakeSocket.all.length, 2);
    assert.match(lastSocket().url, /&reconnect=1$/);
    lastSocket().accept();
    assert.deepEqual(lastSocket().sent, [answer], 'the unacknowledged answer goes out again');
    assert.deepEqual(failures, []);
    socket.close();
  });

  it('ends the attempt when the socket is lost before the offer', async () => {
    const { failures } = signaling({ connecting: true });
    lastSocket().accept();
    lastSocket().lose(1011);
    await settle();
    assert.deepEqual(failures, [{ reason: 'signaling-closed', detail: 'Signaling closed (1011).' }]);
    mock.timers.tick(60_000);
    assert.equal(FakeSocket.all.length, 1);
  });

  it('keeps re-opening with growing backoff while frames arrive, however often the re-opens are refused', async () => {
    let frames = 0;
    const { socket, failures } = signaling({ frames: () => (frames += 30) });
    signIn();
    await loseSocket();
    const delays: number[] = [];
    for (let refused = 0; refused < 8; refused++) {
      let waited = 0;
      const opened = FakeSocket.all.length;
      while (FakeSocket.all.length === opened && waited < 60_000) {
        mock.timers.tick(100);
        waited += 100;
      }
      delays.push(waited);
      await loseSocket();
    }
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    assert.deepEqual(failures, []);
    assert.ok(liveSockets().length <= 1);
    socket.close();
  });

  it('ends the connection when re-opens are refused and not one frame was decoded in between', async () => {
    const { failures } = signaling({ frames: () => 1200 });
    signIn();
    // Chromium closed the socket of a frozen tab; the service let go of the viewer and refuses its re-opens.
    await loseSocket();
    mock.timers.tick(500);
    await loseSocket();
    assert.deepEqual(failures, [], 'one refusal is not enough');
    mock.timers.tick(1000);
    await loseSocket();
    assert.deepEqual(failures, [{ reason: 'signaling-closed', detail: 'Signaling closed (1006), and no video arrives.' }]);
    mock.timers.tick(60_000);
    assert.equal(FakeSocket.all.length, 3, 'no re-open after that');
  });

  it('counts an unknown frame count as no video', async () => {
    const { failures } = signaling({ frames: () => undefined });
    signIn();
    await loseSocket();
    mock.timers.tick(500);
    await loseSocket();
    mock.timers.tick(1000);
    await loseSocket();
    assert.equal(failures.length, 1);
  });

  it('re-opens a socket that fell silent after heartbeats, and never keeps two sockets open', async () => {
    let frames = 0;
    const { socket, failures } = signaling({ frames: () => ++frames });
    signIn();
    lastSocket().receive({ hb: 1 });
    lastSocket().receive({ hb: 2 });
    mock.timers.tick(9_999);
    assert.equal(FakeSocket.all.length, 1);
    mock.timers.tick(1);
    assert.deepEqual(FakeSocket.all[0]!.closedWith, [4000, 'no heartbeat']);
    assert.equal(FakeSocket.all.length, 2);
    assert.match(lastSocket().url, /&reconnect=1$/);

    // Heartbeats again, then the socket is lost and re-opens are refused for longer than the watchdog's period.
    lastSocket().accept();
    lastSocket().receive({ hb: 3 });
    lastSocket().receive({ hb: 4 });
    await loseSocket();
    for (let elapsed = 0; elapsed < 40_000; elapsed += 100) {
      mock.timers.tick(100);
      if (lastSocket().readyState === 0) {
        await loseSocket();
      }
      assert.ok(liveSockets().length <= 1, 'one socket at a time');
    }
    assert.equal(FakeSocket.all.length, 2 + 7, 'only the backoff re-opens, 0.5, 1, 2, 4, 8, 10 and 10 s apart');
    assert.deepEqual(failures, []);
    socket.close();
  });

  it('ends the stream on BYE and peerRemoved, and reports any other error of the server', async () => {
    const cases: Array<[unknown, Failure]> = [
      [{ peer_msg: { from: 1, to: 7, msg: 'BYE' } }, { reason: 'server-ended', detail: 'The server ended the stream.' }],
      [{ error: 'peerRemoved' }, { reason: 'server-ended', detail: 'The server ended the stream (peerRemoved).' }],
      [{ error: 'overloaded' }, { reason: 'server-error', detail: 'The signaling server reported an error: overloaded' }],
    ];
    for (const [message, failure] of cases) {
      const { failures } = signaling();
      signIn();
      lastSocket().receive(message);
      assert.deepEqual(failures, [failure]);
      assert.deepEqual(lastSocket().closedWith, [1000, 'closed by client']);
    }
  });

  it('refuses a subprotocol that a WebSocket cannot carry without opening a socket', () => {
    const failures: Failure[] = [];
    openSignaling({ secure: true, host: 'kit.example', port: 443 }, 'x-nv-sessionid.a b', {
      connecting: () => true,
      peerMessage: () => undefined,
      frames: () => Promise.resolve(0),
      fail: (reason, detail) => failures.push({ reason, detail }),
      log: () => undefined,
    });
    assert.deepEqual(failures, [
      { reason: 'signaling-error', detail: 'The session id or access token has characters a WebSocket subprotocol cannot carry.' },
    ]);
    assert.equal(FakeSocket.all.length, 0);
  });

  it('closes its socket and cancels a pending re-open on close', async () => {
    const { socket } = signaling();
    signIn();
    await loseSocket();
    socket.close();
    mock.timers.tick(60_000);
    assert.equal(FakeSocket.all.length, 1);
  });
});

/** A data channel as the browser's, driven by the test. */
class FakeChannel extends EventTarget {
  readyState: RTCDataChannelState = 'connecting';
  binaryType = 'blob';
  readonly sent: unknown[] = [];
  constructor(readonly label: string) {
    super();
  }
  send(data: unknown): void {
    if (this.readyState !== 'open') throw new Error(`send on a ${this.readyState} channel`);
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 'closed';
  }
  open(): void {
    this.readyState = 'open';
    this.dispatchEvent(event('open'));
  }
  receive(data: unknown): void {
    this.dispatchEvent(event('message', { data }));
  }
}

/** The data channels of a connection to a fake peer, and what they reported. */
function channels() {
  const created = new Map<string, FakeChannel>();
  const peer = Object.assign(new EventTarget(), {
    createDataChannel: (label: string) => {
      const channel = new FakeChannel(label);
      created.set(label, channel);
      return channel;
    },
  });
  const failures: Failure[] = [];
  const messages: unknown[] = [];
  const warnings: number[] = [];
  const logs: unknown[][] = [];
  const options = {
    onMessage: (message: unknown) => messages.push(message),
    onTimerWarning: (code: number, secondsLeft: number) => warnings.push(code, secondsLeft),
  } as unknown as KitConnectOptions;
  const opened = openDataChannels(
    peer as unknown as RTCPeerConnection,
    options,
    (reason, detail) => failures.push({ reason, detail }),
    (...parts) => logs.push(parts),
  );
  /** The server's control_channel arrives (not open yet). */
  const control = () => {
    const channel = new FakeChannel('control_channel');
    peer.dispatchEvent(event('datachannel', { channel }));
    return channel;
  };
  return { opened, created, control, failures, messages, warnings, logs };
}

/** What `send({eventType, payload})` puts on control_channel. */
const appFrame = (eventType: string, payload: unknown) =>
  JSON.stringify({
    customMessage: JSON.stringify({
      messageType: 'json',
      messageRecipient: 'kit',
      data: JSON.stringify({ event_type: eventType, payload }),
    }),
  });

describe('data channels', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('makes input_channel_v1 and cursor_channel for binary data before the answer', () => {
    const { created } = channels();
    assert.deepEqual([...created.keys()], ['input_channel_v1', 'cursor_channel']);
    assert.deepEqual(
      [...created.values()].map((channel) => channel.binaryType),
      ['arraybuffer', 'arraybuffer'],
    );
  });

  it('queues app messages until control_channel opens, then sends them in order, and ends no connection', () => {
    const { opened, control, failures } = channels();
    opened.awaitControl(30_000);
    opened.send({ eventType: 'a', payload: { n: 1 } });
    opened.send({ eventType: 'b', payload: undefined });
    const channel = control();
    mock.timers.tick(1000);
    channel.open();
    opened.send({ eventType: 'c', payload: [] });
    assert.deepEqual(channel.sent, [appFrame('a', { n: 1 }), appFrame('b', {}), appFrame('c', [])]);
    mock.timers.tick(60_000);
    assert.deepEqual(failures, []);
  });

  it('ends the connection when control_channel has not opened in time, counting the messages not sent', () => {
    const { opened, control, failures } = channels();
    control();
    opened.awaitControl(1500);
    // The media connecting again after a blip does not restart the wait.
    mock.timers.tick(1000);
    opened.awaitControl(1500);
    for (let index = 0; index < 3; index++) opened.send({ eventType: 'loadingStateQuery', payload: { index } });
    mock.timers.tick(499);
    assert.deepEqual(failures, []);
    mock.timers.tick(1);
    assert.deepEqual(failures, [{ reason: 'connect-timeout', detail: 'No message channel to the app within 1.5 s; 3 messages not sent.' }]);
  });

  it('keeps 64 queued messages, logs each one it drops (the oldest), and counts every one', () => {
    const { opened, failures, logs } = channels();
    opened.awaitControl(1000);
    for (let index = 0; index < 70; index++) opened.send({ eventType: 'tick', payload: { index } });
    assert.deepEqual(
      logs.filter(([what]) => what === 'control dropped'),
      Array.from({ length: 6 }, (_, index) => ['control dropped', appFrame('tick', { index })]),
    );
    mock.timers.tick(1000);
    assert.deepEqual(failures, [{ reason: 'connect-timeout', detail: 'No message channel to the app within 1 s; 70 messages not sent.' }]);
    // Had it opened, the newest 64 would have gone out.
    const late = channels();
    for (let index = 0; index < 70; index++) late.opened.send({ eventType: 'tick', payload: { index } });
    const channel = late.control();
    channel.open();
    assert.deepEqual(
      channel.sent,
      Array.from({ length: 64 }, (_, index) => appFrame('tick', { index: index + 6 })),
    );
  });

  it('does not wait for a control_channel that opened before the media connected', () => {
    const { opened, control, failures } = channels();
    control().open();
    opened.awaitControl(1000);
    mock.timers.tick(60_000);
    assert.deepEqual(failures, []);
  });

  it('reads app messages in both wrappings, idle warnings (the next input carries a heartbeat) and the app exit', () => {
    const { opened, created, control, failures, messages, warnings } = channels();
    const channel = control();
    channel.open();
    channel.receive(
      JSON.stringify({ customMessage: JSON.stringify({ event_type: 'loadingStateResponse', payload: { loading_state: 'idle' } }) }),
    );
    channel.receive(JSON.stringify({ customMessage: JSON.stringify({ data: JSON.stringify({ event_type: 'wrapped', payload: 1 }) }) }));
    channel.receive('not json');
    channel.receive(JSON.stringify({ customMessage: '{"no":"event type"}' }));
    assert.deepEqual(messages, [
      { eventType: 'loadingStateResponse', payload: { loading_state: 'idle' } },
      { eventType: 'wrapped', payload: 1 },
    ]);

    const input = created.get('input_channel_v1')!;
    input.open();
    channel.receive(JSON.stringify({ timerNotification: { code: 4, secondsLeft: 30 } }));
    assert.deepEqual(warnings, [4, 30]);
    const click = Uint8Array.of(8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    opened.input.sendEvent(click);
    opened.input.sendEvent(click);
    assert.deepEqual(
      input.sent.map((bytes) => (bytes as Uint8Array)[0]),
      [2, 8, 8],
      'one input heartbeat, before the first input after the warning',
    );

    assert.deepEqual(failures, []);
    channel.receive(JSON.stringify({ exitMessage: { code: 0 } }));
    assert.deepEqual(failures, [{ reason: 'server-ended', detail: 'The app ended the stream.' }]);
  });

  it('says goodbye on an open control_channel and closes every channel a moment later', () => {
    const { opened, created, control } = channels();
    const channel = control();
    channel.open();
    let closed = false;
    opened.close(() => (closed = true));
    assert.deepEqual(channel.sent, ['{"exitMessage":{"code":0}}']);
    assert.equal(closed, false);
    mock.timers.tick(50);
    assert.equal(closed, true);
    assert.deepEqual(
      [channel, ...created.values()].map((each) => each.readyState),
      ['closed', 'closed', 'closed'],
    );

    const unopened = channels();
    let closedAtOnce = false;
    unopened.opened.close(() => (closedAtOnce = true));
    assert.equal(closedAtOnce, true, 'without an open control_channel, at once');
  });
});
