/**
 * KitSession, the life of one Kit session, without a browser: a fake clock (timers and `performance.now()` of the
 * test's own), a fake Kit App Streaming API behind `fetch`, and a fake connector. Every state change, every way to
 * abandon a session, the page going away and coming back, and the rule that each created session is terminated
 * exactly once (or kept when the page asks), whatever the order of calls and answers.
 *
 * Run: node --import tsx --test test/kit-stream-player/kit-session.node.test.ts
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type {
  KitAppMessage,
  KitCloseReason,
  KitConnectOptions,
  KitConnection,
  KitConnector,
  KitStreamStats,
} from '../../src/kit-stream-player/connector.js';
import {
  KitSession,
  type KitPlayerState,
  type KitSessionConfig,
  type KitSessionSettings,
  type KitSessionView,
} from '../../src/kit-stream-player/kit-session.js';

const realSetImmediate = setImmediate;

/** Lets every promise and callback that is due run; the fake clock stands still meanwhile. */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 6; turn++) await new Promise((resolve) => realSetImmediate(resolve));
}

/** setTimeout, setInterval and performance.now() on a clock that moves only when a test says so. */
class FakeClock {
  now = 1000;
  readonly #timers = new Map<number, { at: number; run: () => void; every?: number }>();
  #nextId = 1;
  readonly #originals = { setTimeout, clearTimeout, setInterval, clearInterval };

  install(): void {
    const add = (run: () => void, ms = 0, every?: number) => {
      const id = this.#nextId++;
      this.#timers.set(id, { at: this.now + Math.max(0, ms), run, every });
      return id;
    };
    const clear = (id?: unknown) => void this.#timers.delete(id as number);
    Object.assign(globalThis, {
      setTimeout: (handler: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => add(() => handler(...args), ms),
      setInterval: (handler: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
        add(() => handler(...args), ms, Math.max(1, ms ?? 0)),
      clearTimeout: clear,
      clearInterval: clear,
    });
    Object.defineProperty(performance, 'now', { configurable: true, value: () => this.now });
  }

  uninstall(): void {
    Object.assign(globalThis, this.#originals);
    delete (performance as { now?: unknown }).now;
    this.#timers.clear();
  }

  /** Timers and intervals not run or cleared yet. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time on by `ms`, running each timer at its time and letting what it started settle before the next. */
  async advance(ms = 0): Promise<void> {
    const end = this.now + ms;
    await settle();
    for (;;) {
      let next: [number, { at: number; run: () => void; every?: number }] | undefined;
      for (const entry of this.#timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      const [id, timer] = next;
      this.now = timer.at;
      if (timer.every) timer.at += timer.every;
      else this.#timers.delete(id);
      timer.run();
      await settle();
    }
    this.now = end;
  }
}

const routes = {
  '127.0.0.1': [
    { description: 'signaling', protocol: 'TCP', source_port: 49100, destination_port: 49000 },
    { description: 'media', protocol: 'UDP', source_port: 31001, destination_port: 47998 },
  ],
};

/** The Kit App Streaming API, in memory, answering `fetch`. */
class FakeKitApi {
  /** Every request, as `METHOD /path`, with `+keepalive` when it was sent so. */
  readonly requests: string[] = [];
  /** Live sessions and how many status polls each still answers "pending". */
  readonly sessions = new Map<string, number>();
  /** How many polls a new session answers "pending" before it is ready. */
  pollsBeforeReady = 0;
  /** Hold `POST /stream` answers until `release()`: a service that is slow to create. */
  holdCreates = false;
  /** The next `POST /stream` answers this instead. */
  failNextCreate: { status: number; detail: string } | undefined;
  #created = 0;
  readonly #held: Array<() => void> = [];

  readonly fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const method = init.method ?? 'GET';
    const path = new URL(String(input)).pathname.replace(/^\/api/, '');
    this.requests.push(`${method} ${path}${init.keepalive ? ' +keepalive' : ''}`);
    if (method === 'POST') {
      if (this.holdCreates) await new Promise<void>((resolve) => this.#held.push(resolve));
      const failure = this.failNextCreate;
      this.failNextCreate = undefined;
      if (failure) return json(failure.status, { detail: failure.detail });
      const id = `s${++this.#created}`;
      this.sessions.set(id, this.pollsBeforeReady);
      return this.#describe(id);
    }
    const id = decodeURIComponent(path.split('/')[2] ?? '');
    if (!this.sessions.has(id)) return json(404, { detail: 'Session not found' });
    if (method === 'DELETE') {
      this.sessions.delete(id);
      return json(200, { id });
    }
    return this.#describe(id, true);
  };

  /** Answers the `POST /stream` answers held so far. */
  release(): void {
    for (const answer of this.#held.splice(0)) answer();
  }

  /** How many times the session was terminated (`DELETE /stream/{id}`). */
  terminations(id: string): number {
    return this.requests.filter((line) => line.startsWith(`DELETE /stream/${id}`)).length;
  }

  #describe(id: string, polled = false): Response {
    const left = this.sessions.get(id)!;
    if (left > 0) {
      if (polled) this.sessions.set(id, left - 1);
      return json(202, { id, status: { condition: 'pending', message: 'Session is being prepared', status: false } });
    }
    return json(200, { id, routes, status: { condition: 'ready', message: 'Session is active', status: true } });
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

class FakeConnection implements KitConnection {
  closed = false;
  readonly sent: KitAppMessage[] = [];

  constructor(
    readonly options: KitConnectOptions,
    public framesDecoded: number,
  ) {}

  send(message: KitAppMessage): void {
    this.sent.push(message);
  }

  stats(): Promise<KitStreamStats> {
    const { framesDecoded } = this;
    return Promise.resolve({ fps: 30, bitrate: 4000, rtt: 2, packetsLost: 0, jitter: 1, width: 320, height: 240, framesDecoded });
  }

  close(): void {
    this.closed = true;
  }

  /** The connection ends on its own, as a connector reports it. */
  lose(reason: KitCloseReason, message?: string): void {
    this.options.onClosed(reason, message);
  }
}

class FakeConnector implements KitConnector {
  readonly attempts: KitConnectOptions[] = [];
  readonly connections: FakeConnection[] = [];
  /** What the next attempts do instead of connecting: wait until aborted, or fail. */
  readonly next: Array<'hang' | Error> = [];
  /** Frames the next connections have decoded; 0 for a connection that never shows a picture. */
  framesDecoded = 1;

  connect(options: KitConnectOptions): Promise<KitConnection> {
    this.attempts.push(options);
    const instead = this.next.shift();
    if (instead === 'hang') {
      return new Promise((_, reject) => options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true }));
    }
    if (instead) return Promise.reject(instead);
    const connection = new FakeConnection(options, this.framesDecoded);
    this.connections.push(connection);
    return Promise.resolve(connection);
  }

  get last(): FakeConnection {
    return this.connections.at(-1)!;
  }
}

type Settings = { -readonly [K in keyof KitSessionSettings]: KitSessionSettings[K] };

const config = (changes: Partial<KitSessionConfig> = {}): KitSessionConfig => ({
  server: 'https://kit.test/api',
  appId: 'usd-viewer',
  profile: 'default',
  version: '',
  sessionId: '',
  ...changes,
});

let clock: FakeClock;
let api: FakeKitApi;
const nativeFetch = globalThis.fetch;

beforeEach(() => {
  clock = new FakeClock();
  clock.install();
  api = new FakeKitApi();
  globalThis.fetch = api.fetch;
});

afterEach(() => {
  globalThis.fetch = nativeFetch;
  clock.uninstall();
});

/** A session in a document, with everything it reports recorded. */
function newSession(changes: Partial<Settings> = {}) {
  const connector = new FakeConnector();
  const settings: Settings = {
    requestInit: undefined,
    requestTimeout: 30_000,
    pollInterval: 500,
    timeout: 300_000,
    maxReconnects: 5,
    terminateOnDisconnect: true,
    connector,
    signalingPath: '',
    signalingSecure: undefined,
    streamWidth: 1920,
    streamHeight: 1080,
    fps: 60,
    maxBitrate: 20_000,
    accessToken: undefined,
    debug: false,
    ...changes,
  };
  const surface = { style: { cursor: '' } };
  const view = { host: { querySelector: () => null }, video: { readyState: 0, videoWidth: 0 }, surface } as unknown as KitSessionView;
  const session = new KitSession(settings, () => view);
  const states: KitPlayerState[] = [];
  const sessionIds: string[] = [];
  const events: Array<{ type: string; detail: unknown }> = [];
  session.subscribe((type, detail) => {
    if (type === 'state') states.push(detail);
    else if (type === 'session-id') sessionIds.push(detail);
    else events.push({ type, detail });
  });
  session.resume();
  /** The details of the events named `type`, in order. */
  const details = <T = Record<string, unknown>>(type: string) =>
    events.filter((event) => event.type === type).map((event) => event.detail as T);
  return { session, settings, connector, surface, states, sessionIds, events, details };
}

/** A session that streams `s1`, created by it. */
async function streaming(changes: Partial<Settings> = {}) {
  const player = newSession(changes);
  player.session.start(config());
  await clock.advance();
  assert.equal(player.session.state, 'streaming');
  return player;
}

describe('KitSession: states', () => {
  it('creates, polls, connects and streams: idle, requesting, pending, connecting, streaming', async () => {
    const { session, connector, states, sessionIds, events, details } = newSession();
    api.pollsBeforeReady = 2;
    assert.equal(session.state, 'idle');
    session.start(config({ arguments: { usd_stage_uri: 'omniverse://demo/stage.usd' } }));
    assert.deepEqual(states, ['requesting'], 'requesting at once, before any answer');
    await clock.advance();
    assert.deepEqual(states, ['requesting', 'pending']);
    assert.deepEqual(sessionIds, ['s1'], 'the created session is reported for session-id as soon as it is known');
    await clock.advance(5000);
    assert.deepEqual(states, ['requesting', 'pending', 'connecting', 'streaming']);
    assert.deepEqual(
      events.map((event) => event.type),
      ['kit-session-pending', 'kit-session-pending', 'kit-session-pending', 'kit-session-ready', 'kit-connected'],
    );
    assert.deepEqual(
      details<{ attempt: number }>('kit-session-pending').map((detail) => detail.attempt),
      [1, 2, 3],
    );
    assert.deepEqual(details('kit-session-ready')[0], { id: 's1', host: '127.0.0.1', signalingPort: 49100, mediaPort: 31001, routes });
    assert.equal(details('kit-connected')[0]!.id, 's1');
    assert.deepEqual(connector.attempts[0]!.target, {
      host: '127.0.0.1',
      signalingPort: 49100,
      mediaPort: 31001,
      sessionId: 's1',
      server: 'https://kit.test/api',
    });
    assert.deepEqual(api.requests, ['POST /stream', 'GET /stream/s1', 'GET /stream/s1', 'GET /stream/s1']);
    assert.equal(session.id, 's1');
    assert.equal(session.connection, connector.last);
  });

  it('passes messages, timer warnings and the cursor on while streaming', async () => {
    const { session, connector, surface, details } = await streaming();
    connector.last.options.onMessage({ eventType: 'openedStageResult', payload: { result: 'success' } });
    connector.last.options.onTimerWarning?.(4, 30);
    connector.last.options.onCursor?.('text');
    assert.deepEqual(details('kit-message'), [{ eventType: 'openedStageResult', payload: { result: 'success' } }]);
    assert.deepEqual(details('kit-timer-warning'), [{ code: 4, secondsLeft: 30 }]);
    assert.equal(surface.style.cursor, 'text');
    session.stop();
  });

  it('reconnects with backoff after a lost connection, checks the session first, and streams again', async () => {
    const { session, connector, states, details } = await streaming();
    const first = connector.last;
    first.lose('ice-failed', 'The media connection failed (ICE).');
    await clock.advance();
    assert.equal(session.state, 'reconnecting');
    assert.ok(first.closed, 'the lost connection is closed');
    assert.deepEqual(details('kit-disconnected'), [{ id: 's1', reason: 'ice-failed', message: 'The media connection failed (ICE).' }]);
    await clock.advance(499);
    assert.deepEqual(api.requests, ['POST /stream'], 'nothing before the first backoff of 500 ms');
    await clock.advance(1);
    assert.deepEqual(api.requests, ['POST /stream', 'GET /stream/s1']);
    assert.deepEqual(states, ['requesting', 'connecting', 'streaming', 'reconnecting', 'streaming']);
    assert.equal(details('kit-connected').length, 2);
    assert.equal(connector.attempts.length, 2);
    assert.equal(api.terminations('s1'), 0);
  });

  it('gives up after max-reconnects with a connection error, and terminates its session once', async () => {
    const { session, connector, details } = await streaming({ maxReconnects: 1 });
    connector.next.push(new Error('Signaling closed before the offer.'));
    connector.last.lose('ice-failed', 'The media connection failed (ICE).');
    await clock.advance(10_000);
    assert.equal(session.state, 'error');
    assert.equal(session.error?.code, 'connection');
    assert.match(session.error!.message, /1 reconnect attempts failed\. Last: Signaling closed before the offer\./);
    assert.deepEqual(details('kit-error'), [{ code: 'connection', status: undefined, message: session.error!.message }]);
    assert.deepEqual(details('kit-session-ended'), [{ id: 's1', reason: 'error', terminated: true }]);
    assert.equal(api.terminations('s1'), 1);
  });

  it('a max-reconnects that is no number allows no reconnect, not endless ones', async () => {
    const { session, connector } = await streaming({ maxReconnects: Number('five') });
    connector.last.lose('ice-failed', 'The media connection failed (ICE).');
    await clock.advance(10_000);
    assert.equal(session.state, 'error');
    assert.equal(session.error?.message, 'The stream was lost: The media connection failed (ICE).');
    assert.equal(connector.attempts.length, 1);
    assert.equal(api.terminations('s1'), 1);
  });

  it('a connection that shows no frame in 20 s counts as lost', async () => {
    const { session, connector, details } = newSession();
    connector.framesDecoded = 0;
    session.start(config());
    await clock.advance(19_900);
    assert.equal(session.state, 'connecting');
    await clock.advance(200);
    assert.equal(session.state, 'reconnecting');
    assert.equal(details<{ reason: string }>('kit-disconnected')[0]!.reason, 'connect-timeout');
    session.stop();
  });

  it('the server ending the stream is an ending, not an error, and is not reconnected', async () => {
    const { session, connector, details } = await streaming();
    connector.last.lose('server-ended', 'The server ended the stream (peerRemoved).');
    await clock.advance(10_000);
    assert.equal(session.state, 'ended');
    assert.deepEqual(details('kit-error'), []);
    assert.deepEqual(details('kit-session-ended'), [{ id: 's1', reason: 'server-ended', terminated: true }]);
    assert.equal(connector.attempts.length, 1);
  });

  it('a signaling error ends with code signaling, without reconnecting', async () => {
    const { session, connector } = await streaming();
    connector.last.lose('server-error', 'The signaling server reported an error: serverOverloaded');
    await clock.advance(10_000);
    assert.equal(session.state, 'error');
    assert.equal(session.error?.code, 'signaling');
    assert.equal(connector.attempts.length, 1);
    assert.equal(api.terminations('s1'), 1);
  });

  it('an error answer to the request is an error with its status; Retry (start again) streams', async () => {
    const { session, states, details } = newSession();
    api.failNextCreate = { status: 403, detail: 'You do not have permission to access this resource.' };
    session.start(config());
    await clock.advance();
    assert.equal(session.state, 'error');
    assert.deepEqual(details('kit-error'), [
      { code: 'forbidden', status: 403, message: 'You do not have permission to access this resource.' },
    ]);
    session.start(config());
    assert.equal(session.error, undefined, 'the error goes as the new session starts');
    await clock.advance();
    assert.deepEqual(states, ['requesting', 'error', 'requesting', 'connecting', 'streaming']);
    assert.deepEqual(api.requests, ['POST /stream', 'POST /stream']);
  });

  it('without a server stays idle; without a profile says so; neither requests anything', async () => {
    const { session, details } = newSession();
    session.configure(config({ server: '' }));
    assert.equal(session.state, 'idle');
    session.configure(config({ profile: '' }));
    assert.equal(session.state, 'error');
    assert.equal(session.error?.code, 'configuration');
    assert.equal(details<{ message: string }>('kit-error')[0]!.message, 'Set profile (or session-id) to start a stream.');
    await clock.advance(1000);
    assert.deepEqual(api.requests, []);
  });
});

describe('KitSession: attaching to a session-id', () => {
  it('attaches to an existing session and never terminates it', async () => {
    api.sessions.set('theirs', 1);
    const { session, states, sessionIds, details } = newSession();
    session.configure(config({ appId: '', profile: '', sessionId: 'theirs' }));
    await clock.advance(1000);
    assert.deepEqual(states, ['pending', 'connecting', 'streaming']);
    assert.equal(details<{ attempt: number }>('kit-session-pending')[0]!.attempt, 1);
    session.stop();
    session.start(config({ sessionId: 'theirs' }));
    await clock.advance();
    session.suspend('pagehide');
    session.resume();
    await clock.advance();
    session.suspend('disconnected');
    await clock.advance();
    assert.ok(!api.requests.some((line) => line.startsWith('DELETE') || line.startsWith('POST')));
    assert.ok(details<{ terminated: boolean }>('kit-session-ended').every((detail) => !detail.terminated));
    assert.deepEqual(sessionIds, [], 'session-id stays what the page set');
  });

  it('a session-id set while streaming a created session: that one is terminated, the named one attached to', async () => {
    api.sessions.set('theirs', 0);
    const { session, sessionIds } = await streaming();
    session.configure(config({ sessionId: 'theirs' }));
    await clock.advance();
    assert.equal(session.state, 'streaming');
    assert.equal(session.id, 'theirs');
    assert.deepEqual(api.requests, ['POST /stream', 'DELETE /stream/s1', 'GET /stream/theirs']);
    assert.deepEqual(sessionIds, ['s1'], 'session-id keeps the page’s value');
  });

  it('a session the service does not know is not-found, and needs no terminate call', async () => {
    const { session } = newSession();
    session.configure(config({ sessionId: 'gone' }));
    await clock.advance();
    assert.equal(session.state, 'error');
    assert.equal(session.error?.code, 'not-found');
    assert.equal(session.error?.status, 404);
    assert.deepEqual(api.requests, ['GET /stream/gone']);
  });

  it('the created id coming back as the configured session-id does not start over', async () => {
    const { session, sessionIds } = await streaming();
    session.configure(config({ sessionId: sessionIds.at(-1)! }));
    await clock.advance();
    assert.equal(session.state, 'streaming');
    assert.deepEqual(api.requests, ['POST /stream']);
  });
});

describe('KitSession: abandoning a session at each step', () => {
  it('stop while the session is requested: the late answer is terminated once, and nothing else happens', async () => {
    const { session, states, sessionIds, events } = newSession();
    api.holdCreates = true;
    session.start(config());
    await clock.advance();
    session.stop();
    assert.equal(session.state, 'ended');
    api.release();
    await clock.advance(60_000);
    assert.deepEqual(api.requests, ['POST /stream', 'DELETE /stream/s1']);
    assert.deepEqual(states, ['requesting', 'ended']);
    assert.deepEqual(sessionIds, [], 'a session abandoned before its id was known never becomes the page’s');
    assert.deepEqual(events, []);
  });

  it('stop while polling: no more polls, one terminate', async () => {
    const { session, details } = newSession();
    api.pollsBeforeReady = 1000;
    session.start(config());
    await clock.advance(3000);
    const polls = api.requests.length;
    session.stop();
    await clock.advance(60_000);
    assert.equal(api.requests.length, polls + 1);
    assert.equal(api.requests.at(-1), 'DELETE /stream/s1');
    assert.deepEqual(details('kit-session-ended'), [{ id: 's1', reason: 'stopped', terminated: true }]);
    assert.equal(clock.pending, 0, 'no timer is left');
  });

  it('stop while connecting: the connection attempt is aborted, one terminate', async () => {
    const { session, connector } = newSession();
    connector.next.push('hang');
    session.start(config());
    await clock.advance();
    assert.equal(session.state, 'connecting');
    session.stop();
    await clock.advance(60_000);
    assert.ok(connector.attempts[0]!.signal.aborted);
    assert.equal(connector.attempts.length, 1);
    assert.equal(api.terminations('s1'), 1);
  });

  it('stop while streaming: the connection closes, kit-disconnected says so, one terminate', async () => {
    const { session, connector, details } = await streaming();
    session.stop();
    assert.ok(connector.last.closed);
    assert.equal(session.connection, undefined);
    assert.deepEqual(details('kit-disconnected'), [{ id: 's1', reason: 'closed-by-client', message: 'The stream was closed (stopped).' }]);
    assert.deepEqual(details('kit-session-ended'), [{ id: 's1', reason: 'stopped', terminated: true }]);
    await clock.advance(60_000);
    assert.equal(api.terminations('s1'), 1);
    assert.equal(connector.attempts.length, 1, 'no reconnect after stop()');
    assert.equal(clock.pending, 0, 'no timer is left');
  });

  it('configuration changes after stop() wait for start()', async () => {
    const { session } = await streaming();
    session.stop();
    session.configure(config({ profile: 'high-quality' }));
    await clock.advance();
    assert.equal(session.state, 'ended');
    session.start(config({ profile: 'high-quality' }));
    await clock.advance();
    assert.equal(session.state, 'streaming');
    assert.deepEqual(api.requests, ['POST /stream', 'DELETE /stream/s1', 'POST /stream']);
  });
});

describe('KitSession: the page and the document', () => {
  it('pagehide terminates with keepalive; pageshow from the back/forward cache starts a new session', async () => {
    const { session, sessionIds, details } = await streaming();
    session.suspend('pagehide');
    assert.equal(session.state, 'ended');
    assert.deepEqual(details('kit-session-ended'), [{ id: 's1', reason: 'pagehide', terminated: true }]);
    await clock.advance();
    assert.deepEqual(api.requests.slice(1), ['DELETE /stream/s1 +keepalive', 'DELETE /stream +keepalive']);
    session.resume();
    await clock.advance();
    assert.equal(session.state, 'streaming');
    assert.deepEqual(sessionIds, ['s1', '', 's2']);
  });

  it('with terminateOnDisconnect off, pagehide keeps the session, pageshow attaches to it, stop() terminates it', async () => {
    const { session, details } = await streaming({ terminateOnDisconnect: false });
    session.suspend('pagehide');
    assert.deepEqual(details('kit-session-ended'), [{ id: 's1', reason: 'pagehide', terminated: false }]);
    session.resume();
    await clock.advance();
    assert.equal(session.state, 'streaming');
    assert.deepEqual(api.requests, ['POST /stream', 'GET /stream/s1']);
    session.stop();
    await clock.advance();
    assert.equal(api.terminations('s1'), 1);
  });

  it('removal terminates the session; nothing starts out of the document; a return starts afresh', async () => {
    const { session, states } = await streaming();
    session.suspend('disconnected');
    assert.equal(session.state, 'idle');
    session.configure(config({ profile: 'high-quality' }));
    await clock.advance();
    assert.deepEqual(api.requests, ['POST /stream', 'DELETE /stream/s1']);
    session.resume();
    await clock.advance();
    assert.deepEqual(states.slice(-4), ['idle', 'requesting', 'connecting', 'streaming']);
    assert.deepEqual(api.requests.slice(-1), ['POST /stream']);
  });

  it('removal with terminateOnDisconnect off keeps the session, and a return attaches to it', async () => {
    const { session, details } = await streaming({ terminateOnDisconnect: false });
    session.suspend('disconnected');
    await clock.advance();
    assert.deepEqual(details('kit-session-ended'), [{ id: 's1', reason: 'disconnected', terminated: false }]);
    session.resume();
    await clock.advance();
    assert.equal(session.state, 'streaming');
    assert.deepEqual(api.requests, ['POST /stream', 'GET /stream/s1']);
  });

  it('removed during the request with terminateOnDisconnect off: the late answer is kept, then attached to', async () => {
    const { session, sessionIds } = newSession({ terminateOnDisconnect: false });
    api.holdCreates = true;
    session.start(config());
    await clock.advance();
    session.suspend('disconnected');
    api.release();
    await clock.advance();
    assert.deepEqual(sessionIds, ['s1'], 'kept, and reported for session-id');
    assert.equal(api.terminations('s1'), 0);
    api.holdCreates = false;
    session.resume();
    await clock.advance();
    assert.equal(session.state, 'streaming');
    assert.deepEqual(api.requests, ['POST /stream', 'GET /stream/s1']);
    session.stop();
    await clock.advance();
    assert.equal(api.terminations('s1'), 1);
  });
});

describe('KitSession: exactly one terminate per created session', () => {
  /** Every session created was terminated once, except `live`, which streams and was never terminated. */
  function assertOneLive(session: KitSession, live: string): void {
    assert.equal(session.state, 'streaming');
    assert.equal(session.id, live);
    assert.deepEqual([...api.sessions.keys()], [live]);
    const created = api.requests.filter((line) => line === 'POST /stream').length;
    for (let index = 1; index <= created; index++) {
      const id = `s${index}`;
      assert.equal(api.terminations(id), id === live ? 0 : 1, `terminate calls for ${id}`);
    }
  }

  it('start() twice before the first answer', async () => {
    const { session } = newSession();
    api.holdCreates = true;
    session.start(config());
    session.start(config());
    api.release();
    await clock.advance();
    assertOneLive(session, 's2');
  });

  it('stop() then start()', async () => {
    const { session } = await streaming();
    session.stop();
    session.start(config());
    await clock.advance();
    assertOneLive(session, 's2');
  });

  it('pagehide, then removal', async () => {
    const { session, details } = await streaming();
    session.suspend('pagehide');
    session.suspend('disconnected');
    await clock.advance();
    assert.equal(api.requests.filter((line) => line.startsWith('DELETE /stream/s1')).length, 1);
    assert.equal(details('kit-session-ended').length, 1);
  });

  it('ten configuration changes in a row, with answers arriving in between', async () => {
    const { session, details } = newSession();
    api.holdCreates = true;
    api.pollsBeforeReady = 1;
    for (let index = 0; index < 10; index++) {
      session.configure(config({ profile: index % 2 ? 'high-quality' : 'default', version: `10${index}.0` }));
      if (index % 3 === 2) {
        api.release();
        await clock.advance(index * 100);
      }
    }
    api.release();
    await clock.advance(5000);
    assertOneLive(session, 's10');
    assert.ok(details<{ reason: string; terminated: boolean }>('kit-session-ended').every((d) => d.reason === 'replaced' && d.terminated));
  });
});
