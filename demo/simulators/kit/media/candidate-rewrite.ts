/**
 * What a client does with the server's offer before `setRemoteDescription`: the
 * offer's ICE candidates name the in-cluster address and media destination port;
 * the only reachable address is the route IP with the media source port.
 */

export interface MediaRoute {
  /** The route's IP (the key of the session's `routes` object). */
  address: string;
  /** The media route's `source_port` (UDP). */
  port: number;
}

// candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
const CANDIDATE_LINE = /^(a=candidate:\S+ \d+ )(\S+)( \d+ )(\S+) (\d+)( typ .*)$/i;

/**
 * Rewrites every UDP `a=candidate` line to the route address and port. TCP
 * candidates are dropped (the route's media port is UDP only); all other lines
 * are left alone.
 */
export function rewriteOfferCandidates(sdp: string, route: MediaRoute): string {
  const lines = sdp.split(/\r?\n/);
  const out: string[] = [];
  for (const line of lines) {
    const match = CANDIDATE_LINE.exec(line);
    if (!match) {
      out.push(line);
      continue;
    }
    const [, head, transport, priority] = match;
    if (transport.toLowerCase() !== 'udp') continue;
    out.push(`${head}${transport}${priority}${route.address} ${route.port}${match[6]}`);
  }
  return out.join('\r\n');
}
