/**
 * Session-description edits the built-in connector makes, as Kit's own client makes them: remote candidates pointed
 * at the route, the requested picture size announced in the offer, bitrate limits and stereo audio in the answer,
 * codec preference, and the NVIDIA stream-parameter text (`nvstSdp`) exchanged next to the SDP.
 */

/**
 * `sdp` with each section's lines replaced by what `edit` makes of them, and CRLF line ends. Section 0 is the session
 * part; each further one starts with its `m=` line. `video` is true for the first video section only: Kit's client
 * edits that one only.
 */
function editSections(sdp: string, edit: (lines: string[], index: number, video: boolean) => string[]): string {
  const sections: string[][] = [[]];
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) sections.push([]);
    sections[sections.length - 1].push(line);
  }
  const video = sections.findIndex((lines, index) => index && lines[0].startsWith('m=video '));
  return sections.flatMap((lines, index) => edit(lines, index, index === video)).join('\r\n');
}

/** Payload types whose `a=rtpmap` encoding name matches `codec` (`a=rtpmap:<pt> <name>/<clock>`). */
function payloadTypes(lines: string[], codec: RegExp): Set<string | undefined> {
  const types = new Set<string | undefined>();
  for (const line of lines) {
    const match = /^a=rtpmap:(\d+) ([^/\s]+)\//.exec(line);
    if (match && codec.test(match[2])) types.add(match[1]);
  }
  return types;
}

/** The payload type of an `a=fmtp:<pt> ...` line. */
const fmtpType = (line: string) => /^a=fmtp:(\d+) /.exec(line)?.[1];

/** A positive integer from a setting, or `fallback` when it is not one. */
const positive = (value: number, fallback: number) => (Number.isFinite(value) && value >= 1 ? Math.round(value) : fallback);

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

/** A section's lines with its candidates rewritten: see {@link rewriteSdpCandidates}. */
function rewriteCandidateLines(lines: string[], host: string, port: number | undefined): string[] {
  const seen = new Set<string>();
  return lines.flatMap((line) => {
    if (!line.startsWith('a=candidate:')) return line;
    const rewritten = rewriteCandidate(line, host, port);
    // Component, transport, priority, address and port: the foundation alone does not make a new path.
    const key = rewritten?.split(' ').slice(1, 6).join(' ');
    if (key === undefined || seen.has(key)) return [];
    seen.add(key);
    return `a=${rewritten}`;
  });
}

/**
 * Rewrites every `a=candidate` line (see {@link rewriteCandidate}), leaving out non-UDP candidates and the
 * duplicates the rewrite creates within a media section.
 */
export function rewriteSdpCandidates(sdp: string, host: string, port: number | undefined): string {
  return editSections(sdp, (lines) => rewriteCandidateLines(lines, host, port));
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
  // The lower bounds are Kit's (960x540@30) unless the request is smaller, so no range is ever inverted; they are also
  // what an unusable setting falls back to.
  const range = (value: number, floor: number) => {
    const top = positive(value, floor);
    return `[${Math.min(floor, top)}:${top}]`;
  };
  const ranges = `send [x=${range(options.width, 960)},y=${range(options.height, 540)},fps=${range(options.fps, 30)}]`;
  return editSections(sdp, (lines, _, video) => {
    // Rewritten lines hold no line break, so the sections stay as they were.
    lines = rewriteCandidateLines(lines, options.host, options.mediaPort);
    if (!video || lines.some((line) => line.startsWith('a=imageattr'))) return lines;
    const types = payloadTypes(lines, /^H26[45]$/i);
    return lines.flatMap((line) => {
      const pt = fmtpType(line);
      return types.has(pt) ? [line, `a=imageattr:${pt} ${ranges}`] : line;
    });
  });
}

/**
 * The browser's answer as sent to the server: `b=AS:<max>` in the video section (after its `i=`/`c=` lines,
 * replacing a `b=AS` already there), Chrome's bitrate hints on each H264 `a=fmtp`, and `stereo=1` on Opus.
 */
export function mungeAnswer(sdp: string, options: { maxBitrateKbps: number }): string {
  const { max, min, start } = bitrateRange(options.maxBitrateKbps);
  return editSections(sdp, (lines, index, video) => {
    if (!index) return lines;
    const h264 = payloadTypes(video ? lines : [], /^H264$/i);
    const opus = payloadTypes(lines, /^opus$/i);
    lines = lines.map((line) => {
      const pt = fmtpType(line);
      if (h264.has(pt) && !line.includes('x-google-max-bitrate'))
        return `${line};x-google-max-bitrate=${max};x-google-min-bitrate=${min};x-google-start-bitrate=${start}`;
      return opus.has(pt) && !/[ ;]stereo=/.test(line) ? `${line};stereo=1` : line;
    });
    if (video) {
      let at = 1;
      while (/^[ic]=/.test(lines[at])) at++;
      let existing = at;
      while (/^b=(?!AS:)/.test(lines[existing])) existing++;
      const replace = /^b=AS:/.test(lines[existing]);
      lines.splice(replace ? existing : at, +replace, `b=AS:${max}`);
    }
    return lines;
  });
}

/**
 * Receive codecs for `setCodecPreferences`: H264 first (Kit's client falls back to it, and every browser decodes it),
 * then H265, then AV1, then everything else (rtx, red, ulpfec, flexfec, other video codecs) in the browser's order.
 */
export function preferCodecs<T extends { mimeType: string }>(codecs: readonly T[]): T[] {
  // 0 H264, 1 H265 (or HEVC), 2 AV1, and 2^32 - 1 (from -1) for the rest.
  const rank = ({ mimeType }: T) =>
    ['H264', 'H265', 'AV1'].indexOf(
      mimeType
        .replace(/^[^/]*\//, '')
        .toUpperCase()
        .replace(/^HEVC$/, 'H265'),
    ) >>> 0;
  // Array sort is stable, so each codec's profiles keep the browser's order.
  return [...codecs].sort((a, b) => rank(a) - rank(b));
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

/**
 * Reads an `nvstSdp`; `undefined` when it is no string, when `o=` or `t=` is empty or misplaced, or when a media section
 * lacks its `a=msid`.
 */
export function parseNvstSdp(text: unknown): NvstSdp | undefined {
  if (typeof text !== 'string') return undefined;
  const sdp: NvstSdp = { origin: '', time: '', attributes: new Map(), media: [] };
  /** The media section being read; its `msid` stays `undefined` until its `a=msid` line. */
  let section: Partial<NvstSdpSection> | undefined;
  for (const line of text.split(/\r?\n/)) {
    // `<kind>=<value>`; an `a=` value is `<key>:<rest>`, split at the first colon only: values may hold colons.
    const [, kind, value, key, rest] = /^(.)=(([^:]*):?(.*))/s.exec(line) ?? [];
    if (kind === 'm') {
      section = { type: value.split(' ')[0], attributes: new Map() };
      sdp.media.push(section as NvstSdpSection);
    } else if (kind === 'a' && value.includes(':')) {
      // Attributes without a value carry nothing.
      if (key === 'msid' && section) {
        if (section.msid !== undefined) return undefined;
        section.msid = rest;
      } else {
        (section?.attributes ?? sdp.attributes).set(key, rest);
      }
    } else if (kind === 'o' || kind === 't') {
      if (section) return undefined;
      sdp[kind === 'o' ? 'origin' : 'time'] = value;
    }
  }
  return sdp.origin && sdp.time && sdp.media.every((media) => media.type && media.msid) ? sdp : undefined;
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
  let video = Object.entries({
    'video.clientViewportWd': positive(settings.width, 1920),
    'video.clientViewportHt': positive(settings.height, 1080),
    'video.maxFPS': positive(settings.fps, 60),
    'video.initialBitrateKbps': start,
    'vqos.bw.maximumBitrateKbps': max,
    'vqos.bw.minimumBitrateKbps': min,
  });
  /** The value after `a=<prefix>` on the first answer line that has one (lines end at LF or CRLF only). */
  const find = (prefix: string) => new RegExp(`(?<![^\\n])a=${prefix}(\\S+)`).exec(answerSdp)?.[1];
  const lines = ['v=0', `o=${offer.origin}`, 's=-', `t=${offer.time}`];
  // Each line only when the answer has the value: an empty one would be worse than none.
  for (const [key, value] of [
    ['icePassword', find('ice-pwd:')],
    ['iceUserNameFragment', find('ice-ufrag:')],
    ['dtlsFingerprint', find('fingerprint:\\S+ ')?.toUpperCase()],
  ]) {
    if (value) lines.push(`a=general.${key}:${value}`);
  }
  for (const { type, msid, attributes } of offer.media) {
    lines.push(`m=${type} 0 RTP/AVP`, `a=msid:${msid}`);
    if (type !== 'video') continue;
    for (const [key, value] of video) if (attributes.get(key) !== String(value)) lines.push(`a=${key}:${value}`);
    video = [];
  }
  return `${lines.join('\r\n')}\r\n`;
}
