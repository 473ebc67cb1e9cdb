/**
 * The figures people read from `getStats()`: frames per second and kbit/s from the difference between two samples,
 * round-trip time from the nominated candidate pair, jitter and loss from the inbound video stream.
 * Reports are plain maps shaped like `RTCStatsReport`.
 *
 * Run: node --import tsx --test test/kit-stream-player/stats.node.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatsSampler } from '../../src/kit-stream-player/stats.js';

type Stats = Record<string, unknown>;

function report(...entries: Stats[]): RTCStatsReport {
  return new Map(entries.map((entry, index) => [String(entry.id ?? `entry-${index}`), entry])) as unknown as RTCStatsReport;
}

/** A sampler that reads the given reports one after the other. */
function samplerOf(...reports: RTCStatsReport[]): StatsSampler {
  let next = 0;
  return new StatsSampler(async () => {
    assert.ok(next < reports.length, 'sampled more often than the test planned');
    return reports[next++];
  });
}

/** Inbound video as Chromium reports it: timestamps in ms, counters since the stream started, jitter in seconds. */
function video(timestamp: number, bytesReceived: number, framesDecoded: number, extra: Stats = {}): Stats {
  return {
    id: 'IT01V',
    type: 'inbound-rtp',
    kind: 'video',
    timestamp,
    bytesReceived,
    framesDecoded,
    framesPerSecond: 24,
    packetsLost: 3,
    jitter: 0.0123,
    frameWidth: 1920,
    frameHeight: 1080,
    ...extra,
  };
}

const audio: Stats = {
  id: 'IT01A',
  type: 'inbound-rtp',
  kind: 'audio',
  timestamp: 1000,
  bytesReceived: 99_999,
  packetsLost: 50,
  jitter: 1,
};
const pair = (currentRoundTripTime: unknown, nominated = true): Stats => ({
  id: `CP-${String(currentRoundTripTime)}-${nominated}`,
  type: 'candidate-pair',
  nominated,
  currentRoundTripTime,
});

describe('StatsSampler', () => {
  it('gives nothing until the report has inbound video', async () => {
    const sampler = samplerOf(report(), report(audio, pair(0.01)), report({ type: 'inbound-rtp', kind: 'video', id: 'v' }));
    assert.equal(await sampler.sample(), undefined);
    assert.equal(await sampler.sample(), undefined, 'audio and a candidate pair are not video');
    assert.ok(await sampler.sample(), 'an inbound video entry, however empty, is a sample');
  });

  it('reads the first sample from the browser’s own frame rate, with no bitrate yet', async () => {
    const sampler = samplerOf(report(audio, video(1000, 500_000, 100), pair(0.0456)));
    assert.deepEqual(await sampler.sample(), {
      fps: 24,
      bitrate: 0,
      rtt: 45.6,
      packetsLost: 3,
      jitter: 12.3,
      width: 1920,
      height: 1080,
      framesDecoded: 100,
    });
  });

  it('computes frames per second and kbit/s from the difference to the previous sample', async () => {
    const sampler = samplerOf(
      report(video(1000, 500_000, 100)),
      // 2 s later: 61 frames and 1 000 000 bytes more, so 30.5 fps and 4000 kbit/s.
      report(video(3000, 1_500_000, 161, { framesPerSecond: 1 })),
      // 0.5 s later: 15 frames and 125 000 bytes, so 30 fps and 2000 kbit/s.
      report(video(3500, 1_625_000, 176)),
    );
    await sampler.sample();
    const second = await sampler.sample();
    assert.deepEqual([second?.fps, second?.bitrate, second?.framesDecoded], [30.5, 4000, 161]);
    const third = await sampler.sample();
    assert.deepEqual([third?.fps, third?.bitrate], [30, 2000]);
  });

  it('rounds to one decimal', async () => {
    const sampler = samplerOf(report(video(0, 0, 0, { jitter: 0.00012345 })), report(video(3000, 1000, 100, { jitter: 0.0016789 })));
    const first = await sampler.sample();
    assert.equal(first?.jitter, 0.1);
    const second = await sampler.sample();
    assert.deepEqual([second?.fps, second?.bitrate, second?.jitter], [33.3, 2.7, 1.7]);
  });

  it('falls back to the browser’s frame rate when no time has passed between samples', async () => {
    const sampler = samplerOf(report(video(1000, 500_000, 100)), report(video(1000, 600_000, 110, { framesPerSecond: 29 })));
    await sampler.sample();
    const same = await sampler.sample();
    assert.deepEqual([same?.fps, same?.bitrate], [29, 0]);
  });

  it('takes the round-trip time from the nominated candidate pair only', async () => {
    const rttOf = async (...entries: Stats[]) => (await samplerOf(report(video(1000, 0, 0), ...entries)).sample())?.rtt;
    assert.equal(await rttOf(), undefined, 'no candidate pair');
    assert.equal(await rttOf(pair(0.2, false)), undefined, 'not nominated');
    assert.equal(await rttOf(pair(undefined)), undefined, 'nominated, but no measurement yet');
    assert.equal(await rttOf(pair('0.2')), undefined, 'not a number');
    assert.equal(await rttOf(pair(0.2, false), pair(0.0301)), 30.1);
    assert.equal(await rttOf(pair(0)), 0, 'a measured zero is a value');
  });

  it('reads missing or non-numeric fields as 0, never NaN', async () => {
    const odd = {
      id: 'v',
      type: 'inbound-rtp',
      kind: 'video',
      timestamp: 1000,
      bytesReceived: '5',
      framesDecoded: Number.NaN,
      packetsLost: Number.POSITIVE_INFINITY,
      jitter: null,
      frameWidth: {},
    };
    const sampler = samplerOf(report(odd), report({ ...odd, timestamp: 2000 }));
    for (const sample of [await sampler.sample(), await sampler.sample()]) {
      assert.deepEqual(sample, { fps: 0, bitrate: 0, rtt: undefined, packetsLost: 0, jitter: 0, width: 0, height: 0, framesDecoded: 0 });
    }
  });

  it('gives no negative rate when the clock goes backwards', async () => {
    const sampler = samplerOf(report(video(5000, 1_000_000, 300)), report(video(4000, 1_100_000, 310, { framesPerSecond: 25 })));
    await sampler.sample();
    const back = await sampler.sample();
    assert.deepEqual([back?.fps, back?.bitrate], [25, 0]);
  });

  it('gives no negative rate when the counters start again (a new inbound stream)', async () => {
    const sampler = samplerOf(
      report(video(1000, 5_000_000, 3000)),
      report(video(2000, 40_000, 25, { framesPerSecond: 25 })),
      report(video(3000, 290_000, 55)),
    );
    await sampler.sample();
    const reset = await sampler.sample();
    assert.ok(reset && reset.fps >= 0 && reset.bitrate >= 0, `fps ${reset?.fps}, bitrate ${reset?.bitrate}`);
    assert.equal(reset?.framesDecoded, 25);
    const after = await sampler.sample();
    assert.deepEqual([after?.fps, after?.bitrate], [30, 2000], 'the new counters are the reference from then on');
  });
});
