/**
 * Real streaming media for the Kit App Streaming simulator.
 *
 * Each ready session gets a WebSocket signaling server that enforces Kit's
 * envelope, a werift peer that sends a looped H264 test pattern and Kit's data
 * channels, a simulated Kit app answering app messages and input, and TCP/UDP
 * forwarders in front of both, standing in for the cluster load balancer: routes
 * advertise the forwarders' source ports, and the destination ports answer
 * nothing else.
 *
 * A client must rewrite the candidates in the server's offer: every
 * `a=candidate` line names the media destination port on the host address, and
 * has to name the route IP and the media source port instead.
 */
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import type { KitMediaFactory, KitMediaSessionInfo } from '../kit-simulator.js';
import { readH264File } from './h264.js';
import type { H264AccessUnit } from './h264.js';
import { bindUdp, closeUdp } from './port-forwarder.js';
import { KitMediaSession } from './session.js';
import type { KitMediaSessionHandle } from './session.js';

export { KitMediaSession, KIT_MEDIA_FAULTS, KIT_MEDIA_INSPECTIONS } from './session.js';
export type { KitMediaFault, KitMediaSessionHandle } from './session.js';
export type { KitAppMessage } from './kit-app.js';
export { rewriteOfferCandidates } from './candidate-rewrite.js';

/** The committed H264 clip (Annex B, constrained baseline): 320x240, 30 fps, 2 s, a key frame every second. */
export const DEFAULT_TEST_PATTERN_PATH = fileURLToPath(new URL('./test-pattern.h264', import.meta.url));

export interface KitMediaFactoryOptions {
  /** Loopback address every socket binds to; default '127.0.0.1'. */
  host?: string;
  /**
   * Address the forwarders connect from; the servers behind them accept only it.
   * Default '127.0.0.2'. `null` turns the restriction off (destination ports reachable),
   * as does an address this machine cannot bind (checked once, with a log line).
   */
  upstreamAddress?: string | null;
  /** Signaling heartbeat period; default 5000 ms. */
  heartbeatMs?: number;
  /** H264 Annex B clip to loop; default {@link DEFAULT_TEST_PATTERN_PATH}. */
  clipPath?: string;
  /** Default 30. */
  frameRate?: number;
  /** Size of the clip's pictures; default 320x240, the committed clip's. */
  streamWidth?: number;
  streamHeight?: number;
  /** Offer as an ICE-lite agent, as Kit's server is; default true. */
  iceLite?: boolean;
  /** Input protocol version announced on `input_channel_v1`: 2 (plain) or 3 (framed); default 3. */
  inputVersion?: 2 | 3;
  /** Send an `nvstSdp` with the offer and require one in the answer; default false. */
  nvstSdp?: boolean;
  /** Require this bearer token in the signaling subprotocol; default none. */
  accessToken?: string;
  /**
   * A connected peer that hears nothing from its client (browsers send consent
   * checks every few seconds) for this long is closed; default 15000 ms.
   */
  peerIdleTimeoutMs?: number;
  /** Bounded retries when a port cannot be bound; default 5. */
  portAttempts?: number;
  log?: (line: string) => void;
}

export type KitMediaSessionFactory = (session: KitMediaSessionInfo) => Promise<KitMediaSessionHandle>;

export function createKitMediaFactory(options: KitMediaFactoryOptions = {}): KitMediaSessionFactory & KitMediaFactory {
  const host = options.host ?? '127.0.0.1';
  const clipPath = options.clipPath ?? DEFAULT_TEST_PATTERN_PATH;
  let clip: Promise<H264AccessUnit[]> | undefined;
  let upstream: Promise<string | undefined> | undefined;

  return async (session) => {
    clip ??= readH264File(clipPath);
    upstream ??= resolveUpstreamAddress(options.upstreamAddress, options.log);
    const [frames, upstreamAddress] = await Promise.all([clip, upstream]);
    if (frames.length === 0) throw new Error(`${clipPath} holds no H264 pictures`);
    return KitMediaSession.start({
      sessionId: session.id,
      ...(session.usdStageUri === undefined ? {} : { usdStageUri: session.usdStageUri }),
      host,
      ...(upstreamAddress === undefined ? {} : { upstreamAddress }),
      heartbeatMs: options.heartbeatMs ?? 5000,
      frames,
      frameRate: options.frameRate ?? 30,
      streamWidth: options.streamWidth ?? 320,
      streamHeight: options.streamHeight ?? 240,
      iceLite: options.iceLite ?? true,
      inputVersion: options.inputVersion ?? 3,
      nvstSdp: options.nvstSdp ?? false,
      ...(options.accessToken === undefined ? {} : { accessToken: options.accessToken }),
      peerIdleTimeoutMs: options.peerIdleTimeoutMs ?? 15_000,
      portAttempts: options.portAttempts ?? 5,
      ...(options.log === undefined ? {} : { log: options.log }),
    });
  };
}

/** The upstream address to use, or undefined when the restriction is off. */
async function resolveUpstreamAddress(
  requested: string | null | undefined,
  log: ((line: string) => void) | undefined,
): Promise<string | undefined> {
  if (requested === null) return undefined;
  const address = requested ?? '127.0.0.2';
  const probe = dgram.createSocket('udp4');
  probe.on('error', () => {});
  try {
    await bindUdp(probe, 0, address);
    return address;
  } catch (error) {
    // e.g. macOS, which only configures 127.0.0.1 on the loopback interface.
    log?.(
      `cannot bind ${address} (${error instanceof Error ? error.message : String(error)}); ` + 'destination ports stay reachable directly',
    );
    return undefined;
  } finally {
    await closeUdp(probe);
  }
}
