/**
 * `live-stream-elements theta-proxy`: runs the Theta proxy as a small Node server.
 *
 *   THETA_SA_ID=srvacc_... THETA_SA_SECRET=... live-stream-elements theta-proxy --port 8787 \
 *     [--host 127.0.0.1] [--upstream URL] [--allowed-origins https://a.example,https://b.example] [--base-path /api/theta]
 *     [--trust-proxy]
 *
 * It passes each streamer's address upstream as `X-Forwarded-For` (so the ingestor list can be nearest to the
 * streamer rather than to this server): the socket's address, or with `--trust-proxy` the one a reverse proxy
 * in front of it appended to `X-Forwarded-For`.
 *
 * The credentials come from the environment only: command lines show up in process lists and shell history.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { serveFetchHandler, socketClientAddress, type ServedFetchHandler } from './node-server.js';
import { createThetaProxy, defaultThetaUpstream } from './theta-proxy.js';

export const thetaProxyUsage = `Usage: live-stream-elements theta-proxy [--port 8787] [--host 127.0.0.1]
       [--upstream ${defaultThetaUpstream}] [--allowed-origins ORIGIN,ORIGIN|*] [--base-path /prefix]
       [--trust-proxy]
Environment: THETA_SA_ID and THETA_SA_SECRET (the service account the proxy acts as).
The streamer's address goes upstream as X-Forwarded-For, so that ingestors come nearest to the streamer
first rather than nearest to this server: by default the address of the connection.
  --trust-proxy  Only behind a reverse proxy of yours that appends X-Forwarded-For and is the only way in:
                 the streamer's address is then the last X-Forwarded-For entry. Without it the header a
                 client sends is ignored, since anyone can write it.`;

/** A refusal to start, with the exit code the process should end with. */
export class ThetaProxyCliError extends Error {
  override name = 'ThetaProxyCliError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface ThetaProxyCliSettings {
  port: number;
  host: string;
  upstream: string;
  allowedOrigins: string[] | '*' | undefined;
  basePath: string;
  /** Take the streamer's address from the last `X-Forwarded-For` entry rather than from the socket. */
  trustProxy: boolean;
}

export const defaultProxyPort = 8787;

/** Reads the command line (with or without the leading `theta-proxy`). */
export function parseThetaProxyArgs(argv: readonly string[]): ThetaProxyCliSettings {
  const args = argv[0] === 'theta-proxy' ? argv.slice(1) : [...argv];
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        upstream: { type: 'string' },
        'allowed-origins': { type: 'string' },
        'base-path': { type: 'string' },
        'trust-proxy': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new ThetaProxyCliError(`${(error as Error).message}\n${thetaProxyUsage}`, 2);
  }
  if (values.help) throw new ThetaProxyCliError(thetaProxyUsage, 0);
  const port = values.port === undefined ? defaultProxyPort : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ThetaProxyCliError('--port must be 0 to 65535', 2);
  const origins = values['allowed-origins'];
  return {
    port,
    host: values.host ?? '127.0.0.1',
    upstream: values.upstream ?? defaultThetaUpstream,
    allowedOrigins:
      origins === undefined
        ? undefined
        : origins.trim() === '*'
          ? '*'
          : origins
              .split(',')
              .map((origin) => origin.trim())
              .filter((origin) => origin !== ''),
    basePath: values['base-path'] ?? '',
    trustProxy: values['trust-proxy'] === true,
  };
}

/** Starts the proxy server; throws {@link ThetaProxyCliError} when it cannot. */
export async function runThetaProxyCli(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  log: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<ServedFetchHandler> {
  const settings = parseThetaProxyArgs(argv);
  const serviceAccountId = env.THETA_SA_ID?.trim();
  const serviceAccountSecret = env.THETA_SA_SECRET?.trim();
  if (!serviceAccountId || !serviceAccountSecret) {
    throw new ThetaProxyCliError('theta-proxy needs the service account in the environment: set THETA_SA_ID and THETA_SA_SECRET.', 2);
  }
  let handler;
  try {
    handler = createThetaProxy({
      serviceAccountId,
      serviceAccountSecret,
      upstream: settings.upstream,
      allowedOrigins: settings.allowedOrigins,
      basePath: settings.basePath,
      clientAddress: (request) => socketClientAddress(request, { trustProxy: settings.trustProxy }),
    });
  } catch (error) {
    // Option errors name the option, never its value, so they are safe to show.
    throw new ThetaProxyCliError(`theta-proxy: ${(error as Error).message}`, 2);
  }
  let served: ServedFetchHandler;
  try {
    served = await serveFetchHandler(handler, { port: settings.port, host: settings.host });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new ThetaProxyCliError(
      `theta-proxy could not listen on ${settings.host}:${settings.port}${typeof code === 'string' ? ` (${code})` : ''}`,
      1,
    );
  }
  log(
    `Theta proxy for ${serviceAccountId} listening on ${served.url}${settings.basePath} (upstream ${settings.upstream}; ` +
      `streamer addresses from ${settings.trustProxy ? 'X-Forwarded-For, --trust-proxy' : 'the connection'})`,
  );
  return served;
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isMainModule()) {
  try {
    const served = await runThetaProxyCli(process.argv.slice(2), process.env);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => void served.close().then(() => process.exit(0)));
    }
  } catch (error) {
    if (error instanceof ThetaProxyCliError) {
      (error.exitCode === 0 ? process.stdout : process.stderr).write(`${error.message}\n`);
      process.exit(error.exitCode);
    }
    process.stderr.write('theta-proxy failed to start\n');
    process.exit(1);
  }
}
