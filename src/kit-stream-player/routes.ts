import { isRecord } from '../internal/json.js';
import { KitStreamError } from './kit-error.js';

/** One route of a session: a port of the load balancer (`source_port`) mapped to a port in the cluster. */
export interface KitRoute {
  description?: string;
  protocol?: string;
  source_port?: number;
  destination_port?: number;
}

/** Where a ready session is reached from outside the cluster. */
export interface KitConnectionTarget {
  host: string;
  signalingPort: number;
  /** The media route's source port; `undefined` when the session advertises no media route. */
  mediaPort: number | undefined;
}

/**
 * Finds the signaling (TCP) and media (UDP) routes of a ready session.
 *
 * The documented shape is `{"<ip>": [route, ...]}`; NVIDIA's own web sample reads one level deeper,
 * `{"<ip>": {"routes": [route, ...]}}`, so both are accepted. The `source_port` is the one to connect to:
 * `destination_port` is the port inside the cluster, behind the load balancer.
 */
export function findConnectionTarget(routes: unknown): KitConnectionTarget {
  if (!isRecord(routes)) {
    throw new KitStreamError('no-signaling-route', 'The session is ready but its answer has no routes to connect to.');
  }
  for (const [host, entry] of Object.entries(routes)) {
    const list = routeList(entry);
    const signaling = list.find((route) => matches(route, 'signaling', 'TCP'));
    if (!signaling) continue;
    const media = list.find((route) => matches(route, 'media', 'UDP'));
    return { host, signalingPort: signaling.source_port!, mediaPort: media?.source_port };
  }
  throw new KitStreamError(
    'no-signaling-route',
    'The session is ready but has no signaling route to connect to (a TCP route described as "signaling", with a source_port).',
  );
}

function routeList(entry: unknown): KitRoute[] {
  const list = Array.isArray(entry) ? entry : isRecord(entry) && Array.isArray(entry.routes) ? entry.routes : [];
  return list.filter(isRecord);
}

function matches(route: KitRoute, description: string, protocol: string): boolean {
  const port = route.source_port;
  return (
    // False for anything but a whole number.
    Number.isInteger(port) &&
    port! > 0 &&
    port! < 65536 &&
    // Outside JSON: a field may hold any value, so only strings get string methods called on them.
    typeof route.description == 'string' &&
    route.description.toLowerCase() === description &&
    (route.protocol === undefined || (typeof route.protocol == 'string' && route.protocol.toUpperCase() === protocol))
  );
}
