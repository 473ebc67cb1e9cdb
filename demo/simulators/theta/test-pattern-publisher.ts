/**
 * Publishes a test pattern over RTMP with ffmpeg, as OBS would: for tests, the test hub and the demo's "Publish a test
 * pattern" button. Every publish is bounded in time, and a stop that ffmpeg ignores is forced.
 */
import { spawn } from 'node:child_process';

export interface TestPatternPublish {
  /** Resolves when ffmpeg exits, with its exit code and what it wrote to stderr. */
  readonly exited: Promise<{ code: number | null; stderr: string }>;
  /** Asks ffmpeg to stop (SIGINT, then SIGKILL after 3 s) and waits for it to exit. */
  stop(): Promise<void>;
}

export interface TestPatternOptions {
  /** How long to publish at most, in seconds. */
  seconds: number;
  /** Frame size, e.g. `320x240`. */
  size?: string;
  rate?: number;
  /** The ffmpeg binary; default `ffmpeg` from the PATH. */
  ffmpegPath?: string;
}

export function publishTestPattern(url: string, options: TestPatternOptions): TestPatternPublish {
  const { seconds, size = '320x240', rate = 15, ffmpegPath = 'ffmpeg' } = options;
  const child = spawn(
    ffmpegPath,
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=${size}:rate=${rate}`,
      '-t',
      String(seconds),
      '-f',
      'flv',
      url,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // ffmpeg stops by itself after `seconds`; this catches one that hangs on a dead connection.
  const killTimer = setTimeout(() => child.kill('SIGKILL'), (seconds + 8) * 1000);
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.once('error', (error) => {
      clearTimeout(killTimer);
      resolve({ code: null, stderr: String(error) });
    });
    child.once('exit', (code) => {
      clearTimeout(killTimer);
      resolve({ code, stderr });
    });
  });
  return {
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        const forced = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(forced);
      }
      await exited;
    },
  };
}
