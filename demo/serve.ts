/**
 * `npm start`: the simulated services on loopback, and a dev server for the demo pages on
 * http://localhost:8000 (or the next free port).
 */
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startDevServer } from '@web/dev-server';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { startKitSimulator } from './simulators/kit/kit-simulator.js';

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

async function kitMedia() {
  try {
    const { createKitMediaFactory } = await import('./simulators/kit/media/index.js');
    return createKitMediaFactory();
  } catch (error) {
    console.warn(`Kit media simulation unavailable: ${String(error)}`);
    return undefined;
  }
}

const kit = await startKitSimulator({ prefix: '/streaming', readyAfterMs: 4000, media: await kitMedia() });

const demoConfig = { kit: { server: kit.url, control: `${kit.origin}/_control` } };

const port = await firstFreePort(Number(process.env.PORT ?? 8000));
const server = await startDevServer({
  config: {
    rootDir,
    port,
    hostname: 'localhost',
    nodeResolve: true,
    middleware: [
      (context, next) => {
        if (context.path === '/') return context.redirect('/demo/');
        return next();
      },
    ],
    plugins: [
      esbuildPlugin({ ts: true, target: 'es2022', tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) }),
      {
        name: 'demo-config',
        serve(context) {
          if (context.path === '/demo/config.json') return { body: JSON.stringify(demoConfig), type: 'json' };
          return undefined;
        },
      },
    ],
  },
  readCliArgs: false,
  readFileConfig: false,
  logStartMessage: false,
});

console.log(`live-stream-elements demo: http://localhost:${port}/demo/`);
console.log(`  Kit App Streaming simulator: ${kit.url}`);

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  await Promise.allSettled([server.stop(), kit.close()]);
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
