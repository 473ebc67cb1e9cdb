/**
 * Both elements from the built CDN file on a page with a strict Content-Security-Policy: no inline script or style,
 * no eval, and network access only to the services. Pages that embed the elements often set such a policy, and a
 * violation there breaks the element silently (a blocked style, a refused connection), so the test streams from the
 * Kit simulator, lists the Theta simulator's streams through the proxy, and requires that the browser reported no
 * violation at all.
 *
 * Needs the build (`npm run build`); `npm run test:node` runs after it.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { after, before, describe, it } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { type KitSimulator, startKitSimulator } from '../../demo/simulators/kit/kit-simulator.js';
import { createKitMediaFactory } from '../../demo/simulators/kit/media/index.js';
import { type ThetaSimulator, startThetaSimulator } from '../../demo/simulators/theta/theta-simulator.js';
import { createThetaProxy } from '../../src/theta-proxy/index.js';
import { serveFetchHandler } from '../../src/theta-proxy/node-server.js';
import { chromeArgs, findChrome } from '../support/chrome.js';
import { withTimeout } from '../support/waiting.js';
import { projectRoot } from '../tools/paths.js';

/** What the page script records, read back with `page.evaluate`. */
interface PageRecord {
  violations: Array<{ violatedDirective: string; blockedURI: string; sample: string }>;
  connected: boolean;
  errors: string[];
}

declare global {
  interface Window {
    __violations: PageRecord['violations'];
    __kitConnected: boolean;
    __errors: string[];
  }
}

/**
 * The page's own module: listens for violations before anything else runs, then adds the elements. It stays a
 * separate same-origin file because the policy forbids inline scripts.
 */
function pageScript(kitUrl: string, apiBase: string): string {
  return `
window.__violations = [];
window.__kitConnected = false;
window.__errors = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__violations.push({ violatedDirective: event.violatedDirective, blockedURI: event.blockedURI, sample: event.sample });
}, true);
const player = document.createElement('kit-stream-player');
player.setAttribute('server', ${JSON.stringify(kitUrl)});
player.setAttribute('app-id', 'usd-viewer');
player.setAttribute('profile', 'default');
player.setAttribute('fit', 'cover');
player.addEventListener('kit-connected', () => (window.__kitConnected = true));
player.addEventListener('kit-error', (event) => window.__errors.push('kit: ' + event.detail.message));
const setup = document.createElement('theta-live-setup');
setup.setAttribute('api-base', ${JSON.stringify(apiBase)});
setup.addEventListener('theta-error', (event) => window.__errors.push('theta: ' + event.detail.message));
await import('/dist/cdn/live-stream-elements.js');
document.body.append(player, setup);
`;
}

const pageHtml = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Strict CSP</title>
    <script type="module" src="/csp/page.js"></script>
  </head>
  <body></body>
</html>
`;

describe('the CDN elements under a strict Content-Security-Policy', () => {
  let kit: KitSimulator;
  let theta: ThetaSimulator;
  let proxy: { url: string; close(): Promise<void> };
  let site: PolicyServer;
  let browser: Browser;
  let page: Page;
  /** Console lines of the page that mention the policy: Chromium logs each refusal there too. */
  const consolePolicyLines: string[] = [];

  before(async () => {
    kit = await startKitSimulator({ readyAfterMs: 0, media: createKitMediaFactory() });
    theta = await startThetaSimulator({ rtmp: false });
    const [account] = theta.serviceAccounts;
    proxy = await serveFetchHandler(
      createThetaProxy({ serviceAccountId: account.id, serviceAccountSecret: account.secret, upstream: theta.url, allowedOrigins: '*' }),
      { host: '127.0.0.1', port: 0 },
    );
    // One stream, so the first step shows a stream list rather than the empty-list note.
    const created = await fetch(`${proxy.url}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Strict page' }),
    });
    assert.ok(created.ok, `creating a stream through the proxy: HTTP ${created.status} ${await created.text()}`);

    const policy = [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      `connect-src 'self' ${kit.origin} ws://127.0.0.1:* ${new URL(proxy.url).origin}`,
      `media-src 'self' blob: ${new URL(theta.url).origin}`,
      "img-src 'self' data:",
    ].join('; ');
    site = await startPolicyServer(policy, { '/csp/index.html': pageHtml, '/csp/page.js': pageScript(kit.url, proxy.url) });

    browser = await puppeteer.launch({ executablePath: findChrome(), headless: true, args: chromeArgs });
    page = await browser.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) consolePolicyLines.push(message.text());
    });
    page.on('pageerror', (error) => consolePolicyLines.push(`page error: ${String(error)}`));
  });

  after(async () => {
    const steps = [() => browser?.close(), () => site?.close(), () => proxy?.close(), () => theta?.close(), () => kit?.close()];
    for (const step of steps) await withTimeout('closing', Promise.resolve(step()), 5000).catch(() => undefined);
  });

  it('streams Kit and lists Theta streams with no violation reported', async () => {
    await page.goto(`${site.origin}/csp/index.html`);
    await page
      .waitForFunction(
        () => {
          const player = document.querySelector('kit-stream-player');
          return player?.getAttribute('state') === 'streaming' && window.__kitConnected;
        },
        { timeout: 20_000, polling: 50 },
      )
      .catch(async () => {
        const state = await page.evaluate(() => document.querySelector('kit-stream-player')?.getAttribute('state'));
        const errors = await page.evaluate(() => window.__errors);
        throw new Error(`<kit-stream-player> did not stream (state ${state}; errors: ${errors.join('; ') || 'none'})`);
      });
    await page.waitForFunction(
      () => {
        const setup = document.querySelector('theta-live-setup');
        return setup?.getAttribute('step') === 'stream' && setup.shadowRoot?.querySelector('[part="stream-list"] li') != null;
      },
      { timeout: 10_000, polling: 50 },
    );

    const record: PageRecord = await page.evaluate(() => ({
      violations: window.__violations,
      connected: window.__kitConnected,
      errors: window.__errors,
    }));
    const described = record.violations.map((v) => `${v.violatedDirective} blocked ${v.blockedURI || '(inline)'} ${v.sample}`.trim());
    assert.deepEqual(described, [], `CSP violations reported:\n  ${described.join('\n  ')}`);
    assert.deepEqual(consolePolicyLines, [], `the console reports:\n  ${consolePolicyLines.join('\n  ')}`);
    assert.deepEqual(record.errors, []);

    const fit = await page.evaluate(() => {
      const video = document.querySelector('kit-stream-player')!.shadowRoot!.querySelector('video')!;
      return { objectFit: getComputedStyle(video).objectFit, frame: video.videoWidth > 0 };
    });
    assert.deepEqual(fit, { objectFit: 'cover', frame: true });
  });
});

interface PolicyServer {
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves the page and its module from memory and the built files from dist/cdn/, every answer with the policy as a
 * response header, as a site would send it (a meta tag cannot carry every directive).
 */
async function startPolicyServer(policy: string, pages: Record<string, string>): Promise<PolicyServer> {
  const cdnRoot = join(projectRoot, 'dist/cdn/');
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const type = path.endsWith('.html') ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8';
    const headers = { 'content-type': type, 'content-security-policy': policy, 'cache-control': 'no-store' };
    const send = (status: number, body: string | Buffer): void => void response.writeHead(status, headers).end(body);
    const file = normalize(join(projectRoot, path));
    if (Object.hasOwn(pages, path)) send(200, pages[path]);
    else if (!file.startsWith(cdnRoot)) send(404, 'Not found');
    else
      readFile(file).then(
        (body) => send(200, body),
        () => send(404, 'Not found'),
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
