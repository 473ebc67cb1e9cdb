/**
 * Starts and stops simulators on behalf of browser tests. The test runner starts this hub in Node; tests in
 * Chromium ask it over loopback HTTP for a fresh simulator each, so every test gets its own ports and state.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type KitSimulator, type KitSimulatorOptions, startKitSimulator } from '../../demo/simulators/kit/kit-simulator.js';
import { type TestPatternPublish, publishTestPattern } from '../../demo/simulators/theta/test-pattern-publisher.js';
import { startThetaSimulator } from '../../demo/simulators/theta/theta-simulator.js';
import { createThetaProxy } from '../../src/theta-proxy/index.js';
import { serveFetchHandler } from '../../src/theta-proxy/node-server.js';

export interface SimulatorHub {
  url: string;
  close(): Promise<void>;
}

interface RunningSimulator {
  close(): Promise<void>;
  /** What the browser needs to know to use it. */
  describe(): Record<string, unknown>;
  /** Extra calls, e.g. `publish` for the Theta simulator's RTMP ingest. */
  actions?: Record<string, (body: Record<string, unknown>) => Promise<unknown>>;
}

export async function startSimulatorHub(): Promise<SimulatorHub> {
  const running = new Map<string, RunningSimulator>();
  let next = 1;

  const starters: Record<string, (options: Record<string, unknown>) => Promise<RunningSimulator>> = {
    kit: async (options) => {
      const { media, ...rest } = options;
      const simulatorOptions = rest as KitSimulatorOptions;
      // `media: true` streams with the defaults; an object sets the media's options (inputVersion, nvstSdp, accessToken...).
      if (media) simulatorOptions.media = await kitMediaFactory(typeof media === 'object' ? (media as Record<string, unknown>) : {});
      const simulator: KitSimulator = await startKitSimulator(simulatorOptions);
      return { close: () => simulator.close(), describe: () => ({ url: simulator.url, origin: simulator.origin }) };
    },
    // The Theta simulator behind the proxy, as a page should use it; the simulator's own URL and the account's
    // secret are returned too, for tests that talk to the API directly or look for leaks.
    theta: async (options) => {
      const simulator = await startThetaSimulator(options);
      const [account] = simulator.serviceAccounts;
      const proxy = await serveFetchHandler(
        createThetaProxy({
          serviceAccountId: account.id,
          serviceAccountSecret: account.secret,
          upstream: simulator.url,
          allowedOrigins: '*',
        }),
        { host: '127.0.0.1', port: 0 },
      );
      let publisher: TestPatternPublish | undefined;
      const stopPublishing = async () => {
        await publisher?.stop();
        publisher = undefined;
      };
      return {
        describe: () => ({ apiBase: proxy.url, simulatorUrl: simulator.url, serviceAccountId: account.id, secret: account.secret }),
        close: async () => {
          await stopPublishing();
          await proxy.close();
          await simulator.close();
        },
        actions: {
          // Publishes a test pattern with ffmpeg, as OBS would; at most a minute.
          publish: async (body) => {
            await stopPublishing();
            publisher = publishTestPattern(String(body.url), { seconds: 60 });
            return { publishing: true };
          },
          'stop-publishing': async () => {
            await stopPublishing();
            return { publishing: false };
          },
        },
      };
    },
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => send(response, 500, { error: String(error) }));
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method === 'OPTIONS') return send(response, 204);
    const name = (request.url ?? '').split('?')[0].replace(/^\/+/, '');
    if (request.method === 'POST' && Object.hasOwn(starters, name)) {
      const kind = name;
      const options = JSON.parse((await readBody(request)) || '{}') as Record<string, unknown>;
      const simulator = await starters[kind](options);
      const key = `${kind}-${next++}`;
      running.set(key, simulator);
      return send(response, 200, { id: key, ...simulator.describe() });
    }
    const [id, action] = name.split('/');
    const target = running.get(id);
    const act = action ? target?.actions?.[action] : undefined;
    if (request.method === 'POST' && act) {
      return send(response, 200, await act(JSON.parse((await readBody(request)) || '{}') as Record<string, unknown>));
    }
    const simulator = running.get(name);
    if (request.method === 'DELETE' && simulator) {
      running.delete(name);
      await simulator.close();
      return send(response, 200, { closed: name });
    }
    return send(response, 404, { error: 'unknown hub call' });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await Promise.all([...running.values()].map((simulator) => simulator.close()));
      running.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function kitMediaFactory(options: Record<string, unknown>) {
  const media = await import('../../demo/simulators/kit/media/index.js');
  return media.createKitMediaFactory(options);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => resolve(body));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, status: number, body?: unknown): void {
  response.writeHead(status, {
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
    'access-control-allow-headers': 'content-type',
    'content-type': 'application/json',
  });
  response.end(body === undefined ? undefined : JSON.stringify(body));
}
