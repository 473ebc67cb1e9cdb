/**
 * The package as users get it: `npm pack`, then a fresh project that installs the tarball (from the npm cache where
 * it can) and uses every entry point the way its users would:
 * - Node imports the Theta proxy and runs the `live-stream-elements theta-proxy` command;
 * - TypeScript (nodenext resolution) type-checks a file that imports every entry, React wrappers included;
 * - Chromium loads each CDN file, as a module and as a classic script, from a plain static server, and pages that
 *   mix a CDN file with an npm build bundled by esbuild (two copies of the library on one page).
 * Needs a build (`npm run build`); skipped with a message when dist/ is missing.
 */
import assert from 'node:assert/strict';
import { spawn, execFile as execFileCallback } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import type { Browser, Page } from 'puppeteer-core';
import { launchChrome, openPage, upgradeReport } from '../tools/browser-page.js';
import { distDir, projectRoot } from '../tools/paths.js';
import { startStaticServer, type StaticServer } from '../tools/static-server.js';

const execFile = promisify(execFileCallback);

const packageName = 'live-stream-elements';
const packageJson = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };

/** The CDN files and the tags each registers. */
const cdnFiles: Record<string, string[]> = {
  'kit-stream-player': ['kit-stream-player'],
  'theta-live-setup': ['theta-live-setup'],
  'live-stream-elements': ['kit-stream-player', 'theta-live-setup'],
};
const allTags = ['kit-stream-player', 'theta-live-setup'];

const missingBuild = ['index.js', 'cdn/live-stream-elements.js'].every((file) => existsSync(join(distDir, file)))
  ? false
  : 'dist/ is missing: run `npm run build` to test the package';

/**
 * The environment for npm and the command in the consumer project: without what `npm test` tells its scripts about
 * this project, but with the machine's npm settings (cache, registry, certificates) left as they are.
 */
const projectScriptVariable = /^npm_(package_|lifecycle_|command$|config_local_prefix$|config_call$)/i;
const cleanEnvironment = Object.fromEntries(Object.entries(process.env).filter(([name]) => !projectScriptVariable.test(name)));

let workDir: string;
let consumer: string;
let installed: string;
let tarballFiles: string[];

async function run(command: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await execFile(command, args, { cwd, env: cleanEnvironment, maxBuffer: 32 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const failure = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${failure.stdout ?? ''}\n${failure.stderr ?? failure.message}`);
  }
}

describe('the packed package', { skip: missingBuild, timeout: 120_000 }, () => {
  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'live-stream-elements-package-'));
    const packed = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', workDir], projectRoot)) as {
      filename: string;
      files: { path: string }[];
    }[];
    const tarball = join(workDir, packed[0]!.filename);
    tarballFiles = packed[0]!.files.map((file) => file.path);

    consumer = join(workDir, 'consumer');
    installed = join(consumer, 'node_modules', packageName);
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
    // The dependencies are in the npm cache since this project installed them; the registry is asked only for what is not.
    const react = ['react', 'react-dom'].map((name) => `${name}@${packageJson.devDependencies[name]}`);
    await run('npm', ['install', tarball, ...react, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], consumer);
  });

  after(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  test('ships the builds, types, manifest and README, and no sources, tests or maps', () => {
    for (const file of [
      'package.json',
      'README.md',
      'custom-elements.json',
      'dist/index.js',
      'dist/theta-proxy-cli.js',
      'dist/types/index.d.ts',
      'dist/types/react/index.d.ts',
      'LICENSE',
      'CHANGELOG.md',
      'dist/react/kit-stream-player.js',
      'dist/react/theta-live-setup.js',
      'dist/jsx.d.ts',
      'dist/vue.d.ts',
      'dist/svelte.d.ts',
      'dist/web-types.json',
      'dist/vscode.html-custom-data.json',
      'dist/vscode.css-custom-data.json',
    ]) {
      assert.ok(tarballFiles.includes(file), `${file} is not in the package`);
    }
    for (const name of Object.keys(cdnFiles)) {
      for (const file of [`dist/cdn/${name}.js`, `dist/cdn/${name}.iife.js`])
        assert.ok(tarballFiles.includes(file), `${file} is not in the package`);
    }
    const unwanted = tarballFiles.filter(
      (file) => /^(src|test|demo)\//.test(file) || file.endsWith('.map') || (file.endsWith('.ts') && !file.endsWith('.d.ts')),
    );
    assert.deepEqual(unwanted, []);
  });

  test('every export resolves to a file in the installed package', async () => {
    const specifiers = [
      '',
      '/kit-stream-player.js',
      '/app-streamer-connector.js',
      '/theta-live-setup.js',
      '/theta-proxy',
      '/theta-proxy.js',
      '/react',
      '/react.js',
      '/react/kit-stream-player.js',
      '/react/theta-live-setup.js',
      '/custom-elements.json',
      '/web-types.json',
      '/vscode.html-custom-data.json',
      '/vscode.css-custom-data.json',
      '/package.json',
    ].map((subpath) => `${packageName}${subpath}`);
    // The CDN files are for browsers only: they resolve under the browser condition, and a server never picks them.
    const cdnSpecifiers = Object.keys(cdnFiles).flatMap((name) =>
      [`/cdn/${name}.js`, `/cdn/${name}.iife.js`].map((file) => `${packageName}${file}`),
    );
    const script = (list: string[]) => `const specifiers = ${JSON.stringify(list)};
console.log(JSON.stringify(specifiers.map((specifier) => { try { return import.meta.resolve(specifier); } catch (error) { return error.code; } })));`;
    const resolved = [
      ...(JSON.parse(await run(process.execPath, ['--input-type=module', '-e', script(specifiers)], consumer)) as string[]),
      ...(JSON.parse(
        await run(process.execPath, ['--conditions=browser', '--input-type=module', '-e', script(cdnSpecifiers)], consumer),
      ) as string[]),
    ];
    specifiers.push(...cdnSpecifiers);
    const onServer = JSON.parse(await run(process.execPath, ['--input-type=module', '-e', script(cdnSpecifiers)], consumer)) as string[];
    assert.deepEqual(new Set(onServer), new Set(['ERR_PACKAGE_PATH_NOT_EXPORTED']), 'a CDN file resolves without the browser condition');
    for (const [index, url] of resolved.entries()) {
      const file = new URL(url).pathname;
      assert.ok(file.startsWith(installed), `${specifiers[index]} resolved outside the package: ${file}`);
      assert.ok(existsSync(file), `${specifiers[index]} resolved to ${file}, which does not exist`);
    }
  });

  test('the manifest is where package.json says, and describes both elements', () => {
    const installedPackage = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { customElements: string };
    const manifest = JSON.parse(readFileSync(join(installed, installedPackage.customElements), 'utf8')) as {
      modules: { declarations?: { tagName?: string }[] }[];
    };
    const tags = manifest.modules.flatMap((module) =>
      (module.declarations ?? []).flatMap((declaration) => (declaration.tagName ? [declaration.tagName] : [])),
    );
    assert.deepEqual(tags.sort(), allTags);
  });

  test('the Theta proxy loads in Node and imports nothing but Node built-ins', async () => {
    const script = `const proxy = await import('${packageName}/theta-proxy');
const again = await import('${packageName}/theta-proxy.js');
const handler = proxy.createThetaProxy({ serviceAccountId: 'srvacc_test', serviceAccountSecret: 'secret' });
const response = await handler(new Request('http://localhost/not-a-theta-call'));
console.log(JSON.stringify({ same: proxy.createThetaProxy === again.createThetaProxy, status: response.status }));`;
    const result = JSON.parse(await run(process.execPath, ['--input-type=module', '-e', script], consumer)) as {
      same: boolean;
      status: number;
    };
    assert.equal(result.same, true);
    assert.ok(result.status >= 400 && result.status < 500, `an unknown path answered ${result.status}`);

    // Everything the proxy's files import, followed through the package: Node built-ins only (no Lit, no DOM).
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const [, specifier] of readFileSync(file, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?['"]([^'"]+)['"]/g)) {
        if (specifier!.startsWith('.')) visit(join(dirname(file), specifier!));
        else bare.add(specifier!);
      }
    };
    visit(join(installed, 'dist/theta-proxy.js'));
    visit(join(installed, 'dist/theta-proxy-cli.js'));
    assert.deepEqual(
      [...bare].filter((specifier) => !specifier.startsWith('node:')),
      [],
      `the proxy imports ${[...seen].map((file) => relative(installed, file)).join(', ')}`,
    );
  });

  test('`live-stream-elements theta-proxy` starts the proxy from node_modules/.bin', async () => {
    const command = join(consumer, 'node_modules', '.bin', 'live-stream-elements');
    const help = await run(command, ['theta-proxy', '--help'], consumer);
    assert.match(help, /Usage: live-stream-elements theta-proxy/);

    const child = spawn(command, ['theta-proxy', '--port', '0'], {
      cwd: consumer,
      env: { ...cleanEnvironment, THETA_SA_ID: 'srvacc_package_test', THETA_SA_SECRET: 'not-a-real-secret' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the proxy did not start: ${output}`)), 10_000);
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const found = /listening on (http:\/\/\S+)/.exec(output);
          if (found) {
            clearTimeout(timer);
            resolve(found[1]!);
          }
        });
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.once('exit', (code) => reject(new Error(`the proxy exited with ${code}: ${output}`)));
      });
      assert.doesNotMatch(output, /not-a-real-secret/);
      const response = await fetch(`${url}/not-a-theta-call`);
      assert.ok(response.status >= 400 && response.status < 500, `an unknown path answered ${response.status}`);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  test('TypeScript resolves the types of every entry point', async () => {
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib: ['es2022', 'dom', 'dom.iterable'],
          types: [],
          jsx: 'react-jsx',
          strict: true,
          noEmit: true,
          resolveJsonModule: true,
          skipLibCheck: false,
        },
        files: ['uses-every-entry.tsx'],
      }),
    );
    writeFileSync(
      join(consumer, 'uses-every-entry.tsx'),
      `import { KitStreamPlayer, ThetaLiveSetup, type KitSessionReadyDetail, type ThetaStatusChangeDetail } from '${packageName}';
import { KitStreamPlayer as KitStreamPlayerOnly } from '${packageName}/kit-stream-player.js';
import { createAppStreamerConnector, type AppStreamerLike } from '${packageName}/app-streamer-connector.js';
import { ThetaLiveSetup as ThetaLiveSetupOnly } from '${packageName}/theta-live-setup.js';
import { createThetaProxy, type ThetaProxyOptions } from '${packageName}/theta-proxy';
import { createThetaProxy as createThetaProxyAgain } from '${packageName}/theta-proxy.js';
import { KitStreamPlayer as KitStreamPlayerComponent, ThetaLiveSetup as ThetaLiveSetupComponent, type KitStreamPlayerElement } from '${packageName}/react';
import { kitStreamPlayerEvents } from '${packageName}/react.js';
import { KitStreamPlayer as KitStreamPlayerWrapper } from '${packageName}/react/kit-stream-player.js';
import { ThetaLiveSetup as ThetaLiveSetupWrapper } from '${packageName}/react/theta-live-setup.js';
import type {} from '${packageName}/jsx';
import { KitStreamPlayer as KitStreamPlayerFromCdn } from '${packageName}/cdn/live-stream-elements.js';
import manifest from '${packageName}/custom-elements.json' with { type: 'json' };

const player: KitStreamPlayer = document.createElement('kit-stream-player');
const setup: ThetaLiveSetup = document.createElement('theta-live-setup');
player.addEventListener('kit-session-ready', (event) => {
  const detail: KitSessionReadyDetail = event.detail;
  console.log(detail.host, detail.signalingPort);
});
setup.addEventListener('theta-status-change', (event) => {
  const detail: ThetaStatusChangeDetail = event.detail;
  console.log(detail.status);
});
player.fit = 'cover';
// @ts-expect-error fit is 'contain' | 'cover' | 'fill'
player.fit = 'stretch';
const classes: (typeof KitStreamPlayer | typeof ThetaLiveSetup)[] = [KitStreamPlayerOnly, ThetaLiveSetupOnly, KitStreamPlayerFromCdn];
const options: ThetaProxyOptions = { serviceAccountId: 'srvacc_x', serviceAccountSecret: 'secret' };
const handlers = [createThetaProxy(options), createThetaProxyAgain(options)];
const eventName: string = kitStreamPlayerEvents.onKitConnected;
const playerRef: { current: KitStreamPlayerElement | null } = { current: player };
const appStreamer: AppStreamerLike = { connect: async () => undefined, sendMessage: () => undefined };
player.connector = createAppStreamerConnector(appStreamer, { maxReconnects: 2 });

export const view = (
  <>
    <KitStreamPlayerComponent
      ref={playerRef}
      server="https://example.test/streaming"
      appId="usd-viewer"
      maxReconnects={3}
      requestInit={{ credentials: 'include' }}
      onKitConnected={(event) => event.detail.timeToFirstFrame.toFixed(0)}
      onKitError={(event) => event.detail.code}
    />
    {/* @ts-expect-error maxReconnects is a number */}
    <KitStreamPlayerComponent maxReconnects="three" />
    <ThetaLiveSetupComponent apiBase="/api/theta" onThetaIngestorSelected={(event) => event.detail.key.length} />
    <KitStreamPlayerWrapper server="https://example.test/streaming" onKitMessage={(event) => event.detail.eventType} />
    <ThetaLiveSetupWrapper apiBase="/api/theta" />
    <kit-stream-player server="https://example.test/streaming" app-id="usd-viewer" fit="cover" onkit-connected={(event) => event.detail.timeToFirstFrame} />
    {/* @ts-expect-error fit is 'contain' | 'cover' | 'fill' */}
    <kit-stream-player fit="stretch" />
    <theta-live-setup api-base="/api/theta" />
  </>
);
console.log(classes, handlers, eventName, playerRef, manifest.schemaVersion);
`,
    );
    await run(process.execPath, [join(projectRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], consumer);
  });

  describe('in Chromium', () => {
    let server: StaticServer;
    let browser: Browser;
    const pages: Record<string, { type: string; body: string }> = {};
    const cdnUrl = (file: string) => `/node_modules/${packageName}/dist/cdn/${file}`;
    const page = (title: string, head: string) =>
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>${head}</head><body></body></html>`;
    /** Elements the check creates get a Theta API on this server, which answers 404, instead of the real one. */
    const localApi = { 'theta-live-setup': { 'api-base': '/__no-theta__' } };
    const expectedErrors = [/\/__no-theta__\//];

    before(async () => {
      // An app that uses the npm build, bundled as a user's bundler would: a second copy of Lit and of the elements.
      writeFileSync(
        join(consumer, 'app.js'),
        `import { KitStreamPlayer } from '${packageName}';
import '${packageName}/theta-live-setup.js';
window.npmBuildLoaded = KitStreamPlayer.name;
`,
      );
      writeFileSync(
        join(consumer, 'react-app.js'),
        `import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { KitStreamPlayer } from '${packageName}/react';
const root = document.createElement('div');
document.body.append(root);
createRoot(root).render(createElement(KitStreamPlayer, { appId: 'usd-viewer', fit: 'cover' }));
`,
      );
      await esbuild.build({
        entryPoints: [join(consumer, 'app.js'), join(consumer, 'react-app.js')],
        outdir: join(consumer, 'bundled'),
        bundle: true,
        format: 'esm',
        target: 'es2022',
        define: { 'process.env.NODE_ENV': '"production"' },
        absWorkingDir: consumer,
        logLevel: 'error',
      });

      for (const name of Object.keys(cdnFiles)) {
        pages[`/module-${name}.html`] = {
          type: 'text/html',
          body: page(name, `<script type="module" src="${cdnUrl(`${name}.js`)}"></script>`),
        };
        pages[`/classic-${name}.html`] = { type: 'text/html', body: page(name, `<script src="${cdnUrl(`${name}.iife.js`)}"></script>`) };
      }
      pages['/classic-each-element.html'] = {
        type: 'text/html',
        body: page(
          'each',
          `<script src="${cdnUrl('kit-stream-player.iife.js')}"></script><script src="${cdnUrl('theta-live-setup.iife.js')}"></script>`,
        ),
      };
      pages['/cdn-then-npm.html'] = {
        type: 'text/html',
        body: page(
          'cdn then npm',
          `<script type="module" src="${cdnUrl('live-stream-elements.js')}"></script><script type="module" src="/bundled/app.js"></script>`,
        ),
      };
      pages['/npm-then-cdn.html'] = {
        type: 'text/html',
        body: page(
          'npm then cdn',
          `<script type="module" src="/bundled/app.js"></script><script type="module" src="${cdnUrl('live-stream-elements.js')}"></script>`,
        ),
      };
      pages['/classic-and-npm.html'] = {
        type: 'text/html',
        body: page(
          'classic and npm',
          `<script src="${cdnUrl('live-stream-elements.iife.js')}"></script><script type="module" src="/bundled/app.js"></script>`,
        ),
      };
      pages['/react.html'] = { type: 'text/html', body: page('react', `<script type="module" src="/bundled/react-app.js"></script>`) };

      server = await startStaticServer({ root: consumer, extra: pages });
      browser = await launchChrome();
    });

    after(async () => {
      await browser?.close();
      await server?.close();
    });

    /** Loads a page and checks that the tags upgrade without errors; `rendered` waits for an element the page creates. */
    async function check(path: string, tags: string[], rendered?: string): Promise<Page> {
      const { page: loaded, errors } = await openPage(browser, `${server.origin}${path}`, expectedErrors);
      if (rendered) await loaded.waitForSelector(rendered, { timeout: 5000 });
      const report = await upgradeReport(loaded, tags, localApi);
      for (const tag of tags)
        assert.equal(report[tag]?.upgraded, true, `${path}: <${tag}> did not upgrade (${JSON.stringify(report[tag])})`);
      assert.deepEqual(errors, [], `${path} had errors`);
      return loaded;
    }

    for (const [name, tags] of Object.entries(cdnFiles)) {
      test(`dist/cdn/${name}.js as a module registers ${tags.join(' and ')}`, async () => {
        const loaded = await check(`/module-${name}.html`, tags);
        const others = allTags.filter((tag) => !tags.includes(tag));
        assert.deepEqual(
          await loaded.evaluate((names: string[]) => names.filter((tag) => customElements.get(tag)), others),
          [],
          'registers only its own elements',
        );
        await loaded.close();
      });

      test(`dist/cdn/${name}.iife.js as a classic script registers ${tags.join(' and ')} and sets window.LiveStreamElements`, async () => {
        const loaded = await check(`/classic-${name}.html`, tags);
        const exported = await loaded.evaluate(() =>
          Object.keys((window as unknown as { LiveStreamElements?: object }).LiveStreamElements ?? {}),
        );
        const classNames = { 'kit-stream-player': 'KitStreamPlayer', 'theta-live-setup': 'ThetaLiveSetup' } as Record<string, string>;
        for (const tag of tags) assert.ok(exported.includes(classNames[tag]!), `window.LiveStreamElements.${classNames[tag]}`);
        await loaded.close();
      });
    }

    test('the classic scripts of both elements share window.LiveStreamElements', async () => {
      const loaded = await check('/classic-each-element.html', allTags);
      const exported = await loaded.evaluate(() => Object.keys((window as unknown as { LiveStreamElements: object }).LiveStreamElements));
      for (const name of ['KitStreamPlayer', 'ThetaLiveSetup']) assert.ok(exported.includes(name), name);
      await loaded.close();
    });

    for (const path of ['/cdn-then-npm.html', '/npm-then-cdn.html', '/classic-and-npm.html']) {
      test(`two copies on one page do not clash (${path.slice(1, -5)})`, async () => {
        const loaded = await check(path, allTags);
        await loaded.waitForFunction(() => (window as unknown as { npmBuildLoaded?: string }).npmBuildLoaded !== undefined, {
          timeout: 5000,
        });
        await loaded.close();
      });
    }

    test('the React wrapper, bundled from the package, renders an upgraded element with its props', async () => {
      const loaded = await check('/react.html', ['kit-stream-player'], 'kit-stream-player');
      const props = await loaded.evaluate(() => {
        const player = document.querySelector('kit-stream-player')!;
        return { appId: player.appId, fit: player.fit };
      });
      assert.deepEqual(props, { appId: 'usd-viewer', fit: 'cover' });
      await loaded.close();
    });
  });
});
