/**
 * SDP edits of the built-in Kit connector: candidate rewrite to the route, imageattr in the offer, bitrate and
 * stereo settings in the answer, codec preference, and the nvstSdp exchange.
 *
 * Run: node --import tsx --test test/kit-stream-player/sdp.node.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  answerNvstSdp,
  bitrateRange,
  mungeAnswer,
  mungeOffer,
  parseNvstSdp,
  preferCodecs,
  rewriteCandidate,
  rewriteSdpCandidates,
} from '../../src/kit-stream-player/sdp.js';
import { seededRandom } from '../support/random.js';

const sdp = (...lines: string[]) => `${lines.join('\r\n')}\r\n`;

const FINGERPRINT = 'aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99';

/** An offer as a Kit server would make it: ICE-lite, H264 + H265 + VP9 video, Opus audio, data channels. */
const OFFER = sdp(
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1 2',
  'a=ice-lite',
  'a=msid-semantic: WMS app_media_stream',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100',
  'c=IN IP4 0.0.0.0',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=candidate:1 1 udp 2130706431 10.1.2.3 47998 typ host',
  'a=candidate:2 1 tcp 1518280447 10.1.2.3 47999 typ host tcptype passive',
  'a=candidate:3 1 udp 1694498815 198.51.100.4 47998 typ srflx raddr 10.1.2.3 rport 47998',
  'a=ice-ufrag:srvU',
  'a=ice-pwd:serverpassword0123456789ab',
  `a=fingerprint:sha-256 ${FINGERPRINT.toUpperCase()}`,
  'a=setup:actpass',
  'a=mid:0',
  'a=sendonly',
  'a=rtcp-mux',
  'a=rtpmap:96 H264/90000',
  'a=rtcp-fb:96 nack',
  'a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:98 H265/90000',
  'a=fmtp:98 level-id=93;profile-id=1;tier-flag=0;tx-mode=SRST',
  'a=rtpmap:99 VP9/90000',
  'a=fmtp:99 profile-id=0',
  'a=rtpmap:100 flexfec-03/90000',
  'a=fmtp:100 repair-window=10000000',
  'a=msid:app_media_stream video0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=candidate:1 1 udp 2130706431 10.1.2.3 47998 typ host',
  'a=mid:1',
  'a=sendonly',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=msid:app_media_stream audio0',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=mid:2',
  'a=sctp-port:5000',
);

/** Chrome's answer to it, before munging. */
const ANSWER = sdp(
  'v=0',
  'o=- 8301539416539036582 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1 2',
  'a=msid-semantic: WMS',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97',
  'c=IN IP4 0.0.0.0',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=ice-ufrag:Xy9z',
  'a=ice-pwd:clientPassword+/0123456789ab',
  'a=ice-options:trickle',
  `a=fingerprint:sha-256 ${FINGERPRINT}`,
  'a=setup:active',
  'a=mid:0',
  'a=recvonly',
  'a=rtcp-mux',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=mid:1',
  'a=recvonly',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=mid:2',
  'a=sctp-port:5000',
);

/** Every line of a well-formed SDP: `<letter>=...`, CRLF line ends, one final CRLF. */
function assertWellFormed(text: string): void {
  assert.ok(text.endsWith('\r\n'), 'ends with CRLF');
  assert.doesNotMatch(text.replace(/\r\n/g, ''), /[\r\n]/, 'only CRLF line ends');
  for (const line of text.split('\r\n').slice(0, -1)) assert.match(line, /^[a-z]=\S/, line);
}

/** The lines of the section starting with `m=<kind>`. */
function section(text: string, kind: string): string[] {
  const lines = text.split('\r\n');
  const start = lines.findIndex((line) => line.startsWith(`m=${kind} `));
  const end = lines.findIndex((line, index) => index > start && line.startsWith('m='));
  return lines.slice(start, end < 0 ? undefined : end);
}

const random = seededRandom;

describe('rewriteCandidate', () => {
  it('replaces the address and port fields and keeps the rest', () => {
    assert.equal(
      rewriteCandidate('candidate:1 1 udp 2130706431 10.1.2.3 47998 typ host', '203.0.113.7', 31001),
      'candidate:1 1 udp 2130706431 203.0.113.7 31001 typ host',
    );
    assert.equal(
      rewriteCandidate('a=candidate:3 1 UDP 1694498815 198.51.100.4 47998 typ srflx raddr 10.1.2.3 rport 47998', 'h.example', 5),
      'candidate:3 1 UDP 1694498815 h.example 5 typ srflx raddr 10.1.2.3 rport 47998',
    );
  });

  it('keeps the port when none is given', () => {
    assert.equal(
      rewriteCandidate('candidate:1 1 udp 1 10.1.2.3 47998 typ host', '203.0.113.7', undefined),
      'candidate:1 1 udp 1 203.0.113.7 47998 typ host',
    );
  });

  it('leaves out TCP candidates and strings too short to be candidates', () => {
    assert.equal(rewriteCandidate('candidate:2 1 tcp 1518280447 10.1.2.3 9 typ host tcptype active', 'h', 1), undefined);
    assert.equal(rewriteCandidate('candidate:1 1 udp 1 10.1.2.3 47998', 'h', 1), undefined);
    assert.equal(rewriteCandidate('', 'h', 1), undefined);
  });
});

describe('rewriteSdpCandidates', () => {
  it('rewrites UDP candidates, drops TCP ones and duplicates within a section, keeps CRLF', () => {
    const out = rewriteSdpCandidates(OFFER, '203.0.113.7', 31001);
    assertWellFormed(out);
    assert.deepEqual(
      section(out, 'video').filter((line) => line.startsWith('a=candidate:')),
      [
        'a=candidate:1 1 udp 2130706431 203.0.113.7 31001 typ host',
        'a=candidate:3 1 udp 1694498815 203.0.113.7 31001 typ srflx raddr 10.1.2.3 rport 47998',
      ],
    );
    const deduplicated = rewriteSdpCandidates(
      sdp('v=0', 'm=video 9 X 96', 'a=candidate:1 1 udp 5 10.0.0.1 1 typ host', 'a=candidate:9 1 udp 5 10.0.0.2 2 typ host'),
      'h',
      7,
    );
    assert.equal(deduplicated.match(/a=candidate:/g)?.length, 1, 'same component, priority, address and port after the rewrite');
    assert.deepEqual(
      section(out, 'audio').filter((line) => line.startsWith('a=candidate:')),
      ['a=candidate:1 1 udp 2130706431 203.0.113.7 31001 typ host'],
      'each section keeps its own candidates',
    );
  });
});

describe('mungeOffer', () => {
  const options = { host: '203.0.113.7', mediaPort: 31001, width: 1920, height: 1080, fps: 60 };

  it('adds imageattr after each H264 and H265 fmtp line, and rewrites candidates', () => {
    const out = mungeOffer(OFFER, options);
    assertWellFormed(out);
    const video = section(out, 'video');
    const after = (line: string) => video[video.indexOf(line) + 1];
    assert.equal(
      after('a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f'),
      'a=imageattr:96 send [x=[960:1920],y=[540:1080],fps=[30:60]]',
    );
    assert.equal(
      after('a=fmtp:98 level-id=93;profile-id=1;tier-flag=0;tx-mode=SRST'),
      'a=imageattr:98 send [x=[960:1920],y=[540:1080],fps=[30:60]]',
    );
    assert.equal(video.filter((line) => line.startsWith('a=imageattr')).length, 2, 'not for rtx, VP9 or flexfec');
    assert.ok(!out.includes('10.1.2.3 47998'));
    assert.ok(!out.includes(' tcp '));
    assert.equal(out.split('\r\n').length, OFFER.split('\r\n').length + 2 - 1, 'two lines added, one TCP candidate removed');
  });

  it('leaves imageattr alone when the video section already has one', () => {
    const withAttribute = OFFER.replace('a=rtcp-mux\r\n', 'a=rtcp-mux\r\na=imageattr:96 send [x=1280,y=720]\r\n');
    const out = mungeOffer(withAttribute, options);
    assert.equal(out.match(/a=imageattr/g)?.length, 1);
    assert.equal(out, rewriteSdpCandidates(withAttribute, options.host, options.mediaPort));
  });

  it('keeps every range in order for a picture smaller than 960x540@30', () => {
    const out = mungeOffer(OFFER, { ...options, width: 640, height: 480, fps: 24 });
    assert.ok(out.includes('a=imageattr:96 send [x=[640:640],y=[480:480],fps=[24:24]]'));
  });

  it('changes nothing but candidates in an offer without H264/H265 or without video', () => {
    const vp8 = sdp('v=0', 'm=video 9 X 99', 'a=rtpmap:99 VP8/90000', 'a=fmtp:99 x=1');
    assert.equal(mungeOffer(vp8, options), vp8);
    const audio = sdp('v=0', 'm=audio 9 X 111', 'a=rtpmap:111 opus/48000/2');
    assert.equal(mungeOffer(audio, options), audio);
  });

  it('writes CRLF line ends for an offer written with LF', () => {
    const out = mungeOffer(OFFER.replace(/\r\n/g, '\n'), options);
    assertWellFormed(out);
    assert.equal(out, mungeOffer(OFFER, options));
  });
});

describe('bitrateRange', () => {
  it('keeps min <= start <= max for any configured maximum', () => {
    assert.deepEqual(bitrateRange(20000), { max: 20000, min: 4000, start: 5000 });
    assert.deepEqual(bitrateRange(8000), { max: 8000, min: 4000, start: 4000 });
    assert.deepEqual(bitrateRange(2000), { max: 2000, min: 2000, start: 2000 });
    assert.deepEqual(bitrateRange(NaN), { max: 4000, min: 4000, start: 4000 });
    for (const max of [1, 3, 999, 3999, 4000, 4001, 15999, 16001, 100000, 0.4, -5]) {
      const range = bitrateRange(max);
      assert.ok(range.min <= range.start && range.start <= range.max, `${max}: ${JSON.stringify(range)}`);
      assert.ok(Number.isInteger(range.min) && Number.isInteger(range.start) && Number.isInteger(range.max));
    }
  });
});

describe('mungeAnswer', () => {
  it('puts b=AS after the c= line of the video section', () => {
    const out = mungeAnswer(ANSWER, { maxBitrateKbps: 20000 });
    assertWellFormed(out);
    const video = section(out, 'video');
    assert.deepEqual(video.slice(0, 3), ['m=video 9 UDP/TLS/RTP/SAVPF 96 97', 'c=IN IP4 0.0.0.0', 'b=AS:20000']);
    assert.equal(out.match(/b=AS/g)?.length, 1, 'only in the video section');
  });

  it('replaces an existing b=AS and goes after i= lines', () => {
    const answer = ANSWER.replace(
      'm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\n',
      'm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\ni=main\r\nc=IN IP4 0.0.0.0\r\nb=TIAS:1000\r\nb=AS:30\r\n',
    );
    const video = section(mungeAnswer(answer, { maxBitrateKbps: 9000 }), 'video');
    assert.deepEqual(video.slice(1, 5), ['i=main', 'c=IN IP4 0.0.0.0', 'b=TIAS:1000', 'b=AS:9000']);
    const withoutC = sdp('v=0', 'm=video 9 X 96', 'a=rtpmap:96 H264/90000');
    assert.equal(mungeAnswer(withoutC, { maxBitrateKbps: 9000 }), sdp('v=0', 'm=video 9 X 96', 'b=AS:9000', 'a=rtpmap:96 H264/90000'));
  });

  it('adds the x-google bitrate hints to H264 fmtp lines only', () => {
    const out = mungeAnswer(ANSWER, { maxBitrateKbps: 20000 });
    assert.ok(
      out.includes(
        'a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f;x-google-max-bitrate=20000;x-google-min-bitrate=4000;x-google-start-bitrate=5000\r\n',
      ),
    );
    assert.ok(out.includes('a=fmtp:97 apt=96\r\n'));
    const low = mungeAnswer(ANSWER, { maxBitrateKbps: 1500 });
    assert.ok(low.includes(';x-google-max-bitrate=1500;x-google-min-bitrate=1500;x-google-start-bitrate=1500\r\n'));
  });

  it('adds stereo=1 to Opus once, and is idempotent', () => {
    const out = mungeAnswer(ANSWER, { maxBitrateKbps: 20000 });
    assert.ok(out.includes('a=fmtp:111 minptime=10;useinbandfec=1;stereo=1\r\n'));
    assert.equal(mungeAnswer(out, { maxBitrateKbps: 20000 }), out);
  });

  it('leaves an answer without video or audio as it is', () => {
    const data = sdp('v=0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=sctp-port:5000');
    assert.equal(mungeAnswer(data, { maxBitrateKbps: 9000 }), data);
  });
});

describe('preferCodecs', () => {
  it('orders H264, H265, AV1, then the rest as given, keeping the order within a codec', () => {
    const codecs = [
      { mimeType: 'video/VP8', clockRate: 90000 },
      { mimeType: 'video/rtx', clockRate: 90000 },
      { mimeType: 'video/AV1', clockRate: 90000 },
      { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'profile-level-id=42001f' },
      { mimeType: 'video/red', clockRate: 90000 },
      { mimeType: 'video/H265', clockRate: 90000 },
      { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'profile-level-id=640c1f' },
      { mimeType: 'video/ulpfec', clockRate: 90000 },
      { mimeType: 'video/flexfec-03', clockRate: 90000 },
      { mimeType: 'video/h264', clockRate: 90000, sdpFmtpLine: 'profile-level-id=4d001f' },
    ];
    const ordered = preferCodecs(codecs);
    assert.deepEqual(
      ordered.map((codec) => `${codec.mimeType}${codec.sdpFmtpLine ? ` ${codec.sdpFmtpLine}` : ''}`),
      [
        'video/H264 profile-level-id=42001f',
        'video/H264 profile-level-id=640c1f',
        'video/h264 profile-level-id=4d001f',
        'video/H265',
        'video/AV1',
        'video/VP8',
        'video/rtx',
        'video/red',
        'video/ulpfec',
        'video/flexfec-03',
      ],
    );
    assert.equal(codecs[0].mimeType, 'video/VP8', 'the input is not reordered');
  });
});

/** An nvstSdp as §2.3 describes it: session attributes, then video, audio and application sections. */
const NVST_OFFER = [
  'v=0',
  'o=SdpTest test_id_13 14 IN IPv4 127.0.0.1',
  's=-',
  't=0 0',
  'a=general.clientCapture:0',
  'a=general.serverUrl:rtsp://10.1.2.3:48010',
  'm=video 0 RTP/AVP',
  'a=msid:fbc-video-0',
  'a=video.clientViewportWd:1920',
  'a=video.clientViewportHt:1080',
  'a=video.maxFPS:60',
  'a=video.initialBitrateKbps:12500',
  'a=vqos.bw.maximumBitrateKbps:50000',
  'a=vqos.bw.minimumBitrateKbps:4000',
  'a=packetPacing.numGroups:5',
  'm=audio 0 RTP/AVP',
  'a=msid:audio',
  'a=audio.numChannels:2',
  'm=application 0 RTP/AVP',
  'a=msid:ri',
  'a=ri.partialReliableThresholdMs:0',
  'a=ri.hidDeviceMask:0',
  '',
].join('\n');

describe('parseNvstSdp', () => {
  it('reads origin, time, session attributes and media sections', () => {
    const parsed = parseNvstSdp(NVST_OFFER);
    assert.ok(parsed);
    assert.equal(parsed.origin, 'SdpTest test_id_13 14 IN IPv4 127.0.0.1');
    assert.equal(parsed.time, '0 0');
    assert.deepEqual(
      [...parsed.attributes],
      [
        ['general.clientCapture', '0'],
        ['general.serverUrl', 'rtsp://10.1.2.3:48010'],
      ],
    );
    assert.deepEqual(
      parsed.media.map((media) => [media.type, media.msid, media.attributes.size]),
      [
        ['video', 'fbc-video-0', 7],
        ['audio', 'audio', 1],
        ['application', 'ri', 2],
      ],
    );
    assert.equal(parsed.media[0].attributes.get('vqos.bw.maximumBitrateKbps'), '50000');
    assert.deepEqual(parseNvstSdp(NVST_OFFER.replace(/\n/g, '\r\n')), parsed, 'CRLF reads the same');
  });

  it('refuses empty or misplaced o=/t= and media sections without exactly one msid', () => {
    assert.equal(parseNvstSdp(NVST_OFFER.replace('o=SdpTest test_id_13 14 IN IPv4 127.0.0.1', 'o=')), undefined);
    assert.equal(parseNvstSdp(NVST_OFFER.replace('t=0 0\n', '')), undefined);
    assert.equal(parseNvstSdp(NVST_OFFER.replace('a=msid:audio\n', '')), undefined);
    assert.equal(parseNvstSdp(NVST_OFFER.replace('a=msid:audio\n', 'a=msid:audio\na=msid:other\n')), undefined);
    assert.equal(parseNvstSdp(NVST_OFFER.replace('a=msid:ri\n', 'a=msid:ri\nt=1 2\n')), undefined);
    assert.equal(parseNvstSdp(NVST_OFFER.replace('m=audio 0 RTP/AVP', 'm=')), undefined);
    assert.equal(parseNvstSdp(''), undefined);
    assert.equal(parseNvstSdp(undefined as unknown as string), undefined);
  });

  it('accepts a session without media sections', () => {
    assert.deepEqual(parseNvstSdp('v=0\no=x\ns=-\nt=0 0\n')?.media, []);
  });
});

describe('answerNvstSdp', () => {
  it('answers with the server origin and time, ICE and DTLS values, and only the settings that differ', () => {
    const offer = parseNvstSdp(NVST_OFFER);
    assert.ok(offer);
    const text = answerNvstSdp(offer, ANSWER, { width: 1280, height: 720, fps: 30, maxBitrateKbps: 20000 });
    assert.equal(
      text,
      [
        'v=0',
        'o=SdpTest test_id_13 14 IN IPv4 127.0.0.1',
        's=-',
        't=0 0',
        'a=general.icePassword:clientPassword+/0123456789ab',
        'a=general.iceUserNameFragment:Xy9z',
        `a=general.dtlsFingerprint:${FINGERPRINT.toUpperCase()}`,
        'm=video 0 RTP/AVP',
        'a=msid:fbc-video-0',
        'a=video.clientViewportWd:1280',
        'a=video.clientViewportHt:720',
        'a=video.maxFPS:30',
        'a=video.initialBitrateKbps:5000',
        'a=vqos.bw.maximumBitrateKbps:20000',
        'm=audio 0 RTP/AVP',
        'a=msid:audio',
        'm=application 0 RTP/AVP',
        'a=msid:ri',
        '',
      ].join('\r\n'),
    );
  });

  it('round-trips through the parser', () => {
    const offer = parseNvstSdp(NVST_OFFER);
    assert.ok(offer);
    const answer = parseNvstSdp(answerNvstSdp(offer, ANSWER, { width: 1920, height: 1080, fps: 60, maxBitrateKbps: 50000 }));
    assert.ok(answer);
    assert.equal(answer.origin, offer.origin);
    assert.equal(answer.time, offer.time);
    assert.equal(answer.attributes.get('general.iceUserNameFragment'), 'Xy9z');
    assert.deepEqual(
      answer.media.map((media) => [media.type, media.msid]),
      offer.media.map((media) => [media.type, media.msid]),
    );
    // 1920x1080@60 at 50000 kbps gives start 12500 and min 4000: all as offered, so nothing is repeated.
    assert.deepEqual([...answer.media[0].attributes], []);
  });

  it('adds the video settings the server did not list, and only to the first video section', () => {
    const offer = parseNvstSdp('v=0\no=x\ns=-\nt=0 0\nm=video 0 RTP/AVP\na=msid:v0\nm=video 0 RTP/AVP\na=msid:v1\n');
    assert.ok(offer);
    const answer = parseNvstSdp(answerNvstSdp(offer, '', { width: 640, height: 480, fps: 30, maxBitrateKbps: 2000 }));
    assert.ok(answer);
    assert.deepEqual(Object.fromEntries(answer.media[0].attributes), {
      'video.clientViewportWd': '640',
      'video.clientViewportHt': '480',
      'video.maxFPS': '30',
      'video.initialBitrateKbps': '2000',
      'vqos.bw.maximumBitrateKbps': '2000',
      'vqos.bw.minimumBitrateKbps': '2000',
    });
    assert.equal(answer.media[1].attributes.size, 0);
    assert.equal(answer.attributes.size, 0, 'no ICE lines from an answer that has none');
  });
});

describe('answerNvstSdp reading the browser answer', () => {
  it('takes the first line that starts with the attribute, and nothing from the middle of a line', () => {
    const offer = parseNvstSdp('v=0\no=x\ns=-\nt=0 0\n');
    assert.ok(offer);
    const answer = sdp(
      'v=0',
      's=a=ice-ufrag:inside',
      'a=ice-ufrag:first',
      'a=ice-ufrag:second',
      'a=fingerprint:sha-256 ab:cd',
      'a=ice-pwd:p w',
    );
    const text = answerNvstSdp(offer, answer, { width: 1, height: 1, fps: 1, maxBitrateKbps: 1 });
    assert.match(text, /\r\na=general\.icePassword:p\r\na=general\.iceUserNameFragment:first\r\na=general\.dtlsFingerprint:AB:CD\r\n/);
    const lf = answerNvstSdp(offer, answer.replace(/\r\n/g, '\n'), { width: 1, height: 1, fps: 1, maxBitrateKbps: 1 });
    assert.equal(lf, text, 'LF line ends read the same');
  });
});

describe('SDP helpers on garbage', () => {
  it('never throw on random text', () => {
    const next = random(7);
    const alphabet = 'abcmotv=:; /\r\n0123456789aH264opusfmtprtpmapcandidateudptcp';
    const fragments = [
      'm=video 9 X 96\r\n',
      'a=rtpmap:96 H264/90000\r\n',
      'a=fmtp:96 x\r\n',
      'a=candidate:',
      'c=IN\r\n',
      'b=AS:1\r\n',
      'a=msid:',
      'o=',
      't=',
    ];
    for (let index = 0; index < 300; index++) {
      let text = '';
      const length = Math.floor(next() * 40);
      for (let part = 0; part < length; part++) {
        text += next() < 0.3 ? fragments[Math.floor(next() * fragments.length)] : alphabet[Math.floor(next() * alphabet.length)];
      }
      assert.equal(typeof mungeOffer(text, { host: 'h', mediaPort: 1, width: 1280, height: 720, fps: 30 }), 'string');
      assert.equal(typeof mungeAnswer(text, { maxBitrateKbps: 8000 }), 'string');
      rewriteCandidate(text, 'h', 1);
      const parsed = parseNvstSdp(text);
      if (parsed) assert.equal(typeof answerNvstSdp(parsed, text, { width: 1, height: 1, fps: 1, maxBitrateKbps: 1 }), 'string');
    }
  });
});
