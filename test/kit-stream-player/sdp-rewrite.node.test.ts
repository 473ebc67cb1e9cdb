/**
 * Candidate rewrite to a session's route, for the shapes sdp.node.test.ts does not spell out: candidates as browsers
 * and Kit servers write them (extension fields, odd spacing, mixed case), IPv6 routes, RTCP components, a route
 * without a media port, and SDP without candidates.
 *
 * Run: node --import tsx --test test/kit-stream-player/sdp-rewrite.node.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rewriteCandidate, rewriteSdpCandidates } from '../../src/kit-stream-player/sdp.js';

const crlf = (...lines: string[]) => `${lines.join('\r\n')}\r\n`;

describe('rewriteCandidate on real-world candidate text', () => {
  it('keeps extension fields, and normalises spacing, a line end and an a= prefix', () => {
    assert.equal(
      rewriteCandidate(
        '  a=candidate:842163049 1 udp 1677729535 10.0.0.5 \t 50000 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sXvs network-cost 999\r\n',
        '203.0.113.7',
        31001,
      ),
      'candidate:842163049 1 udp 1677729535 203.0.113.7 31001 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sXvs network-cost 999',
    );
  });

  it('writes an IPv6 route address as SDP carries it, without brackets added', () => {
    assert.equal(
      rewriteCandidate('candidate:1 1 udp 5 10.0.0.1 9 typ host', '2001:db8::7', 31001),
      'candidate:1 1 udp 5 2001:db8::7 31001 typ host',
    );
  });

  it('accepts the transport in any case and keeps the component', () => {
    assert.equal(rewriteCandidate('candidate:1 2 UdP 5 10.0.0.1 9 typ host', 'h', 7), 'candidate:1 2 UdP 5 h 7 typ host');
    assert.equal(rewriteCandidate('candidate:1 1 TCP 5 10.0.0.1 9 typ host tcptype passive', 'h', 7), undefined);
    assert.equal(rewriteCandidate('candidate:1 1 ssltcp 5 10.0.0.1 443 typ relay', 'h', 7), undefined);
  });
});

describe('rewriteSdpCandidates on whole descriptions', () => {
  const offer = crlf(
    'v=0',
    'm=video 9 X 96',
    'a=candidate:1 1 udp 5 10.0.0.1 1 typ host',
    'a=candidate:1 2 udp 5 10.0.0.1 2 typ host',
    'a=candidate:2 1 udp 5 10.0.0.2 3 typ host',
    'a=end-of-candidates',
  );

  it('keeps RTP and RTCP candidates apart, and end-of-candidates in place', () => {
    assert.equal(
      rewriteSdpCandidates(offer, 'h', 7),
      crlf('v=0', 'm=video 9 X 96', 'a=candidate:1 1 udp 5 h 7 typ host', 'a=candidate:1 2 udp 5 h 7 typ host', 'a=end-of-candidates'),
    );
  });

  it('keeps each candidate’s own port when the route has no media port, so none collapse', () => {
    assert.equal(
      rewriteSdpCandidates(offer, 'h', undefined),
      crlf(
        'v=0',
        'm=video 9 X 96',
        'a=candidate:1 1 udp 5 h 1 typ host',
        'a=candidate:1 2 udp 5 h 2 typ host',
        'a=candidate:2 1 udp 5 h 3 typ host',
        'a=end-of-candidates',
      ),
    );
  });

  it('gives the same description when applied twice', () => {
    const once = rewriteSdpCandidates(offer, 'h', 7);
    assert.equal(rewriteSdpCandidates(once, 'h', 7), once);
  });

  it('rewrites session-level candidates too, each section on its own', () => {
    assert.equal(
      rewriteSdpCandidates(
        crlf('a=candidate:1 1 udp 5 10.0.0.1 1 typ host', 'm=video 9 X 96', 'a=candidate:1 1 udp 5 10.0.0.1 1 typ host'),
        'h',
        7,
      ),
      crlf('a=candidate:1 1 udp 5 h 7 typ host', 'm=video 9 X 96', 'a=candidate:1 1 udp 5 h 7 typ host'),
    );
  });

  it('leaves a description without candidates as it was, apart from CRLF line ends', () => {
    const audio = crlf('v=0', 'm=audio 9 X 0', 'a=rtpmap:0 PCMU/8000');
    assert.equal(rewriteSdpCandidates(audio, 'h', 7), audio);
    assert.equal(rewriteSdpCandidates(audio.replace(/\r\n/g, '\n'), 'h', 7), audio);
    assert.equal(rewriteSdpCandidates('', 'h', 7), '');
  });
});
