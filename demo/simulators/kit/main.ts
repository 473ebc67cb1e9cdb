/**
 * Runs the Kit App Streaming simulator from the command line:
 *
 *   node --import tsx demo/simulators/kit/main.ts --port 0 --prefix /streaming --ready-after 3000
 *
 * Each ready session gets its signaling and media, as a real Kit's do, so `<kit-stream-player>` streams from it.
 * Prints the API base URL, then serves until interrupted.
 */
import { parseArgs } from 'node:util';
import { startKitSimulator, type KitSimulatorOptions } from './kit-simulator.js';
import { createKitMediaFactory } from './media/index.js';

const usage = `Usage: main.ts [options]
  --host <address>          bind address (default 127.0.0.1)
  --port <number>           port, 0 for any free port (default 0)
  --prefix <path>           API path prefix, e.g. /streaming (default none)
  --ready-after <ms>        time until a new session is ready; 0 answers POST /stream with 200 (default 3000)
  --route-ip <address>      address the session routes name (default 127.0.0.1)
  --routes-shape <shape>    flat | nested (default flat)
  --session-limit <number>  most sessions at once (default 4)
  --retry-after <seconds>   send Retry-After on pending answers
  --terminate-forms <form>  both | path | body (default both)
  --input-version <2|3>     input protocol version announced to clients (default 3)
  --nvst-sdp                offer an nvstSdp and require one in the answer
  --access-token <token>    require this bearer token in the signaling subprotocol
  --no-media                serve the HTTP API only: sessions get routes to ports that accept nothing
  --quiet                   do not log requests
  --help                    show this help`;

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new TypeError(`--${name} must be a whole number, got '${value}'`);
  return parsed;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      prefix: { type: 'string' },
      'ready-after': { type: 'string' },
      'route-ip': { type: 'string' },
      'routes-shape': { type: 'string' },
      'session-limit': { type: 'string' },
      'retry-after': { type: 'string' },
      'terminate-forms': { type: 'string' },
      'input-version': { type: 'string' },
      'nvst-sdp': { type: 'boolean' },
      'access-token': { type: 'string' },
      'no-media': { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const options: KitSimulatorOptions = {
    host: values.host,
    port: integer(values.port, 'port'),
    prefix: values.prefix,
    readyAfterMs: integer(values['ready-after'], 'ready-after'),
    routeIp: values['route-ip'],
    routesShape: values['routes-shape'] as KitSimulatorOptions['routesShape'],
    sessionLimit: integer(values['session-limit'], 'session-limit'),
    retryAfterSeconds: integer(values['retry-after'], 'retry-after'),
    terminateForms: values['terminate-forms'] as KitSimulatorOptions['terminateForms'],
    log: values.quiet ? undefined : (line) => console.error(`[kit] ${line}`),
  };
  const inputVersion = integer(values['input-version'], 'input-version') ?? 3;
  if (inputVersion !== 2 && inputVersion !== 3) throw new TypeError(`--input-version must be 2 or 3, got ${inputVersion}`);
  if (!values['no-media']) {
    options.media = createKitMediaFactory({
      inputVersion,
      nvstSdp: values['nvst-sdp'] ?? false,
      ...(values['access-token'] === undefined ? {} : { accessToken: values['access-token'] }),
      ...(options.log === undefined ? {} : { log: options.log }),
    });
  }
  const simulator = await startKitSimulator(options);
  console.log(simulator.url);
  console.error(`[kit] control endpoints at ${simulator.origin}/_control/`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    simulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  console.error(usage);
  process.exit(2);
});
