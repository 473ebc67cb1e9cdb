/**
 * A plain static file server on loopback for tests that load built files in a browser exactly as a CDN or a web
 * server would hand them out: no module resolution, no transforms. Extra in-memory pages and JSON can be added.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

export interface StaticServer {
  /** e.g. `http://127.0.0.1:41234` */
  origin: string;
  /** Paths asked for that did not exist (besides the favicon), to spot broken references. */
  notFound: string[];
  close(): Promise<void>;
}

export interface StaticServerOptions {
  /** The folder served at `/`. */
  root: string;
  /**
   * In-memory answers by path, e.g. `{'/demo/config.json': {type: 'application/json', body: '{}'}}`. Looked up on
   * every request, so entries may be added once the server's origin is known.
   */
  extra?: Record<string, { type: string; body: string }>;
}

export async function startStaticServer({ root, extra = {} }: StaticServerOptions): Promise<StaticServer> {
  const notFound: string[] = [];
  const rootPrefix = normalize(root).replace(/[\\/]?$/, sep);
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const fromMemory = extra[path];
    if (fromMemory) {
      response.writeHead(200, { 'Content-Type': fromMemory.type, 'Cache-Control': 'no-store' });
      response.end(fromMemory.body);
      return;
    }
    const file = normalize(join(rootPrefix, path.endsWith('/') ? `${path}index.html` : path));
    const found = file.startsWith(rootPrefix) && statSync(file, { throwIfNoEntry: false })?.isFile();
    if (!found) {
      if (path !== '/favicon.ico') notFound.push(path);
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('Not found');
      return;
    }
    response.writeHead(200, { 'Content-Type': contentTypes[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    notFound,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
