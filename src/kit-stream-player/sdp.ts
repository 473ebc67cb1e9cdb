/**
 * Session-description edits the built-in connector makes, as Kit's own client makes them: remote candidates pointed
 * at the route, the requested picture size announced in the offer, bitrate limits and stereo audio in the answer,
 * codec preference, and the NVIDIA stream-parameter text (`nvstSdp`) exchanged next to the SDP.
 */

/** SDP lines grouped by section: index 0 is the session part, each further group starts with its `m=` line. */
function toSections(sdp: string): string[][] {
  const sections: string[][] = [[]];
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) sections.push([]);
    sections[sections.length - 1].push(line);
  }
  return sections;
}

function fromSections(sections: string[][]): string {
  return sections.flat().join('\r\n');
}

/** Index of the first video section (Kit's client edits that one only), or -1. */
function videoSection(sections: string[][]): number {
  return sections.findIndex((section, index) => index > 0 && section[0].startsWith('m=video '));
}

/** Payload types whose `a=rtpmap` encoding name matches `codec` (`a=rtpmap:<pt> <name>/<clock>`). */
function payloadTypes(section: string[], codec: RegExp): Set<string> {
  const types = new Set<string>();
  for (const line of section) {
    const match = /^a=rtpmap:(\d+) ([^/\s]+)\//.exec(line);
    if (match && codec.test(match[2])) types.add(match[1]);
  }
  return types;
}

/** The payload type of an `a=fmtp:<pt> ...` line. */
function fmtpType(line: string): string | undefined {
  return /^a=fmtp:(\d+) /.exec(line)?.[1];
}

/** A positive integer from a setting, or `fallback` when it is not one. */
function positive(value: number, fallback: number): number {
  return Number.isFinite(value) && value >= 1 ? Math.round(value) : fallback;
}

/**
 * The bitrate window, kbps. Kit's client uses max = max(4000, configured), min = 4000, start = max(4000, max / 4).
 * A configured maximum below 4000 is a user asking for less, so it is kept, and the floor comes down with it:
 * min = min(4000, max), start = max(min, round(max / 4)), which keeps min <= start <= max in every case.
 */
export function bitrateRange(maxBitrateKbps: number): { max: number; min: number; start: number } {
  const max = positive(maxBitrateKbps, 4000);
  const min = Math.min(4000, max);
  return { max, min, start: Math.max(min, Math.round(max / 4)) };
}

/**
 * One remote candidate pointed at the route: field 4 (address) becomes `host`, field 5 (port) `port` when given;
 * the rest is kept. Non-UDP candidates give `undefined`: the route forwards UDP only. An `a=` prefix is accepted
 * and dropped.
 */
export function rewriteCandidate(candidate: string, host: string, port: number | undefined): string | undefined {
  const parts = candidate.trim().replace(/^a=/, '').split(/\s+/);
  // candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
  if (parts.length < 8 || parts[2].toLowerCase() !== 'udp') return undefined;
  parts[4] = host;
  if (port !== undefined) parts[5] = String(port);
  return parts.join(' ');
}

/**
 * Rewrites every `a=candidate` line (see {@link rewriteCandidate}), leaving out non-UDP candidates and the
 * duplicates the rewrite creates within a media section.
 */
export function rewriteSdpCandidates(sdp: string, host: string, port: number | undefined): string {
  return fromSections(
    toSections(sdp).map((section) => {
      const seen = new Set<string>();
      return section.flatMap((line) => {
        if (!line.startsWith('a=candidate:')) return [line];
        const rewritten = rewriteCandidate(line, host, port);
        // Component, transport, priority, address and port: the foundation alone does not make a new path.
        const key = rewritten?.split(' ').slice(1, 6).join(' ');
        if (key === undefined || seen.has(key)) return [];
        seen.add(key);
        return [`a=${rewritten}`];
      });
    }),
  );
}

export interface OfferOptions {
  host: string;
  mediaPort?: number;
  width: number;
  height: number;
  fps: number;
}

/**
 * The server's offer as the browser should see it: candidates rewritten to the route, and, when the video section
 * has no `a=imageattr`, one after each H264/H265 `a=fmtp` line announcing the requested size and frame rate.
 */
export function mungeOffer(sdp: string, options: OfferOptions): string {
  const width = positive(options.width, 960);
  const height = positive(options.height, 540);
  const fps = positive(options.fps, 30);
  // The lower bounds are Kit's (960x540@30) unless the request is smaller, so no range is ever inverted.
  const attribute = (pt: string) =>
    `a=imageattr:${pt} send [x=[${Math.min(960, width)}:${width}],y=[${Math.min(540, height)}:${height}],` +
    `fps=[${Math.min(30, fps)}:${fps}]]`;
  const sections = toSections(rewriteSdpCandidates(sdp, options.host, options.mediaPort));
  const index = videoSection(sections);
  const video = sections[index];
  if (video && !video.some((line) => line.startsWith('a=imageattr'))) {
    const types = payloadTypes(video, /^H26[45]$/i);
    sections[index] = video.flatMap((line) => {
      const pt = fmtpType(line);
      return pt !== undefined && types.has(pt) ? [line, attribute(pt)] : [line];
    });
  }
  return fromSections(sections);
}

/**
 * The browser's answer as sent to the server: `b=AS:<max>` in the video section (after its `i=`/`c=` lines,
 * replacing a `b=AS` already there), Chrome's bitrate hints on each H264 `a=fmtp`, and `stereo=1` on Opus.
 */
export function mungeAnswer(sdp: string, options: { maxBitrateKbps: number }): string {
  const { max, min, start } = bitrateRange(options.maxBitrateKbps);
  const hints = `;x-google-max-bitrate=${max};x-google-min-bitrate=${min};x-google-start-bitrate=${start}`;
  const sections = toSections(sdp);
  const videoIndex = videoSection(sections);
  for (let index = 1; index < sections.length; index++) {
    const section = sections[index];
    const h264 = index === videoIndex ? payloadTypes(section, /^H264$/i) : new Set<string>();
    const opus = payloadTypes(section, /^opus$/i);
    sections[index] = section.map((line) => {
      const pt = fmtpType(line);
      if (pt === undefined) return line;
      if (h264.has(pt) && !line.includes('x-google-max-bitrate')) return line + hints;
      if (opus.has(pt) && !/[ ;]stereo=/.test(line)) return `${line};stereo=1`;
      return line;
    });
  }
  const video = sections[videoIndex];
  if (video) {
    let at = 1;
    while (at < video.length && /^[ic]=/.test(video[at])) at++;
    let existing = at;
    while (video[existing]?.startsWith('b=') && !video[existing].startsWith('b=AS:')) existing++;
    if (video[existing]?.startsWith('b=AS:')) video[existing] = `b=AS:${max}`;
    else video.splice(at, 0, `b=AS:${max}`);
  }
  return fromSections(sections);
}

const codecRank = (mimeType: string): number => {
  const name = mimeType.slice(mimeType.indexOf('/') + 1).toUpperCase();
  return name === 'H264' ? 0 : name === 'H265' || name === 'HEVC' ? 1 : name === 'AV1' ? 2 : 3;
};

/**
 * Receive codecs for `setCodecPreferences`: H264 first (Kit's client falls back to it, and every browser decodes it),
 * then H265, then AV1, then everything else (rtx, red, ulpfec, flexfec, other video codecs) in the browser's order.
 */
export function preferCodecs<T extends { mimeType: string }>(codecs: readonly T[]): T[] {
  // Array sort is stable, so each codec's profiles keep the browser's order.
  return [...codecs].sort((a, b) => codecRank(a.mimeType) - codecRank(b.mimeType));
}

export interface NvstSdpSection {
  /** `video`, `audio`, `application` or `mic`. */
  type: string;
  msid: string;
  attributes: Map<string, string>;
}

/** NVIDIA's stream-parameter text: `o=`, `t=`, session `a=key:value` pairs, and media sections named by `a=msid`. */
export interface NvstSdp {
  origin: string;
  time: string;
  attributes: Map<string, string>;
  media: NvstSdpSection[];
}

/** Reads an `nvstSdp`; `undefined` when `o=` or `t=` is empty or misplaced, or a media section lacks its `a=msid`. */
export function parseNvstSdp(text: string): NvstSdp | undefined {
  if (typeof text !== 'string') return undefined;
  const sdp: NvstSdp = { origin: '', time: '', attributes: new Map(), media: [] };
  const media: Partial<NvstSdpSection>[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line[1] !== '=') continue;
    const value = line.slice(2);
    const section = media[media.length - 1];
    if (line[0] === 'm') {
      media.push({ type: value.split(' ')[0], attributes: new Map() });
    } else if (line[0] === 'a') {
      // Split at the first colon only: values may hold colons. Attributes without a value carry nothing.
      const colon = value.indexOf(':');
      if (colon < 0) continue;
      const key = value.slice(0, colon);
      if (key === 'msid' && section) {
        if (section.msid !== undefined) return undefined;
        section.msid = value.slice(colon + 1);
      } else {
        (section?.attributes ?? sdp.attributes).set(key, value.slice(colon + 1));
      }
    } else if (line[0] === 'o' || line[0] === 't') {
      if (section) return undefined;
      if (line[0] === 'o') sdp.origin = value;
      else sdp.time = value;
    }
  }
  if (!sdp.origin || !sdp.time) return undefined;
  for (const { type, msid, attributes } of media) {
    if (!type || !msid || !attributes) return undefined;
    sdp.media.push({ type, msid, attributes });
  }
  return sdp;
}

export interface NvstSettings {
  width: number;
  height: number;
  fps: number;
  maxBitrateKbps: number;
}

/**
 * The client's `nvstSdp`: the server's `o=` and `t=`, the ICE credentials and DTLS fingerprint of the browser's
 * answer, and per media section (same type and msid as offered) the client's settings whose value differs from the
 * server's. Only the first video section gets settings: the picture size, frame rate and bitrate window.
 */
export function answerNvstSdp(offer: NvstSdp, answerSdp: string, settings: NvstSettings): string {
  const { max, min, start } = bitrateRange(settings.maxBitrateKbps);
  const video: [string, number][] = [
    ['video.clientViewportWd', positive(settings.width, 1920)],
    ['video.clientViewportHt', positive(settings.height, 1080)],
    ['video.maxFPS', positive(settings.fps, 60)],
    ['video.initialBitrateKbps', start],
    ['vqos.bw.maximumBitrateKbps', max],
    ['vqos.bw.minimumBitrateKbps', min],
  ];
  const answer = answerSdp.split(/\r?\n/);
  const find = (pattern: RegExp) => answer.map((line) => pattern.exec(line)?.[1]).find((value) => value !== undefined);
  const lines = ['v=0', `o=${offer.origin}`, 's=-', `t=${offer.time}`];
  const password = find(/^a=ice-pwd:(\S+)/);
  const userName = find(/^a=ice-ufrag:(\S+)/);
  const fingerprint = find(/^a=fingerprint:\S+ (\S+)/);
  // Each line only when the answer has the value: an empty one would be worse than none.
  if (password) lines.push(`a=general.icePassword:${password}`);
  if (userName) lines.push(`a=general.iceUserNameFragment:${userName}`);
  if (fingerprint) lines.push(`a=general.dtlsFingerprint:${fingerprint.toUpperCase()}`);
  let videoSettings = video;
  for (const section of offer.media) {
    lines.push(`m=${section.type} 0 RTP/AVP`, `a=msid:${section.msid}`);
    if (section.type !== 'video') continue;
    for (const [key, value] of videoSettings) if (section.attributes.get(key) !== String(value)) lines.push(`a=${key}:${value}`);
    videoSettings = [];
  }
  return `${lines.join('\r\n')}\r\n`;
}
