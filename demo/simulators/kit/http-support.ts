import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';

/** FastAPI's shape for one validation problem inside a 422 answer's `detail` array. */
export interface ValidationIssue {
  loc: string[];
  msg: string;
  type: string;
}

export type BodyReadResult = { kind: 'complete'; text: string; bytes: number } | { kind: 'too-large' } | { kind: 'aborted' };

/**
 * After refusing an oversized body the rest is still read and thrown away, so the client
 * finishes sending and sees the 413 instead of a reset; past this much it is cut off.
 */
const oversizedDrainLimitBytes = 16 * 1024 * 1024;

export function readBody(request: IncomingMessage, limitBytes: number): Promise<BodyReadResult> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: BodyReadResult): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const chunks: Buffer[] = [];
    let received = 0;
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limitBytes) settle({ kind: 'too-large' });

    request.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (settled) {
        if (received > oversizedDrainLimitBytes) request.socket.destroy();
        return;
      }
      if (received > limitBytes) {
        chunks.length = 0;
        settle({ kind: 'too-large' });
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => settle({ kind: 'complete', text: Buffer.concat(chunks).toString('utf8'), bytes: received }));
    request.on('error', () => settle({ kind: 'aborted' }));
    request.on('close', () => settle({ kind: 'aborted' }));
  });
}

/** Parses a request body: `null` when there is none, the JSON value when it parses, else the raw text. */
export function parseBodyText(text: string): { value: unknown; json: boolean } {
  if (text.trim() === '') return { value: null, json: false };
  try {
    return { value: JSON.parse(text) as unknown, json: true };
  } catch {
    return { value: text, json: false };
  }
}

/**
 * CORS headers for every answer. The origin is echoed (with credentials allowed) because
 * deployments put cookie or bearer authentication in front of the API and browser clients
 * send credentials; without an Origin the answer is open to all.
 */
export function corsHeaders(request: IncomingMessage): Record<string, string> {
  const origin = request.headers.origin;
  const headers: Record<string, string> = {
    'Access-Control-Expose-Headers': 'Retry-After',
    Vary: 'Origin',
  };
  if (typeof origin === 'string' && origin !== '') {
    headers['Access-Control-Allow-Origin'] = origin;
    headers['Access-Control-Allow-Credentials'] = 'true';
  } else {
    headers['Access-Control-Allow-Origin'] = '*';
  }
  return headers;
}

export function preflightHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {
    ...corsHeaders(request),
    'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
    'Access-Control-Max-Age': '600',
    Vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  };
  const requestedHeaders = request.headers['access-control-request-headers'];
  if (typeof requestedHeaders === 'string' && requestedHeaders !== '') {
    headers['Access-Control-Allow-Headers'] = requestedHeaders;
  }
  if (request.headers['access-control-request-private-network'] === 'true') {
    headers['Access-Control-Allow-Private-Network'] = 'true';
  }
  return headers;
}

/** True when the answer can still be written (the client may have gone away meanwhile). */
export function canAnswer(response: ServerResponse): boolean {
  return !response.headersSent && !response.writableEnded && !response.destroyed;
}

export function sendRaw(response: ServerResponse, status: number, body: string | undefined, headers: OutgoingHttpHeaders): void {
  if (!canAnswer(response)) return;
  const bodyless = status === 204 || status === 304 || body === undefined;
  const payload = bodyless ? undefined : Buffer.from(body, 'utf8');
  response.writeHead(
    status,
    mergeHeaders({ 'Cache-Control': 'no-store' }, headers, payload === undefined ? {} : { 'Content-Length': String(payload.length) }),
  );
  response.end(payload);
}

/** Merges header sets, later ones winning whatever the letter case of their names. */
export function mergeHeaders(...sources: OutgoingHttpHeaders[]): OutgoingHttpHeaders {
  const merged: OutgoingHttpHeaders = {};
  for (const source of sources) {
    for (const [name, value] of Object.entries(source)) {
      if (value !== undefined) merged[name.toLowerCase()] = value;
    }
  }
  return merged;
}

export function sendJson(response: ServerResponse, status: number, value: unknown, headers: OutgoingHttpHeaders = {}): void {
  sendRaw(response, status, JSON.stringify(value), { 'Content-Type': 'application/json', ...headers });
}

export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/** Guesses a content type for a raw fault body that did not name one. */
export function guessContentType(body: string): string {
  const trimmed = body.trimStart();
  if (trimmed.startsWith('<')) return 'text/html; charset=utf-8';
  try {
    JSON.parse(body);
    return 'application/json';
  } catch {
    return 'text/plain; charset=utf-8';
  }
}

/** Splits a request target into its still-encoded path and its query, tolerating absolute-form targets. */
export function splitTarget(target: string): { path: string; query: Record<string, string> } | undefined {
  let pathAndQuery = target;
  if (!target.startsWith('/')) {
    try {
      const absolute = new URL(target);
      pathAndQuery = absolute.pathname + absolute.search;
    } catch {
      return undefined;
    }
  }
  const queryStart = pathAndQuery.indexOf('?');
  const path = queryStart < 0 ? pathAndQuery : pathAndQuery.slice(0, queryStart);
  // The first value of a repeated name wins; fromEntries keeps a name like `__proto__` an own property.
  const entries = new Map<string, string>();
  if (queryStart >= 0) {
    for (const [name, value] of new URLSearchParams(pathAndQuery.slice(queryStart + 1))) {
      if (!entries.has(name)) entries.set(name, value);
    }
  }
  return { path, query: Object.fromEntries(entries) };
}

/** Decodes one path segment; `undefined` for malformed percent-encoding. */
export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
