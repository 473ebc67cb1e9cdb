// Browser tests run in a real headless Chromium; simulators run in this Node process, started per test
// through a small hub on loopback.
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { tsImport } from 'tsx/esm/api';

const { findChrome, chromeArgs } = await tsImport('./test/support/chrome.ts', import.meta.url);
const { startSimulatorHub } = await tsImport('./test/support/sim-hub.ts', import.meta.url);
const { prebundledReactPlugin } = await tsImport('./test/tools/prebundled-react.ts', import.meta.url);
let hub;

export default {
  files: ['test/**/*.test.ts', '!test/**/*.node.test.ts'],
  nodeResolve: true,
  concurrency: 1,
  testsFinishTimeout: 240_000,
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
