/**
 * A dev-server plugin (for @web/test-runner) that serves React to browser tests. React ships CommonJS only, which a
 * browser cannot import, so `react`, `react/jsx-runtime`, `react-dom` and `react-dom/client` are bundled once with
 * esbuild into ES modules sharing one copy of React, and bare imports of them resolve to those modules.
 */
import { execFileSync } from 'node:child_process';
import { basename, join } from 'node:path';
import * as esbuild from 'esbuild';
import { projectRoot } from './paths.js';

/** The URL folder the bundles are served from. */
const servedFrom = '/__prebundled__';

/** Import specifier -> bundle file name. */
const bundles: Record<string, string> = {
  react: 'react.js',
  'react/jsx-runtime': 'react-jsx-runtime.js',
  'react-dom': 'react-dom.js',
  'react-dom/client': 'react-dom-client.js',
};

/**
 * The names each CommonJS module exports, read by loading them in a separate Node process: esbuild cannot list a
 * CommonJS module's exports, and loading React in the test runner's process would meet its patched console.
 */
function exportNames(): Record<string, string[]> {
  const script = `const names = {};
for (const specifier of ${JSON.stringify(Object.keys(bundles))}) names[specifier] = Object.keys(require(specifier));
process.stdout.write(JSON.stringify(names));`;
  return JSON.parse(
    execFileSync(process.execPath, ['--input-type=commonjs', '-e', script], { cwd: projectRoot, encoding: 'utf8' }),
  ) as Record<string, string[]>;
}

/** An ES module that re-exports a CommonJS module's names one by one. */
function reexportingModule(specifier: string, names: string[]): string {
  const identifiers = names.filter((name) => /^[A-Za-z_$][\w$]*$/.test(name) && name !== 'default');
  return `import * as commonjs from ${JSON.stringify(specifier)};
export default commonjs.default ?? commonjs;
export const { ${identifiers.join(', ')} } = commonjs;
`;
}

async function buildBundles(): Promise<Map<string, string>> {
  const names = exportNames();
  const result = await esbuild.build({
    entryPoints: Object.entries(bundles).map(([specifier, file]) => ({ in: `prebundle:${specifier}`, out: file.replace(/\.js$/, '') })),
    bundle: true,
    splitting: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    outdir: join(projectRoot, '.prebundled'),
    define: { 'process.env.NODE_ENV': '"development"' },
    logLevel: 'silent',
    plugins: [
      {
        name: 'reexport-commonjs',
        setup(build) {
          build.onResolve({ filter: /^prebundle:/ }, ({ path }) => ({ path: path.slice('prebundle:'.length), namespace: 'prebundle' }));
          build.onLoad({ filter: /.*/, namespace: 'prebundle' }, ({ path }) => ({
            contents: reexportingModule(path, names[path] ?? []),
            resolveDir: projectRoot,
            loader: 'js',
          }));
        },
      },
    ],
  });
  return new Map(result.outputFiles.map((file) => [`${servedFrom}/${basename(file.path)}`, file.text]));
}

/** The plugin: resolves the React specifiers and serves the bundles, built on first use. */
export function prebundledReactPlugin() {
  let built: Promise<Map<string, string>> | undefined;
  return {
    name: 'prebundled-react',
    resolveImport({ source }: { source: string }): string | undefined {
      const file = bundles[source];
      return file ? `${servedFrom}/${file}` : undefined;
    },
    async serve(context: { path: string }): Promise<{ body: string; type: string } | undefined> {
      if (!context.path.startsWith(`${servedFrom}/`)) return undefined;
      built ??= buildBundles();
      const body = (await built).get(context.path);
      return body === undefined ? undefined : { body, type: 'js' };
    },
  };
}
