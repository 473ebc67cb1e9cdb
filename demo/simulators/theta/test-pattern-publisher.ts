/**
 * Publishes a test pattern (H264 baseline video, an AAC tone) over RTMP with ffmpeg, as OBS would: for tests, the test hub and the demo's "Publish a test
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
      '-nostdin',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=${size}:rate=${rate}`,
      '-re',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=44100',
      '-t',
      String(seconds),
      '-map',
      '0:v',
      '-map',
      '1:a',
      // H264 baseline and AAC, as OBS sends: the ingest's HLS packaging copies them without transcoding.
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-tune',
      'zerolatency',
      '-profile:v',
      'baseline',
      // testsrc is 4:4:4, which baseline cannot carry.
      '-pix_fmt',
      'yuv420p',
      // A key frame every second, so HLS segments of about a second can be cut.
      '-g',
      String(rate),
      '-keyint_min',
      String(rate),
      '-sc_threshold',
      '0',
      '-b:v',
      '400k',
      '-c:a',
      'aac',
      '-b:a',
      '64k',
      '-ac',
      '1',
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
