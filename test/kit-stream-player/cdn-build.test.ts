import { expect, waitUntil } from '@open-wc/testing';
import { KitSimulatorHandle } from '../support/simulators.js';

// This page loads nothing from src/: only the built, self-contained CDN file, as a page using a CDN would.
const cdnFile = '/dist/cdn/kit-stream-player.js';

describe('dist/cdn/kit-stream-player.js alone', function () {
  this.timeout(30_000);
  let simulator: KitSimulatorHandle | undefined;

  afterEach(async () => {
    await simulator?.close();
  });

  it('gives a working element that streams from the simulator', async function () {
    if (!(await fetch(cdnFile, { method: 'HEAD' })).ok) {
      // .ci/run builds before testing; a bare `npm test` in a fresh clone has no build to load.
      this.skip();
    }
    await import(/* @vite-ignore */ cdnFile);
    simulator = await KitSimulatorHandle.start({ readyAfterMs: 0, media: true });
    const element = document.createElement('kit-stream-player') as HTMLElement & { state: string };
    element.setAttribute('app-id', 'usd-viewer');
    element.setAttribute('profile', 'default');
    element.setAttribute('server', simulator.url);
    document.body.append(element);
    await waitUntil(() => element.state === 'streaming', `state stayed ${element.state}`, { timeout: 15_000 });
    const video = element.shadowRoot!.querySelector('video')!;
    await waitUntil(() => video.videoWidth > 0, 'no decoded video', { timeout: 5000 });
    expect(video.videoWidth).to.equal(320);
    element.remove();
    await waitUntil(async () => (await simulator!.sessions()).length === 0, 'the session was not terminated', { timeout: 3000 });
  });
});
