/**
 * A tab the user leaves for minutes and comes back to. Chrome hides it, throttles its timers more and more, and may
 * freeze it: then no script, timer or event of the page runs until it is resumed, when every overdue timer fires at
 * once, and Chromium closes the page's WebSockets. The `page-lifecycle` command (web-test-runner.config.mjs) does the
 * same through the DevTools protocol to a window this page opens (freezing this page would cut the test runner off):
 * hidden, frozen for a second and a half, which stands in for minutes (a frozen page runs nothing, however long), and
 * shown again. The elements live in that window; the test, here, goes on running meanwhile.
 *
 * Throttling short of freezing (timers woken once a second, then once a minute) cannot be shown: the launcher runs
 * Chrome with background timer throttling off, so a tab that is only hidden runs as a visible one does.
 */
import { expect, oneEvent, waitUntil } from '@open-wc/testing';
import { executeServerCommand } from '@web/test-runner-commands';
import type { KitSignalingConnector, KitStreamPlayer } from '../../src/kit-stream-player/index.js';
import type { ThetaLiveSetup } from '../../src/theta-live-setup/index.js';
import { KitSimulatorHandle, ThetaSimulatorHandle } from '../support/simulators.js';

type PageLifecycle = { state: 'hidden' } | { state: 'frozen'; forMs: number } | { state: 'visible' };

interface TabWindow extends Window {
  /** What the tab saw of its own lifecycle, with `Date.now()` times (the simulators log the same clock). */
  lifecycle: Array<{ type: string; at: number }>;
  /** The tab's own connector class: a connector from this page would keep its sockets here, out of the freeze. */
  KitSignalingConnector: typeof KitSignalingConnector;
}

let tab: TabWindow | undefined;
let kit: KitSimulatorHandle | undefined;
let theta: ThetaSimulatorHandle | undefined;

/** A window of its own with both elements defined, recording its lifecycle events. */
async function openTab(): Promise<TabWindow> {
  const opened = window.open('', 'page-lifecycle') as TabWindow | null;
  if (!opened) throw new Error('window.open gave no window');
  tab = opened;
  const lifecycle: TabWindow['lifecycle'] = (opened.lifecycle = []);
  for (const type of ['visibilitychange', 'freeze', 'resume']) {
    opened.document.addEventListener(type, () => lifecycle.push({ type: `${type}:${opened.document.visibilityState}`, at: Date.now() }));
  }
  const module = (name: string) => JSON.stringify(new URL(`../../src/${name}/index.ts`, import.meta.url).href);
  const script = opened.document.createElement('script');
  script.type = 'module';
  script.textContent = `import { KitSignalingConnector } from ${module('kit-stream-player')};
    import ${module('theta-live-setup')};
    window.KitSignalingConnector = KitSignalingConnector;`;
  opened.document.head.append(script);
  // The module's last statement: every import, and so both elements, came first.
  await waitUntil(() => opened.KitSignalingConnector !== undefined, 'the elements were not defined in the tab', { timeout: 5000 });
  return opened;
}

/** Hidden, frozen for `forMs`, shown again; resolves once the tab runs again, in front. */
async function leaveAndComeBack(forMs: number): Promise<{ frozenAt: number; resumedAt: number }> {
  const { lifecycle, document: page } = tab!;
  const shown = async (state: DocumentVisibilityState, message: string) => {
    await executeServerCommand('page-lifecycle', { state } satisfies PageLifecycle);
    await waitUntil(() => page.visibilityState === state, message, { timeout: 2000 });
  };
  // The tab starts in front, whichever page came forward as the last one loaded.
  await shown('visible', 'the tab did not come to the front');
  lifecycle.length = 0;
  await shown('hidden', 'the tab was not hidden');
  await executeServerCommand('page-lifecycle', { state: 'frozen', forMs } satisfies PageLifecycle);
  await shown('visible', 'the tab was not shown again');
  expect(lifecycle.map((entry) => entry.type)).to.deep.equal([
    'visibilitychange:hidden',
    'freeze:hidden',
    'resume:hidden',
    'visibilitychange:visible',
  ]);
  return { frozenAt: lifecycle[1]!.at, resumedAt: lifecycle[2]!.at };
}

afterEach(async () => {
  tab?.close();
  tab = undefined;
  await kit?.close();
  await theta?.close();
  kit = theta = undefined;
});

describe('a tab hidden and frozen, then shown again', function () {
  this.timeout(15_000);

  it('<kit-stream-player> streams again in the same session, without an error, and leaves no session behind', async () => {
    kit = await KitSimulatorHandle.start({ readyAfterMs: 0, media: {} });
    const { document: page } = await openTab();
    const player = page.createElement('kit-stream-player') as KitStreamPlayer;
    player.style.cssText = 'display: block; width: 640px; height: 240px';
    player.setAttribute('app-id', 'usd-viewer');
    player.setAttribute('profile', 'default');
    // A media connection lost for 1 s (not 10) counts as lost: the test then lasts seconds, not tens of them.
    player.connector = new tab!.KitSignalingConnector({ disconnectedTimeoutMs: 1000 });
    const reported: Array<{ type: string; detail: Record<string, unknown> }> = [];
    for (const type of ['kit-error', 'kit-disconnected', 'kit-session-ended']) {
      player.addEventListener(type, (event) => reported.push({ type, detail: (event as CustomEvent).detail }));
    }
    const connected = oneEvent(player, 'kit-connected');
    page.body.append(player);
    player.server = kit.url;
    await connected;
    const id = player.sessionId;
    const video = () => player.shadowRoot!.querySelector('video')!;
    /** The element streams and its picture moves. */
    const streaming = async () => {
      const before = video().currentTime;
      await new Promise((resolve) => setTimeout(resolve, 300));
      return player.state === 'streaming' && video().currentTime > before;
    };
    await waitUntil(streaming, 'no moving picture before the tab was left', { timeout: 3000 });

    await leaveAndComeBack(1500);

    await waitUntil(streaming, 'no moving picture after the tab came back', { timeout: 12_000, interval: 100 });
    expect(player.sessionId).to.equal(id);
    // Chromium closed the signaling socket of the frozen tab, which the service reads as the viewer leaving: the
    // element may reconnect to its session once, and nothing else.
    expect(reported.filter(({ type }) => type !== 'kit-disconnected')).to.deep.equal([]);
    expect(reported.length).to.be.at.most(1);
    expect((await kit.sessions()).map((session) => session.id)).to.deep.equal([id]);

    player.remove();
    await waitUntil(async () => (await kit!.sessions()).length === 0, 'the session was left on the service', { timeout: 3000 });
  });

  it('<theta-live-setup> polls nothing while frozen, then polls again at its interval and sees the stream end', async () => {
    theta = await ThetaSimulatorHandle.start({ rtmp: false });
    const streamId = (await theta.api<{ body: { id: string } }>('POST', '/stream', { name: 'Left in a tab' })).body.id;
    const setStatus = (status: string) =>
      fetch(`${theta!.simulatorUrl}/_control/streams/${streamId}/status`, { method: 'POST', body: JSON.stringify({ status }) });
    await setStatus('on');
    const polls = async () => {
      const { requests } = (await (await fetch(`${theta!.simulatorUrl}/_control/requests`)).json()) as {
        requests: Array<{ time: string; method: string; path: string }>;
      };
      return requests
        .filter((request) => request.method === 'GET' && request.path === `/stream/${streamId}`)
        .map((request) => Date.parse(request.time));
    };

    const { document: page } = await openTab();
    const setup = page.createElement('theta-live-setup') as ThetaLiveSetup;
    setup.setAttribute('api-base', theta.apiBase);
    setup.setAttribute('stream-id', streamId);
    setup.setAttribute('poll-interval', '250');
    const errors: unknown[] = [];
    setup.addEventListener('theta-error', (event) => errors.push((event as CustomEvent).detail));
    page.body.append(setup);
    await waitUntil(
      async () => setup.shadowRoot!.querySelector('[part="live-badge"]') !== null && (await polls()).length >= 2,
      'not LIVE',
      { timeout: 5000 },
    );

    const { frozenAt, resumedAt } = await leaveAndComeBack(1500);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const times = await polls();
    // A poll sent just before the freeze may reach the service just after it began.
    expect(
      times.filter((time) => time > frozenAt + 200 && time < resumedAt),
      'polls while frozen',
    ).to.deep.equal([]);
    const resumedPolls = times.filter((time) => time >= resumedAt && time < resumedAt + 1000).length;
    expect(resumedPolls, 'polls in the second after the tab was resumed: every 250 ms, one at a time').to.be.within(2, 5);

    await setStatus('off');
    await waitUntil(() => /The stream ended/.test(setup.shadowRoot!.textContent ?? ''), 'the end of the stream was not seen', {
      timeout: 2000,
    });
    expect(errors).to.deep.equal([]);
  });
});
