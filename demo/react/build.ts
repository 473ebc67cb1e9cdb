/**
 * Bundles the React demo (app.tsx, React and the elements' sources) into app.js next to it, so the page runs from
 * any static server with nothing fetched from elsewhere. `npm start` runs this first.
 */
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export async function buildReactDemo(): Promise<void> {
  await esbuild.build({
    entryPoints: [here('./app.tsx')],
    outfile: here('./app.js'),
    bundle: true,
    format: 'esm',
    // Decorators are compiled to what browsers run today, as in the library's own build.
    target: 'es2022',
    tsconfig: here('../../tsconfig.json'),
    define: { 'process.env.NODE_ENV': '"development"' },
    logLevel: 'warning',
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildReactDemo();
