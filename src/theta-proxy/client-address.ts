/**
 * The streamer's address, sent upstream as `X-Forwarded-For` so that the service sorts the ingestors nearest to the
 * streamer rather than to the proxy. Only well-formed IP addresses go upstream, whatever a browser wrote.
 */

/** At most this many `X-Forwarded-For` entries go upstream (the last ones, nearest to the proxy). */
const maxForwardedAddresses = 16;

export interface ForwardingOptions {
  clientAddress?: (request: Request) => string | undefined;
  trustForwardedFor: boolean;
}

/** The `X-Forwarded-For` to send upstream: the trusted incoming chain, if any, then the streamer's address. */
export function forwardedFor(request: Request, { clientAddress, trustForwardedFor }: ForwardingOptions): string | undefined {
  const chain: string[] = [];
  if (trustForwardedFor) {
    for (const entry of (request.headers.get('X-Forwarded-For') ?? '').split(',')) {
      const address = normalizeIpAddress(entry);
      if (address !== undefined) chain.push(address);
    }
  }
  let own: unknown;
  try {
    own = clientAddress?.(request);
  } catch {
    // Only the ingestors' order depends on it: a failing lookup must not cost the streamer the call.
    own = undefined;
  }
  const address = typeof own === 'string' ? normalizeIpAddress(own) : undefined;
  if (address !== undefined) chain.push(address);
  return chain.length === 0 ? undefined : chain.slice(-maxForwardedAddresses).join(', ');
}

/**
 * An IPv4 or IPv6 address in canonical form, or `undefined` for anything else. Tolerates the spellings
 * platforms use for client addresses: surrounding spaces, `[v6]`, a `:port`, an IPv6 zone (`%eth0`, dropped),
 * and `::ffff:`-mapped IPv4 (returned as plain IPv4). Uses the URL parser for IPv6, so it runs anywhere.
 */
export function normalizeIpAddress(value: string): string | undefined {
  let text = value.trim();
  if (text.length > 64) return undefined;
  const ipv4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?$/.exec(text);
  if (ipv4) return ipv4[1].split('.').every((part) => Number(part) <= 255 && (part.length === 1 || part[0] !== '0')) ? ipv4[1] : undefined;
  const bracketed = /^\[([^\]]*)\](?::\d{1,5})?$/.exec(text);
  if (bracketed) text = bracketed[1];
  text = text.replace(/%[A-Za-z0-9_.-]{1,32}$/, '');
  if (!/^[0-9A-Fa-f:.]{2,45}$/.test(text) || !text.includes(':')) return undefined;
  let host: string;
  try {
    host = new URL(`http://[${text}]/`).hostname;
  } catch {
    return undefined;
  }
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(host);
  if (mapped) {
    const high = parseInt(mapped[1], 16);
    const low = parseInt(mapped[2], 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return host.slice(1, -1);
}
