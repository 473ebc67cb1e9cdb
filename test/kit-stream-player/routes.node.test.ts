/**
 * Routes of a ready Kit session to the place the player connects to: both shapes the service is known to send
 * (documented flat lists and the nested form NVIDIA's sample reads), the source port rather than the cluster's
 * destination port, and a typed error for anything that names no signaling route.
 *
 * Run: node --import tsx --test test/kit-stream-player/routes.node.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findConnectionTarget } from '../../src/kit-stream-player/routes.js';
import { seededRandom } from '../support/random.js';

const signaling = { description: 'signaling', protocol: 'TCP', source_port: 31000, destination_port: 49100 };
const media = { description: 'media', protocol: 'UDP', source_port: 31001, destination_port: 47998 };

/** Checks the failure as a page reads it from `kit-error`: code, no status (nothing failed over HTTP), a message. */
function assertNoRoute(routes: unknown, message: RegExp): void {
  assert.throws(
    () => findConnectionTarget(routes),
    (error: unknown) => {
      assert.ok(error instanceof Error);
      const { code, status } = error as Error & { code?: unknown; status?: unknown };
      assert.deepEqual({ code, status }, { code: 'no-signaling-route', status: undefined }, `${JSON.stringify(routes)}: ${error.message}`);
      assert.match(error.message, message);
      return true;
    },
  );
}

describe('findConnectionTarget', () => {
  it('reads the documented shape: a list of routes per address', () => {
    assert.deepEqual(findConnectionTarget({ '203.0.113.7': [signaling, media] }), {
      host: '203.0.113.7',
      signalingPort: 31000,
      mediaPort: 31001,
    });
  });

  it('reads the nested shape NVIDIA’s sample reads: {"<ip>": {"routes": [...]}}', () => {
    assert.deepEqual(findConnectionTarget({ '10.20.30.40': { routes: [media, signaling], name: 'gateway' } }), {
      host: '10.20.30.40',
      signalingPort: 31000,
      mediaPort: 31001,
    });
  });

  it('reads the answer the Kit simulator sends, as JSON from the wire', () => {
    const answer = JSON.parse(
      '{"id":"s","routes":{"127.0.0.1":[{"description":"signaling","protocol":"TCP","source_port":41000,"destination_port":49100},' +
        '{"description":"media","protocol":"UDP","source_port":41001,"destination_port":47998}]},' +
        '"status":{"condition":"ready","message":"Session is active","status":true}}',
    ) as { routes: unknown };
    assert.deepEqual(findConnectionTarget(answer.routes), { host: '127.0.0.1', signalingPort: 41000, mediaPort: 41001 });
  });

  it('connects to the source ports, never the destination ports inside the cluster', () => {
    const target = findConnectionTarget({
      h: [
        { ...signaling, destination_port: 1 },
        { ...media, destination_port: 2 },
      ],
    });
    assert.deepEqual([target.signalingPort, target.mediaPort], [31000, 31001]);
  });

  it('matches description and protocol in any case, and takes a route without protocol', () => {
    const routes = {
      h: [
        { description: 'Signaling', protocol: 'tcp', source_port: 1 },
        { description: 'MEDIA', source_port: 65535 },
      ],
    };
    assert.deepEqual(findConnectionTarget(routes), { host: 'h', signalingPort: 1, mediaPort: 65535 });
  });

  it('gives no media port when the session advertises no usable media route', () => {
    for (const mediaRoute of [undefined, { ...media, protocol: 'TCP' }, { ...media, source_port: 0 }, { ...media, description: 'video' }]) {
      const list = mediaRoute ? [signaling, mediaRoute] : [signaling];
      assert.deepEqual(
        findConnectionTarget({ h: list }),
        { host: 'h', signalingPort: 31000, mediaPort: undefined },
        JSON.stringify(mediaRoute),
      );
    }
  });

  it('takes the first address that has a signaling route, skipping the others', () => {
    const routes = { '10.0.0.1': [media], '10.0.0.2': { routes: [] }, '10.0.0.3': [signaling, media], '10.0.0.4': [signaling] };
    assert.deepEqual(findConnectionTarget(routes), { host: '10.0.0.3', signalingPort: 31000, mediaPort: 31001 });
  });

  it('takes the first of several signaling routes, and media from the same address only', () => {
    const routes = {
      a: [
        { ...signaling, source_port: 5 },
        { ...signaling, source_port: 6 },
      ],
      b: [media],
    };
    assert.deepEqual(findConnectionTarget(routes), { host: 'a', signalingPort: 5, mediaPort: undefined });
  });

  it('skips entries of a list that are not routes', () => {
    const routes = { h: [null, 7, 'signaling', [signaling], { description: 'signaling' }, signaling, media] };
    assert.deepEqual(findConnectionTarget(routes), { host: 'h', signalingPort: 31000, mediaPort: 31001 });
  });

  it('refuses a signaling route whose source port is not a port', () => {
    for (const port of [0, -1, 65536, 31000.5, '31000', null, undefined, Number.NaN, Number.POSITIVE_INFINITY]) {
      assertNoRoute({ h: [{ ...signaling, source_port: port }, media] }, /no signaling route/);
    }
  });

  it('refuses a signaling route over UDP, and fields of the wrong type without throwing on them', () => {
    assertNoRoute({ h: [{ ...signaling, protocol: 'UDP' }] }, /no signaling route/);
    assertNoRoute({ h: [{ ...signaling, description: ['signaling'] }] }, /no signaling route/);
    assertNoRoute({ h: [{ ...signaling, description: { toString: null, toLowerCase: null } }] }, /no signaling route/);
    assertNoRoute({ h: [{ ...signaling, protocol: { toUpperCase: () => 'TCP' } }] }, /no signaling route/);
  });

  it('gives a typed error for routes that are missing or not an object', () => {
    for (const routes of [undefined, null, 0, 'routes', true, [], [signaling], [{ h: [signaling] }]]) {
      assertNoRoute(routes, /no routes/);
    }
  });

  it('gives a typed error for an object of routes without a signaling route', () => {
    for (const routes of [{}, { h: null }, { h: 'x' }, { h: [] }, { h: [media] }, { h: { routes: 'x' } }, { h: { route: [signaling] } }]) {
      assertNoRoute(routes, /no signaling route/);
    }
  });

  it('never throws anything but its own error on random route-like JSON', () => {
    const next = seededRandom(10);
    const pick = <T>(...items: T[]): T => items[Math.floor(next() * items.length)];
    const route = () => ({
      description: pick<unknown>('signaling', 'Signaling', 'media', 'signaling', 5, null, ['signaling']),
      protocol: pick<unknown>('TCP', 'tcp', undefined, 'udp', 7, {}),
      source_port: pick<unknown>(31000, 1, 65535, 0, '31000', 65536, 1.5, null),
    });
    const list = () => Array.from({ length: Math.floor(next() * 6) }, () => pick<unknown>(route(), route(), route(), null, 'x', [route()]));
    const entry = () => pick<unknown>(list(), { routes: list() }, { routes: route() }, route(), null, 'routes');
    let found = 0;
    for (let index = 0; index < 500; index++) {
      const routes = pick<unknown>(
        Object.fromEntries(Array.from({ length: 1 + Math.floor(next() * 3) }, (_, n) => [`10.0.0.${n}`, entry()])),
        list(),
        entry(),
      );
      try {
        const target = findConnectionTarget(routes);
        assert.ok(Number.isInteger(target.signalingPort) && target.signalingPort > 0 && target.signalingPort < 65536);
        assert.ok(target.mediaPort === undefined || Number.isInteger(target.mediaPort));
        found++;
      } catch (error) {
        assert.equal((error as { code?: unknown }).code, 'no-signaling-route', `${JSON.stringify(routes)}: ${String(error)}`);
      }
    }
    assert.ok(found >= 10 && found < 490, `${found} of 500 random inputs held a signaling route: both outcomes are exercised`);
  });
});
