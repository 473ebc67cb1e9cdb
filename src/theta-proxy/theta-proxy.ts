/**
 * A Fetch-standard request handler that lets a web page use the Theta Video API's
 * livestream calls without ever holding the service-account secret.
 *
 * The secret grants full control of the account, so it must stay on a server. This proxy
 * holds it, forwards only the documented livestream calls, adds the credentials on the
 * way out, and passes the service's answers (statuses and messages included) back to the
 * page. It uses web-platform APIs only (Request, Response, fetch, URL, Headers,
 * AbortSignal), so the same handler runs in Node 20+, Deno, Bun and edge workers.
 *
 * Each request goes through the pieces beside this file in turn: `cors.ts` (may this page call at all),
 * `routes.ts` (which upstream call it is, or why it is refused), `request-body.ts` (its JSON body),
 * `client-address.ts` (the streamer's address for `X-Forwarded-For`) and `upstream.ts` (the call and its answer).
 */
import { forwardedFor } from './client-address.js';
import { corsHeaders, originAllowed, preflightResponse } from './cors.js';
import { readProxyOptions, type FetchHandler, type ThetaProxyOptions } from './options.js';
import { BodyRefusal, readJsonBody } from './request-body.js';
import { resolveCall } from './routes.js';
import { forwardUpstream } from './upstream.js';

export { normalizeIpAddress } from './client-address.js';
export {
  defaultMaxBodyBytes,
  defaultThetaUpstream,
  defaultUpstreamTimeoutMs,
  type FetchHandler,
  type ThetaProxyOptions,
} from './options.js';

/**
 * Creates the proxy. Mount it wherever a Fetch handler goes:
 * `Deno.serve(handler)`, `Bun.serve({fetch: handler})`, `export default {fetch: handler}` in a worker,
 * or `serveFetchHandler(handler, {port})` from `./node-server.js` in Node.
 *
 * Paths (after `basePath`): `POST /stream`, `GET|DELETE /stream/{id}`,
 * `GET /service_account/{id or "me"}/streams?status=on|off`, `GET /ingestor/filter?max_distance=N`,
 * `PUT /ingestor/{id}/select`, `PUT /ingestor/{id}/unselect`. Anything else is a 404. Only the query
 * parameters shown are forwarded (the others are dropped); any other `status` or a malformed `max_distance` is a 400.
 *
 * The ingestor list comes back nearest first to whoever calls the service, which is this proxy: set
 * `clientAddress` so the streamer's address goes upstream as `X-Forwarded-For`.
 */
export function createThetaProxy(options: ThetaProxyOptions): FetchHandler {
  const settings = readProxyOptions(options);

  function errorResponse(status: number, message: string, headers: Headers): Response {
    headers.set('Content-Type', 'application/json; charset=utf-8');
    return new Response(JSON.stringify({ status: 'error', message: settings.redact(message) }), { status, headers });
  }

  async function handle(request: Request): Promise<Response> {
    const origin = request.headers.get('Origin');
    const allowed = origin === null || originAllowed(settings.allowedOrigins, origin, request);
    const headers = corsHeaders(origin, allowed);
    const method = request.method.toUpperCase();

    if (method === 'OPTIONS') {
      if (!allowed) return errorResponse(403, 'This origin may not use the Theta proxy', headers);
      return preflightResponse(headers);
    }
    if (!allowed) return errorResponse(403, 'This origin may not use the Theta proxy', headers);

    const call = resolveCall(request.url, method, settings);
    if (!('upstreamUrl' in call)) {
      if (call.allow !== undefined) headers.set('Allow', call.allow);
      return errorResponse(call.status, call.message, headers);
    }

    let body: string | undefined;
    if (call.hasBody) {
      try {
        body = await readJsonBody(request, settings.maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyRefusal) return errorResponse(error.status, error.message, headers);
        return errorResponse(400, 'Could not read the request body', headers);
      }
    }

    const answer = await forwardUpstream(
      request,
      { url: call.upstreamUrl, method, body, forwardedFor: forwardedFor(request, settings) },
      settings,
      headers,
    );
    return answer instanceof Response ? answer : errorResponse(answer.status, answer.message, headers);
  }

  return async (request) => {
    try {
      return await handle(request);
    } catch {
      // Never let an unexpected error's text (which could quote anything) reach the page.
      let origin: string | null = null;
      let allowed = false;
      try {
        origin = request.headers.get('Origin');
        allowed = origin !== null && originAllowed(settings.allowedOrigins, origin, request);
      } catch {
        allowed = false;
      }
      return errorResponse(500, 'The Theta proxy failed unexpectedly', corsHeaders(origin, allowed));
    }
  };
}
