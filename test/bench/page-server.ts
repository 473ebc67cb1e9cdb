/** The dev server both benchmarks load their pages from: the project's own files, TypeScript compiled on the fly. */
import { fileURLToPath } from 'node:url';
import { startDevServer } from '@web/dev-server';
import { esbuildPlugin } from '@web/dev-server-esbuild';

/** Starts the server on a free loopback port; returns it with that port. */
export async function startPageServer(): Promise<{ server: Awaited<ReturnType<typeof startDevServer>>; port: number }> {
  const server = await startDevServer({
    config: {
      rootDir: fileURLToPath(new URL('../..', import.meta.url)),
      port: 0,
      hostname: '127.0.0.1',
      nodeResolve: { exportConditions: ['production'] },
      plugins: [esbuildPlugin({ ts: true, target: 'es2022', tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)) })],
    },
    readCliArgs: false,
    readFileConfig: false,
    logStartMessage: false,
  });
  const address = server.server?.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}
