/**
 * Runs the Theta Video API simulator from the command line:
 *
 *   node --import tsx demo/simulators/theta/main.ts [--port 8790] [--host 127.0.0.1]
 *     [--location LON,LAT] [--selection-ttl-ms MS] [--stream-limit N] [--no-rtmp] [--print-secret]
 *     [--ffmpeg PATH] [--hls-root DIR] [--hls-retention-ms MS]
 *
 * With RTMP on, each publish is made into HLS by ffmpeg (from the PATH unless `--ffmpeg` says otherwise), in a
 * temporary folder under `--hls-root` (default the system's), served at the stream's `playback_uri`.
 *
 * The simulated account is `THETA_SA_ID` (default `srvacc_demo`) with secret `THETA_SA_SECRET`;
 * give the same two variables to the Theta proxy so it can call the simulator. When no secret is
 * given one is generated, and it is shown only with `--print-secret`: it is a credential, even
 * for a simulated account, and terminal output tends to end up in shared logs.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startThetaSimulator, type GeoPoint } from './theta-simulator.js';

function fail(message: string): never {
  process.stderr.write(`theta simulator: ${message}\n`);
  process.exit(2);
}

function parseNumber(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0) fail(`--${name} must be a non-negative number`);
  return number;
}

function parseLocation(value: string | undefined): GeoPoint | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map(Number);
  if (parts.length !== 2 || parts.some((part) => !Number.isFinite(part))) fail('--location must be LON,LAT');
  return [parts[0], parts[1]];
}

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    location: { type: 'string' },
    'selection-ttl-ms': { type: 'string' },
    'stream-limit': { type: 'string' },
    'no-rtmp': { type: 'boolean' },
    'print-secret': { type: 'boolean' },
    ffmpeg: { type: 'string' },
    'hls-root': { type: 'string' },
    'hls-retention-ms': { type: 'string' },
  },
});

const accountId = process.env.THETA_SA_ID || 'srvacc_demo';
const secretGiven = Boolean(process.env.THETA_SA_SECRET);
const secret = process.env.THETA_SA_SECRET || randomBytes(16).toString('hex');

const simulator = await startThetaSimulator({
  host: values.host ?? '127.0.0.1',
  port: parseNumber(values.port, 'port') ?? 0,
  serviceAccounts: [{ id: accountId, secret }],
  location: parseLocation(values.location),
  selectionTtlMs: parseNumber(values['selection-ttl-ms'], 'selection-ttl-ms'),
  streamLimit: parseNumber(values['stream-limit'], 'stream-limit'),
  rtmp: !values['no-rtmp'],
  ffmpegPath: values.ffmpeg,
  hlsRoot: values['hls-root'],
  hlsRetentionMs: parseNumber(values['hls-retention-ms'], 'hls-retention-ms'),
});

process.stdout.write(`Theta Video API simulator: ${simulator.url}\n`);
process.stdout.write(`RTMP ingest: ${simulator.rtmpUrl ?? 'off'}${simulator.rtmpUrl ? ' (each publish is served as HLS)' : ''}\n`);
process.stdout.write(`Service account: ${accountId}\n`);
if (values['print-secret']) process.stdout.write(`THETA_SA_SECRET=${secret}\n`);
else if (!secretGiven) process.stdout.write('Secret generated; set THETA_SA_SECRET to choose it, or pass --print-secret to see it.\n');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void simulator.close().then(() => process.exit(0));
  });
}
