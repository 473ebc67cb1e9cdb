/**
 * Which pages may call the proxy from another origin, and the headers that tell a browser so. A page of the proxy's
 * own origin is always allowed; a request without `Origin` (not from a browser page) is never refused for it.
 */

/** `'*'` for any origin, or the normalized origins listed in `allowedOrigins`. */
export type AllowedOrigins = '*' | ReadonlySet<string>;

const allowedMethods = 'GET, POST, PUT, DELETE, OPTIONS';
/** Only these request headers may come from the page; credentials are the proxy's own. */
const allowedRequestHeaders = 'Content-Type, Accept';

/** The `allowedOrigins` option in the form {@link originAllowed} reads. */
export function allowedOriginsOf(option: readonly string[] | '*' | undefined): AllowedOrigins {
  return option === '*' ? '*' : new Set((option ?? []).map(normalizeOrigin));
}

export function originAllowed(allowedOrigins: AllowedOrigins, origin: string, request: Request): boolean {
  if (allowedOrigins === '*') return true;
  const normalized = normalizeOrigin(origin);
  return allowedOrigins.has(normalized) || normalized === new URL(request.url).origin;
}

/** The headers of every answer; the page's origin is echoed only when it is allowed. */
export function corsHeaders(origin: string | null, allowed: boolean): Headers {
  const headers = new Headers({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', Vary: 'Origin' });
  if (origin !== null && allowed) headers.set('Access-Control-Allow-Origin', origin);
  return headers;
}

/** The answer to an allowed preflight (`OPTIONS`) request. */
export function preflightResponse(headers: Headers): Response {
  headers.set('Access-Control-Allow-Methods', allowedMethods);
  headers.set('Access-Control-Allow-Headers', allowedRequestHeaders);
  headers.set('Access-Control-Max-Age', '600');
  headers.set('Allow', allowedMethods);
  return new Response(null, { status: 204, headers });
}

function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}
