/**
 * Serves a Fetch-standard handler (`(request: Request) => Promise<Response>`) with node:http,
 * for Node, where there is no built-in `serve(handler)`. Node only; the handler itself stays
 * portable.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { normalizeIpAddress, type FetchHandler } from './theta-proxy.js';

export interface ServeOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1: reachable from this machine only. */
  host?: string;
}

export interface ServedFetchHandler {
  /** Where the handler answers, e.g. `http://127.0.0.1:8787`. */
  url: string;
  server: Server;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
}

export interface ClientAddressOptions {
  /**
   * The server is reachable only through a reverse proxy of yours (nginx, Caddy, a load balancer) that appends
   * the address it saw to `X-Forwarded-For`. Default `false`: the header is ignored, since anyone can send it.
   */
  trustProxy?: boolean;
}

/** The socket address of each request {@link toWebRequest} built; weak, so it goes with the request. */
const socketAddresses = new WeakMap<Request, string>();

/**
 * Who sent a request that {@link serveFetchHandler} (or {@link toWebRequest}) built, for the proxy's
 * `clientAddress` option: the socket's remote address. With `trustProxy`, the last `X-Forwarded-For` entry
 * instead, the one the trusted reverse proxy wrote (earlier entries come from the client and prove nothing);
 * the socket's address when the header is absent (a direct connection); `undefined` when that last entry is
 * not an IP address, rather than mistaking the reverse proxy for the client.
 */
export function socketClientAddress(request: Request, options: ClientAddressOptions = {}): string | undefined {
  if (options.trustProxy) {
    const forwarded = request.headers.get('X-Forwarded-For');
    if (forwarded !== null && forwarded.trim() !== '') return normalizeIpAddress(forwarded.split(',').at(-1)!);
  }
  const socketAddress = socketAddresses.get(request);
  return socketAddress === undefined ? undefined : normalizeIpAddress(socketAddress);
}

export async function serveFetchHandler(handler: FetchHandler, options: ServeOptions = {}): Promise<ServedFetchHandler> {
  const host = options.host ?? '127.0.0.1';
  let fallbackAuthority = host;
  const server = createServer((req, res) => {
    void answer(handler, req, res, fallbackAuthority);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  fallbackAuthority = `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  let closed: Promise<void> | null = null;
  return {
    url: `http://${fallbackAuthority}`,
    server,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

async function answer(handler: FetchHandler, req: IncomingMessage, res: ServerResponse, fallbackAuthority: string): Promise<void> {
  const aborted = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) aborted.abort(new Error('The client went away'));
  });
  let request: Request;
  try {
    request = toWebRequest(req, fallbackAuthority, aborted.signal);
  } catch {
    sendPlainError(res, 400, 'Malformed request');
    return;
  }
  let response: Response;
  try {
    response = await handler(request);
  } catch {
    sendPlainError(res, 500, 'The server failed unexpectedly');
    return;
  }
  await writeWebResponse(response, res);
}

/** Builds a Fetch Request from an incoming Node request; the body streams, nothing is buffered. */
export function toWebRequest(req: IncomingMessage, fallbackAuthority: string, signal?: AbortSignal): Request {
  const headers = new Headers();
  for (let index = 0; index + 1 < req.rawHeaders.length; index += 2) {
    const name = req.rawHeaders[index];
    if (name.startsWith(':')) continue;
    headers.append(name, req.rawHeaders[index + 1]);
  }
  const hostHeader = req.headers.host;
  // The Host header decides the request's own origin; anything odd falls back to the listening address.
  const authority =
    typeof hostHeader === 'string' && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(hostHeader)
      ? hostHeader
      : fallbackAuthority;
  const target = req.url ?? '/';
  const url = new URL(target.startsWith('/') ? target : `/${target}`, `http://${authority}`);
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal };
  if (hasBody) {
    init.body = Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>;
    // Required by Node's fetch for a streamed body.
    init.duplex = 'half';
  }
  const request = new Request(url, init);
  const remoteAddress = req.socket?.remoteAddress;
  if (remoteAddress) socketAddresses.set(request, remoteAddress);
  return request;
}

/** Writes a Fetch Response to a Node response, streaming its body with back-pressure. */
export async function writeWebResponse(response: Response, res: ServerResponse): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') res.setHeader(name, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('Set-Cookie', cookies);
  if (response.body === null) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) {
        await reader.cancel();
        return;
      }
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const settle = () => {
            res.off('drain', settle);
            res.off('close', settle);
            resolve();
          };
          res.on('drain', settle);
          res.on('close', settle);
        });
      }
    }
    res.end();
  } catch {
    res.destroy();
  } finally {
    reader.releaseLock();
  }
}

function sendPlainError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify({ status: 'error', message });
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
