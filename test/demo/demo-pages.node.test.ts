/**
 * The demo pages that show other ways in: the CDN module (demo/cdn.html), the classic script (demo/classic.html)
 * and React (demo/react/). Each is served as plain files, as any web server would, and must upgrade both elements
 * without errors. The services in /demo/config.json are paths this server answers 404, so nothing leaves the machine.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'puppeteer-core';
import { buildReactDemo } from '../../demo/react/build.js';
import { launchChrome, openPage, upgradeReport } from '../tools/browser-page.js';
import { cdnDir, projectRoot } from '../tools/paths.js';
import { startStaticServer, type StaticServer } from '../tools/static-server.js';

const tags = ['kit-stream-player', 'theta-live-setup'];
const missingBuild = existsSync(join(cdnDir, 'live-stream-elements.js'))
  ? false
  : 'dist/cdn/ is missing: run `npm run build` to test the CDN demo pages';
/** The browser reports the fake services' 404s as console errors, which is expected here. */
const expectedErrors = [/\/__no-(kit|theta)__\//];

let server: StaticServer;
let browser: Browser;
/** Filled in once the server listens: the fake services are on its own origin. */
const served: Record<string, { type: string; body: string }> = {};
const config = { kit: { server: '', control: '' }, theta: { apiBase: '' } };

before(async () => {
  await buildReactDemo();
  server = await startStaticServer({ root: projectRoot, extra: served });
  config.kit = { server: `${server.origin}/__no-kit__/streaming`, control: `${server.origin}/__no-kit__/_control` };
  config.theta = { apiBase: `${server.origin}/__no-theta__` };
  served['/demo/config.json'] = { type: 'application/json', body: JSON.stringify(config) };
  browser = await launchChrome();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

describe('demo pages', { timeout: 60_000 }, () => {
  test('demo/cdn.html upgrades both elements from the CDN module alone', { skip: missingBuild }, async () => {
    const { page, errors } = await openPage(browser, `${server.origin}/demo/cdn.html`, expectedErrors);
    await page.waitForSelector('theta-live-setup', { timeout: 5000 });
    const report = await upgradeReport(page, tags);
    for (const tag of tags) assert.deepEqual(report[tag], { defined: true, count: 1, upgraded: true }, tag);
    const scripts = await page.$$eval('script[src]', (elements) => elements.map((element) => element.getAttribute('src')));
    assert.deepEqual(scripts, ['/dist/cdn/live-stream-elements.js']);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('demo/classic.html upgrades both elements from the classic script', { skip: missingBuild }, async () => {
    const { page, errors } = await openPage(browser, `${server.origin}/demo/classic.html`, expectedErrors);
    await page.waitForSelector('theta-live-setup', { timeout: 5000 });
    const report = await upgradeReport(page, tags);
    for (const tag of tags) assert.deepEqual(report[tag], { defined: true, count: 1, upgraded: true }, tag);
    const exported = await page.evaluate(() => Object.keys((window as unknown as { LiveStreamElements: object }).LiveStreamElements));
    for (const name of ['KitStreamPlayer', 'ThetaLiveSetup']) assert.ok(exported.includes(name), `window.LiveStreamElements.${name}`);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('demo/react/ renders both wrappers with their props', async () => {
    const { page, errors } = await openPage(browser, `${server.origin}/demo/react/`, expectedErrors);
    await page.waitForSelector('theta-live-setup', { timeout: 5000 });
    const report = await upgradeReport(page, tags);
    for (const tag of tags) assert.deepEqual(report[tag], { defined: true, count: 1, upgraded: true }, tag);
    const props = await page.evaluate(() => {
      const player = document.querySelector('kit-stream-player')!;
      const setup = document.querySelector('theta-live-setup')!;
      return { server: player.server, appId: player.appId, pollInterval: player.pollInterval, apiBase: setup.apiBase };
    });
    assert.deepEqual(props, { server: config.kit.server, appId: 'usd-viewer', pollInterval: 1000, apiBase: config.theta.apiBase });
    assert.deepEqual(errors, []);
    await page.close();
  });
});

test('no demo page refers to a file that does not exist', () => {
  assert.deepEqual(
    server.notFound.filter((path) => !path.startsWith('/__no-')),
    [],
  );
});
