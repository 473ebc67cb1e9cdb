/**
 * The client's half of Kit's signaling envelope: ackids, retention, acknowledgements, heartbeats, peer ids,
 * tolerant reading of what a server sends, and the sign-in URL and subprotocol forms.
 *
 * Run: node --import tsx --test test/kit-stream-player/signaling-protocol.node.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { SignalingProtocol, createPeerName, sessionProtocol, signInUrl } from '../../src/kit-stream-player/signaling-protocol.js';
import { seededRandom } from '../support/random.js';

const NAME = 'peer-1234567890';

const random = seededRandom;

/** A protocol that has seen the usual start: its own peer_info (id 7), the server's (id 1), then an offer from 1. */
function signedIn(): SignalingProtocol {
  const protocol = new SignalingProtocol(NAME);
  protocol.receive(JSON.stringify({ peer_info: { id: 7, name: NAME }, ackid: 1 }));
  protocol.receive(JSON.stringify({ peer_info: { id: 1, name: 'server' }, ackid: 2 }));
  protocol.receive(JSON.stringify({ peer_msg: { from: 1, to: 7, msg: JSON.stringify({ type: 'offer', sdp: 'v=0' }) }, ackid: 3 }));
  return protocol;
}

describe('SignalingProtocol.wrap', () => {
  it('numbers envelopes from 1 upwards and wraps the payload as a JSON string', () => {
    const protocol = new SignalingProtocol(NAME);
    const first = JSON.parse(protocol.wrap({ type: 'answer', sdp: 'v=0' }));
    const second = JSON.parse(protocol.wrap({ candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host' }));
    assert.deepEqual(first, { peer_msg: { from: 0, to: -1, msg: '{"type":"answer","sdp":"v=0"}' }, ackid: 1 });
    assert.equal(second.ackid, 2);
    assert.equal(JSON.parse(protocol.wrap({})).ackid, 3);
  });

  it('addresses envelopes from its own id to the offer sender once both are known', () => {
    const protocol = signedIn();
    assert.equal(protocol.ownId, 7);
    assert.equal(protocol.serverId, 1);
    const envelope = JSON.parse(protocol.wrap({ type: 'answer' }));
    assert.equal(envelope.peer_msg.from, 7);
    assert.equal(envelope.peer_msg.to, 1);
  });
});

describe('SignalingProtocol retention', () => {
  it('keeps every envelope until a cumulative ack covers it', () => {
    const protocol = new SignalingProtocol(NAME);
    const texts = [protocol.wrap('a'), protocol.wrap('b'), protocol.wrap('c'), protocol.wrap('d')];
    assert.deepEqual(protocol.unacknowledged(), texts);
    assert.deepEqual(protocol.receive('{"ack":2}'), { events: [] });
    assert.deepEqual(protocol.unacknowledged(), texts.slice(2));
    protocol.receive('{"ack":1}');
    assert.deepEqual(protocol.unacknowledged(), texts.slice(2), 'an older ack removes nothing more');
    protocol.receive('{"ack":"3"}');
    assert.deepEqual(protocol.unacknowledged(), texts.slice(3), 'a numeric string is read as a number');
    protocol.receive('{"ack":99}');
    assert.deepEqual(protocol.unacknowledged(), []);
  });

  it('keeps at most 256 envelopes, dropping the oldest', () => {
    const protocol = new SignalingProtocol(NAME);
    for (let index = 0; index < 300; index++) protocol.wrap(index);
    const kept = protocol.unacknowledged();
    assert.equal(kept.length, 256);
    assert.equal(JSON.parse(kept[0]).ackid, 45);
    assert.equal(JSON.parse(kept[255]).ackid, 300);
  });

  it('acts on an ack inside a message that also carries an ackid', () => {
    const protocol = new SignalingProtocol(NAME);
    protocol.wrap('a');
    const receipt = protocol.receive(JSON.stringify({ ack: 1, ackid: 1, peer_info: { id: 3, name: NAME } }));
    assert.deepEqual(protocol.unacknowledged(), []);
    assert.equal(receipt.events.length, 1);
    assert.equal(receipt.ack, '{"ack":1}');
  });
});

describe('SignalingProtocol.receive acknowledgements', () => {
  it('acks every ackid-bearing message with the highest ackid seen, duplicates included, and drops duplicates', () => {
    const protocol = new SignalingProtocol(NAME);
    const info = (ackid: number | string) => JSON.stringify({ peer_info: { id: 5, name: NAME }, ackid });
    const first = protocol.receive(info(1));
    assert.equal(first.ack, '{"ack":1}');
    assert.equal(first.events.length, 1);
    assert.equal(protocol.receive(info(3)).ack, '{"ack":3}', 'ackids may have gaps');
    const duplicate = protocol.receive(info(2));
    assert.deepEqual(duplicate, { events: [], ack: '{"ack":3}' });
    assert.deepEqual(protocol.receive(info(3)), { events: [], ack: '{"ack":3}' });
    const stringAckId = protocol.receive(info('4'));
    assert.equal(stringAckId.ack, '{"ack":4}');
    assert.equal(stringAckId.events.length, 1);
  });

  it('dispatches messages without ackid and without ack, and sends no ack for them', () => {
    const protocol = new SignalingProtocol(NAME);
    const receipt = protocol.receive(JSON.stringify({ peer_info: { id: 5, name: NAME } }));
    assert.deepEqual(receipt, { events: [{ type: 'peer-info', id: 5, name: NAME }] });
  });

  it('does not dispatch a frame that is only an acknowledgement', () => {
    const protocol = new SignalingProtocol(NAME);
    assert.deepEqual(protocol.receive(JSON.stringify({ ack: 0, peer_info: { id: 5, name: NAME } })), { events: [] });
    assert.equal(protocol.ownId, 0);
  });

  it('treats a truthy hb as a heartbeat: no event, no ack', () => {
    const protocol = new SignalingProtocol(NAME);
    protocol.wrap('a');
    assert.deepEqual(protocol.receive('{"hb":1}'), { events: [], heartbeat: true });
    assert.deepEqual(protocol.receive('{"hb":2,"ackid":1,"ack":1}'), { events: [], heartbeat: true });
    assert.equal(protocol.unacknowledged().length, 1, 'a heartbeat is read no further');
    const next = protocol.receive(JSON.stringify({ peer_info: { id: 5, name: NAME }, ackid: 1 }));
    assert.equal(next.events.length, 1, 'the heartbeat did not consume ackid 1');
  });

  it('reads hb: 0 as an ordinary message', () => {
    const protocol = new SignalingProtocol(NAME);
    const receipt = protocol.receive(JSON.stringify({ hb: 0, peer_info: { id: 5, name: NAME }, ackid: 1 }));
    assert.equal(receipt.heartbeat, undefined);
    assert.deepEqual(receipt.events, [{ type: 'peer-info', id: 5, name: NAME }]);
    assert.equal(receipt.ack, '{"ack":1}');
    assert.deepEqual(protocol.receive('{"hb":0}'), { events: [] });
  });
});

describe('SignalingProtocol peer ids', () => {
  it('takes the first peer_info while its id is 0, and a later one that carries its name', () => {
    const protocol = new SignalingProtocol(NAME);
    assert.equal(protocol.ownId, 0);
    protocol.receive(JSON.stringify({ peer_info: { id: 2, name: 'server' } }));
    assert.equal(protocol.ownId, 2, 'the first peer_info wins while the id is 0');
    protocol.receive(JSON.stringify({ peer_info: { id: 9, name: 'someone-else' } }));
    assert.equal(protocol.ownId, 2);
    protocol.receive(JSON.stringify({ peer_info: { id: '11', name: NAME } }));
    assert.equal(protocol.ownId, 11, 'its own name wins; a numeric string id is read as a number');
  });

  it('reports every peer_info and refuses one without a numeric id', () => {
    const protocol = new SignalingProtocol(NAME);
    assert.deepEqual(protocol.receive(JSON.stringify({ peer_info: { id: 4, name: 'server', extra: true } })).events, [
      { type: 'peer-info', id: 4, name: 'server' },
    ]);
    assert.deepEqual(protocol.receive(JSON.stringify({ peer_info: { id: 'x', name: NAME } })), { events: [] });
    assert.deepEqual(protocol.receive(JSON.stringify({ peer_info: { name: NAME } })), { events: [] });
    assert.equal(protocol.ownId, 4);
  });

  it('takes the server id from the sender of peer messages', () => {
    const protocol = new SignalingProtocol(NAME);
    assert.equal(protocol.serverId, -1);
    protocol.receive(JSON.stringify({ peer_msg: { from: '3', to: 0, msg: '{"type":"offer","sdp":""}' }, ackid: 1 }));
    assert.equal(protocol.serverId, 3);
  });
});

describe('SignalingProtocol peer messages', () => {
  it('parses the JSON string in msg', () => {
    const protocol = new SignalingProtocol(NAME);
    const receipt = protocol.receive(
      JSON.stringify({ peer_msg: { from: 1, to: 7, msg: JSON.stringify({ type: 'offer', sdp: 'v=0\r\n' }) }, ackid: 3 }),
    );
    assert.deepEqual(receipt, {
      events: [{ type: 'peer-message', from: 1, message: { type: 'offer', sdp: 'v=0\r\n' } }],
      ack: '{"ack":3}',
    });
  });

  it('accepts msg as an object', () => {
    const protocol = new SignalingProtocol(NAME);
    const receipt = protocol.receive(JSON.stringify({ peer_msg: { from: 1, msg: { candidate: 'candidate:1', sdpMLineIndex: 0 } } }));
    assert.deepEqual(receipt.events, [{ type: 'peer-message', from: 1, message: { candidate: 'candidate:1', sdpMLineIndex: 0 } }]);
  });

  it('reads the bare string BYE as the end of the stream', () => {
    const protocol = signedIn();
    const receipt = protocol.receive(JSON.stringify({ peer_msg: { from: 1, to: 7, msg: 'BYE' }, ackid: 4 }));
    assert.deepEqual(receipt, { events: [{ type: 'bye' }], ack: '{"ack":4}' });
  });

  it('acks a peer message whose msg cannot be read, and dispatches nothing', () => {
    const protocol = new SignalingProtocol(NAME);
    const unreadable = ['{not json', '"a string"', '[1,2]', 42, null];
    unreadable.forEach((msg, index) => {
      const receipt = protocol.receive(JSON.stringify({ peer_msg: { from: 1, msg }, ackid: index + 1 }));
      assert.deepEqual(receipt, { events: [], ack: `{"ack":${index + 1}}` }, String(msg));
    });
  });
});

describe('SignalingProtocol errors', () => {
  it('reports error values as text', () => {
    const protocol = new SignalingProtocol(NAME);
    assert.deepEqual(protocol.receive('{"error":"peerRemoved"}').events, [{ type: 'error', error: 'peerRemoved' }]);
    assert.deepEqual(protocol.receive('{"error":{"code":5}}').events, [{ type: 'error', error: '{"code":5}' }]);
    assert.deepEqual(protocol.receive('{"error":"","ackid":1}'), { events: [], ack: '{"ack":1}' }, 'an empty error is no error');
  });
});

describe('SignalingProtocol malformed input', () => {
  it('reports frames that are not JSON objects, and oversized ones', () => {
    const protocol = new SignalingProtocol(NAME);
    const frames = ['', 'not json', '{', '[]', '[{"ackid":1}]', '42', 'null', 'true', '"text"', `{"x":"${'a'.repeat(1 << 20)}"}`];
    for (const frame of frames) assert.deepEqual(protocol.receive(frame), { events: [] }, frame.slice(0, 20));
    assert.deepEqual(protocol.receive(undefined as unknown as string), { events: [] });
    assert.deepEqual(protocol.receive('{"ackid":"abc","peer_info":{"id":1}}'), { events: [] });
    assert.deepEqual(protocol.receive('{"ackid":1e400,"peer_info":{"id":1}}'), { events: [] });
    for (const ackid of ['1e300', '1.5', '-3', '0'])
      assert.deepEqual(protocol.receive(`{"ackid":${ackid},"peer_info":{"id":1}}`), { events: [] }, ackid);
    assert.equal(protocol.ownId, 0);
    // None of them moved the highest ackid seen: the next real message is delivered.
    assert.equal(protocol.receive(`{"ackid":2,"peer_info":{"id":7,"name":"${NAME}"}}`).events.length, 1);
  });

  it('never throws on random text or on random envelope-shaped JSON', () => {
    const next = random(20240601);
    const protocol = new SignalingProtocol(NAME);
    const alphabet = '{}[]":,0123456789abcdefhkmnoprstu_ BYE-\\';
    for (let index = 0; index < 300; index++) {
      let text = '';
      const length = Math.floor(next() * 60);
      for (let char = 0; char < length; char++) text += alphabet[Math.floor(next() * alphabet.length)];
      const receipt = protocol.receive(text);
      assert.ok(Array.isArray(receipt.events));
    }
    const values = [0, 1, -1, 2.5, '7', 'x', '', null, true, [], {}, 'BYE', '{"type":"offer"}', '{', { id: 3 }, 1e300];
    const pick = () => values[Math.floor(next() * values.length)];
    const keys = ['peer_info', 'peer_msg', 'error', 'ack', 'ackid', 'hb'];
    for (let index = 0; index < 300; index++) {
      const message: Record<string, unknown> = {};
      for (const key of keys) if (next() < 0.4) message[key] = pick();
      const shape = next();
      if (shape < 0.4) message.peer_info = { id: pick(), name: next() < 0.5 ? NAME : pick() };
      else if (shape < 0.8) message.peer_msg = { from: pick(), to: pick(), msg: pick() };
      const receipt = protocol.receive(JSON.stringify(message));
      assert.ok(Array.isArray(receipt.events));
      if (receipt.ack !== undefined) assert.equal(typeof JSON.parse(receipt.ack).ack, 'number');
      assert.ok(Number.isFinite(protocol.ownId));
    }
  });
});

describe('createPeerName', () => {
  it('draws peer- and ten digits', () => {
    for (let index = 0; index < 50; index++) assert.match(createPeerName(), /^peer-\d{10}$/);
  });

  it('right-pads the random number with zeros and redraws values that would bias it', () => {
    const draws = [4_000_000_005, 42];
    const stub = mock.method(globalThis.crypto, 'getRandomValues', (array: Uint32Array) => {
      array[0] = draws.shift() ?? 0;
      return array;
    });
    try {
      assert.equal(createPeerName(), 'peer-4200000000');
      assert.equal(stub.mock.callCount(), 2);
    } finally {
      stub.mock.restore();
    }
  });
});

describe('signInUrl', () => {
  it('builds ws URLs for IPv4 literals and hostnames, wss when secure', () => {
    assert.equal(
      signInUrl({ secure: false, host: '10.1.2.3', port: 49100 }, NAME),
      'ws://10.1.2.3:49100/sign_in?peer_id=peer-1234567890&version=2',
    );
    assert.equal(
      signInUrl({ secure: true, host: 'kit.example.com', port: 443 }, NAME),
      'wss://kit.example.com:443/sign_in?peer_id=peer-1234567890&version=2',
    );
  });

  it('brackets IPv6 hosts', () => {
    assert.equal(
      signInUrl({ secure: true, host: '2001:db8::1', port: 31000 }, NAME),
      `wss://[2001:db8::1]:31000/sign_in?peer_id=${NAME}&version=2`,
    );
    assert.equal(signInUrl({ secure: true, host: '[::1]', port: 1 }, NAME), `wss://[::1]:1/sign_in?peer_id=${NAME}&version=2`);
  });

  it('puts a path prefix in front of /sign_in, and keeps a path that already ends with it', () => {
    const base = { secure: true, host: 'h', port: 1 };
    const url = (path: string) => signInUrl({ ...base, path }, NAME).replace(/\?.*/, '');
    assert.equal(url('/stream/abc/'), 'wss://h:1/stream/abc/sign_in');
    assert.equal(url('stream'), 'wss://h:1/stream/sign_in');
    assert.equal(url('/sign_in'), 'wss://h:1/sign_in');
    assert.equal(url('/proxy/sign_in'), 'wss://h:1/proxy/sign_in');
    assert.equal(url(''), 'wss://h:1/sign_in');
    assert.equal(url('/'), 'wss://h:1/sign_in');
  });

  it('normalises the path prefix before /sign_in', () => {
    const url = (path: string) => signInUrl({ secure: true, host: 'h', port: 1, path }, NAME).replace(/\?.*/, '');
    assert.equal(url('sign_in'), 'wss://h:1/sign_in');
    assert.equal(url('/sign_in/'), 'wss://h:1/sign_in');
    assert.equal(url('/a/sign_in/sign_in'), 'wss://h:1/a/sign_in/sign_in');
    assert.equal(url('/x/sign_inx'), 'wss://h:1/x/sign_inx/sign_in');
    assert.equal(url('//a//'), 'wss://h:1//a/sign_in');
  });

  it('appends reconnect=1 to a re-open', () => {
    const base = { secure: false, host: '10.0.0.1', port: 48322 };
    assert.equal(signInUrl(base, NAME, { reconnect: true }), `ws://10.0.0.1:48322/sign_in?peer_id=${NAME}&version=2&reconnect=1`);
    assert.equal(signInUrl(base, NAME, { reconnect: false }), `ws://10.0.0.1:48322/sign_in?peer_id=${NAME}&version=2`);
  });
});

describe('sessionProtocol', () => {
  it('carries the session id, and the bearer token when given', () => {
    assert.equal(sessionProtocol('abc-123'), 'x-nv-sessionid.abc-123');
    assert.equal(sessionProtocol('PassThruSessionId'), 'x-nv-sessionid.PassThruSessionId');
    assert.equal(sessionProtocol('abc-123', 'tok.en'), 'x-nv-sessionid.abc-123-Authorization.Bearer-tok.en');
    assert.equal(sessionProtocol('abc-123', ''), 'x-nv-sessionid.abc-123');
  });
});
