// Browser tests run in a real headless Chromium; simulators run in this Node process, started per test
// through a small hub on loopback.
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { tsImport } from 'tsx/esm/api';

const { findChrome, chromeArgs } = await tsImport('./test/support/chrome.ts', import.meta.url);
const { startSimulatorHub } = await tsImport('./test/support/sim-hub.ts', import.meta.url);
const { prebundledReactPlugin } = await tsImport('./test/tools/prebundled-react.ts', import.meta.url);
let hub;

/**
 * The `page-lifecycle` command: what a browser does to a tab the user leaves for minutes, driven through the DevTools
 * protocol, on the window the test page opened last with `window.open` (freezing the test page itself would cut the
 * test runner's connection: Chromium closes a frozen page's WebSockets when it resumes). Payloads:
 * - `{ state: 'hidden' }`: the test page comes to the front; the window gets `visibilitychange` (hidden).
 * - `{ state: 'frozen', forMs }`: hidden, then frozen (`freeze`) as Chrome freezes background tabs: no script, timer
 *   or event of the window runs. A frozen window cannot ask to be resumed, so the command resumes it (`resume`, still
 *   hidden) after `forMs` (at most a minute), and answers then.
 * - `{ state: 'visible' }`: the window comes back to the front (`visibilitychange`, visible).
 * The launcher's Chrome flags turn timer throttling off for hidden tabs: freezing stands in for it, at its strongest.
 */
function pageLifecyclePlugin() {
  return {
    name: 'page-lifecycle-command',
    async executeCommand({ command, payload, session }) {
      if (command !== 'page-lifecycle') return undefined;
      if (session.browser.type !== 'puppeteer') throw new Error('page-lifecycle needs the Chrome launcher');
      const testPage = session.browser.getPage(session.id);
      const opened = testPage
        .browser()
        .targets()
        .filter((target) => target.type() === 'page' && target.opener() === testPage.target());
      const page = await opened.at(-1)?.page();
      if (!page) throw new Error('page-lifecycle acts on a window the test page opened with window.open, and there is none');
      const { state, forMs = 0 } = payload ?? {};
      if (state === 'hidden') {
        await testPage.bringToFront();
      } else if (state === 'frozen') {
        if (!Number.isFinite(forMs) || forMs < 0 || forMs > 60_000) throw new Error('page-lifecycle: forMs must be 0 to 60000');
        await testPage.bringToFront();
        const devtools = await page.createCDPSession();
        try {
          await devtools.send('Page.setWebLifecycleState', { state: 'frozen' });
          await new Promise((resolve) => setTimeout(resolve, forMs));
        } finally {
          await devtools.send('Page.setWebLifecycleState', { state: 'active' });
          await devtools.detach();
        }
      } else if (state === 'visible') {
        await page.bringToFront();
      } else {
        throw new Error(`page-lifecycle: state must be 'hidden', 'frozen' or 'visible', not ${JSON.stringify(state)}`);
      }
      return true;
    },
  };
}

export default {
  files: ['test/**/*.test.ts', '!test/**/*.node.test.ts'],
  nodeResolve: true,
  concurrency: 1,
  testsFinishTimeout: 420_000,
  testFramework: { config: { timeout: 20_000 } },
  browsers: [
    chromeLauncher({
      // The copy buttons write to the real clipboard, and the tests read it back.
      async createPage({ config, context }) {
        await context.overridePermissions(`http://${config.hostname}:${config.port}`, ['clipboard-read', 'clipboard-sanitized-write']);
        const page = await context.newPage();
        // The clipboard and focus tests need the focused page: each test file's page comes to the front as it loads,
        // whatever page an earlier file's simulated mouse and keys brought forward.
        page.on('load', () => void page.bringToFront().catch(() => undefined));
        return page;
      },
      launchOptions: {
        executablePath: findChrome(),
        headless: true,
        args: chromeArgs,
      },
    }),
  ],
  plugins: [
    // React is CommonJS only: the React wrapper tests get it bundled as ES modules.
    prebundledReactPlugin(),
    pageLifecyclePlugin(),
    esbuildPlugin({ ts: true, target: 'es2022', tsconfig: new URL('./tsconfig.json', import.meta.url).pathname }),
    {
      name: 'simulator-hub',
      async serverStart() {
        hub = await startSimulatorHub();
      },
      async serverStop() {
        await hub?.close();
      },
    },
  ],
  testRunnerHtml: (testFramework) => `<!doctype html>
    <html lang="en">
      <head><meta charset="utf-8"><title>live-stream-elements tests</title></head>
      <body>
        <script>window.__SIMULATOR_HUB__ = ${JSON.stringify(hub?.url ?? '')};</script>
        <script type="module" src="${testFramework}"></script>
      </body>
    </html>`,
};
