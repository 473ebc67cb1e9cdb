/**
 * The Theta simulator's HLS packaging: for each live session, ffmpeg reads the publisher's stream back from the
 * RTMP ingest and writes an HLS playlist and segments into a temporary folder of its own, which the simulator serves
 * under a new random path. `-c copy` only repackages, so the publisher must send H264 and AAC (OBS does, and so does
 * the test-pattern publisher).
 *
 * Everything is bounded: ffmpeg gets a few seconds to finish by itself when the publish ends, then SIGINT, then
 * SIGKILL; an ended session stays served for a short while (a player still plays its last segments and reads the
 * end of the playlist), then its folder is removed; close() kills and removes everything.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const hlsPlaylistName = 'index.m3u8';
export const hlsPlaylistContentType = 'application/vnd.apple.mpegurl';
export const hlsSegmentContentType = 'video/mp2t';

export interface HlsOutputOptions {
  /** The ffmpeg binary; default `ffmpeg` from the PATH. */
  ffmpegPath?: string;
  /** Where the per-session folders are made; default the system's temporary folder. */
  root?: string;
  /** How long an ended session stays served before its folder is removed; default 30 s. */
  retentionMs?: number;
  /** How long ffmpeg may take to end the playlist by itself once the publish is over; default 3 s. */
  finishGraceMs?: number;
  /** How long ffmpeg gets after SIGINT before SIGKILL; default 2 s. */
  killGraceMs?: number;
}

/** One served file. */
export interface HlsFile {
  contentType: string;
  body: Buffer;
}

interface Session {
  token: string;
  /** Null for a session without a publisher: an in-memory playlist without segments. */
  dir: string | null;
  child: ChildProcess | null;
  exited: Promise<void>;
  ended: boolean;
  timers: NodeJS.Timeout[];
  stderr: string;
}

const maxRetainedSessions = 8;
const maxStderrChars = 4000;
const servedName = /^[A-Za-z0-9_-]{1,64}\.(m3u8|ts)$/;

/** The HLS sessions of one simulator. */
export class HlsOutputs {
  private readonly sessions = new Map<string, Session>();
  private readonly ffmpegPath: string;
  private readonly root: string;
  private readonly retentionMs: number;
  private readonly finishGraceMs: number;
  private readonly killGraceMs: number;
  private closed = false;
  private warned = false;

  constructor(options: HlsOutputOptions = {}) {
    this.ffmpegPath = options.ffmpegPath ?? 'ffmpeg';
    this.root = options.root ?? tmpdir();
    this.retentionMs = options.retentionMs ?? 30_000;
    this.finishGraceMs = options.finishGraceMs ?? 3000;
    this.killGraceMs = options.killGraceMs ?? 2000;
  }

  /**
   * Starts packaging the RTMP stream at `inputUrl`; returns the session's token (its path segment).
   * The playlist answers 404 until ffmpeg has written it.
   */
  startFromRtmp(inputUrl: string): string {
    if (this.closed) return this.startPlaceholder();
    let dir: string;
    try {
      dir = mkdtempSync(join(this.root, 'theta-simulator-hls-'));
    } catch (error) {
      // The stream still goes live; only its playlist stays empty, and the reason is said once.
      this.warn(`cannot make an HLS folder in ${this.root} (${(error as Error).message})`);
      return this.startPlaceholder();
    }
    const session = this.add(dir);
    const child = spawn(
      this.ffmpegPath,
      [
        '-hide_banner',
        '-nostdin',
        '-loglevel',
        'error',
        // Gives up on an input that sends nothing for 15 s, whatever happens to the publish.
        '-rw_timeout',
        '15000000',
        '-i',
        inputUrl,
        '-c',
        'copy',
        '-f',
        'hls',
        '-hls_time',
        '1',
        '-hls_list_size',
        '6',
        // program_date_time lets a player tell how far behind live it is; temp_file never exposes a partial segment.
        '-hls_flags',
        'delete_segments+independent_segments+program_date_time+temp_file',
        '-hls_segment_filename',
        join(dir, 'segment-%05d.ts'),
        join(dir, hlsPlaylistName),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    session.child = child;
    child.stderr?.on('data', (chunk: Buffer) => {
      session.stderr = (session.stderr + chunk.toString()).slice(-maxStderrChars);
    });
    session.exited = new Promise<void>((resolve) => {
      child.once('error', (error) => {
        session.stderr += String(error);
        this.warn(`ffmpeg could not start (${error.message})`);
        resolve();
      });
      child.once('exit', () => resolve());
    });
    return session.token;
  }

  /** A live session without a publisher (a status forced on): a live playlist that never gets a segment. */
  startPlaceholder(): string {
    return this.add(null).token;
  }

  /**
   * The publish is over: the playlist must end. ffmpeg ends it by itself when its input ends; one that does not
   * (its input never started, or hangs) is interrupted, which also writes the end of the playlist.
   */
  end(token: string): void {
    const session = this.sessions.get(token);
    if (!session || session.ended) return;
    session.ended = true;
    const { child } = session;
    if (child) {
      const interrupt = setTimeout(() => {
        signal(child, 'SIGINT');
        const kill = setTimeout(() => signal(child, 'SIGKILL'), this.killGraceMs);
        kill.unref();
        session.timers.push(kill);
      }, this.finishGraceMs);
      interrupt.unref();
      session.timers.push(interrupt);
    }
    const expiry = setTimeout(() => void this.remove(session), this.retentionMs);
    expiry.unref();
    session.timers.push(expiry);
    this.trimEnded();
  }

  /** A file of a session, or undefined when there is no such session or file (yet or any more). */
  async read(token: string, name: string): Promise<HlsFile | undefined> {
    const session = this.sessions.get(token);
    const match = servedName.exec(name);
    if (!session || !match) return undefined;
    if (session.dir === null) {
      if (name !== hlsPlaylistName) return undefined;
      const playlist = `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n${session.ended ? '#EXT-X-ENDLIST\n' : ''}`;
      return { contentType: hlsPlaylistContentType, body: Buffer.from(playlist) };
    }
    try {
      const body = await readFile(join(session.dir, name));
      return { contentType: match[1] === 'm3u8' ? hlsPlaylistContentType : hlsSegmentContentType, body };
    } catch {
      return undefined;
    }
  }

  /** The folders of the sessions still held, for tests and diagnostics. */
  directories(): string[] {
    return [...this.sessions.values()].flatMap((session) => (session.dir ? [session.dir] : []));
  }

  /** What ffmpeg last reported for a session, for diagnostics. */
  errorsOf(token: string): string | undefined {
    return this.sessions.get(token)?.stderr;
  }

  /** Ends every session, stops every ffmpeg (SIGKILL after the grace) and removes every folder. */
  async close(): Promise<void> {
    this.closed = true;
    const sessions = [...this.sessions.values()];
    for (const session of sessions) {
      session.ended = true;
      if (session.child) signal(session.child, 'SIGINT');
    }
    await Promise.all(sessions.map((session) => this.remove(session)));
  }

  private add(dir: string | null): Session {
    const session: Session = {
      token: randomBytes(12).toString('hex'),
      dir,
      child: null,
      exited: Promise.resolve(),
      ended: false,
      timers: [],
      stderr: '',
    };
    this.sessions.set(session.token, session);
    return session;
  }

  /** Stops the session's ffmpeg (SIGKILL after the grace) and removes its folder. */
  private async remove(session: Session): Promise<void> {
    for (const timer of session.timers) clearTimeout(timer);
    session.timers.length = 0;
    const { child } = session;
    if (child && isRunning(child)) {
      signal(child, 'SIGINT');
      const kill = setTimeout(() => signal(child, 'SIGKILL'), this.killGraceMs);
      await session.exited;
      clearTimeout(kill);
    }
    await session.exited;
    if (this.sessions.get(session.token) === session) this.sessions.delete(session.token);
    if (session.dir) await rm(session.dir, { recursive: true, force: true });
  }

  /** Keeps disk use bounded when streams start and stop often: the oldest ended sessions go first. */
  private trimEnded(): void {
    const ended = [...this.sessions.values()].filter((session) => session.ended);
    for (const session of ended.slice(0, Math.max(0, ended.length - maxRetainedSessions))) void this.remove(session);
  }

  /** Says once why live streams have no HLS: the simulator keeps working without it. */
  private warn(problem: string): void {
    if (this.warned) return;
    this.warned = true;
    process.stderr.write(`theta simulator: ${problem}; playlists of live streams will stay empty or answer 404\n`);
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined;
}

function signal(child: ChildProcess, name: NodeJS.Signals): void {
  if (isRunning(child)) child.kill(name);
}
