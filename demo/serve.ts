/**
 * `npm start`: the simulated services on loopback, and a dev server for the demo pages on
 * http://localhost:8000 (or the next free port).
 *
 * The Theta simulator sits behind the Theta proxy, as a real deployment would: the proxy holds the
 * service-account secret, and the demo page never sees it.
 */
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startDevServer } from '@web/dev-server';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { createThetaProxy } from '../src/theta-proxy/index.js';
import { toWebRequest, writeWebResponse } from '../src/theta-proxy/node-server.js';
import { startKitSimulator } from './simulators/kit/kit-simulator.js';
import { createKitMediaFactory } from './simulators/kit/media/index.js';
import { type TestPatternPublish, publishTestPattern } from './simulators/theta/test-pattern-publisher.js';
import { startThetaSimulator } from './simulators/theta/theta-simulator.js';

const rootDir = fileURLToPath(new URL('..', import.meta.url));

async function firstFreePort(from: number, count = 100): Promise<number> {
  for (let port = from; port < from + count; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`No free port between ${from} and ${from + count - 1}.`);
}

const port = await firstFreePort(Number(process.env.PORT ?? 8000));
const pageOrigins = [`http://localhost:${port}`, `http://127.0.0.1:${port}`];

const kit = await startKitSimulator({ prefix: '/streaming', readyAfterMs: 4000, media: createKitMediaFactory() });
const theta = await startThetaSimulator();
const [account] = theta.serviceAccounts;
// The proxy is mounted on the demo's own origin, as a site would mount it next to its pages.
const thetaApiBase = '/api/theta';
const thetaProxy = createThetaProxy({
  serviceAccountId: account.id,
  serviceAccountSecret: account.secret,
  upstream: theta.url,
  allowedOrigins: pageOrigins,
  basePath: thetaApiBase,
});

const demoConfig = {
  kit: { server: kit.url, control: `${kit.origin}/_control` },
  theta: { apiBase: thetaApiBase },
};

/** The demo's "publish a test pattern" button: ffmpeg plays OBS, publishing to the simulator's RTMP ingest only. */
let publisher: TestPatternPublish | undefined;
function publish(url: string): string | undefined {
  if (!theta.rtmpUrl || !url.startsWith(`${theta.rtmpUrl}/`)) return "Only the simulator's RTMP ingest can be published to.";
  void stopPublishing();
  publisher = publishTestPattern(url, { seconds: 600, size: '640x360', rate: 25 });
  return undefined;
}
async function stopPublishing(): Promise<void> {
  const stopping = publisher?.stop();
  publisher = undefined;
  await stopping;
}

const server = await startDevServer({
  config: {
    rootDir,
    port,
    hostname: 'localhost',
    nodeResolve: true,
    middleware: [
      async (context, next) => {
        if (context.path === '/') return context.redirect('/demo/');
        if (context.path.startsWith(`${thetaApiBase}/`)) {
          await writeWebResponse(await thetaProxy(toWebRequest(context.req, `localhost:${port}`)), context.res);
          context.respond = false;
          return undefined;
        }
        if (context.path === '/demo/config.json') {
          context.body = demoConfig;
          return undefined;
        }
        if (context.method === 'POST' && context.path === '/demo/publish') {
          const body = await new Promise<string>((resolve) => {
            let text = '';
            context.req.on('data', (chunk: Buffer) => (text += chunk.toString().slice(0, 2000)));
            context.req.on('end', () => resolve(text));
          });
          const { url } = JSON.parse(body || '{}') as { url?: unknown };
          const problem = publish(typeof url === 'string' ? url : '');
          context.status = problem ? 400 : 204;
          if (problem) context.body = { message: problem };
          return undefined;
        }
        if (context.method === 'POST' && context.path === '/demo/stop-publishing') {
          await stopPublishing();
          context.status = 204;
          return undefined;
        }
        await next();
        return undefined;
      },
    ],
    plugins: [
      esbuildPlugin({ ts: true, tsx: true, target: 'es2022', tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) }),
    ],
  },
  readCliArgs: false,
  readFileConfig: false,
  logStartMessage: false,
});

console.log(`live-stream-elements demo: http://localhost:${port}/demo/`);
console.log(`  Kit App Streaming simulator: ${kit.url}`);
console.log(
  `  Theta proxy: http://localhost:${port}${thetaApiBase} (in front of the Theta simulator at ${theta.url}, RTMP ${theta.rtmpUrl})`,
);

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  await Promise.allSettled([stopPublishing(), server.stop(), kit.close(), theta.close()]);
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
