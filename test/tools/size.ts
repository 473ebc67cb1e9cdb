/**
 * `npm run size`: the size of every CDN file (minified, and gzipped as a CDN serves it) against its budget, as a
 * plain table and as Markdown for the README. Exits non-zero when a file is over budget or missing.
 * Measures the current build: run `npm run build` first.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import nodeResolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import { rollup, type Plugin } from 'rollup';
import { cdnDir } from './paths.js';

/**
 * Gzip budgets in bytes, Lit included, counted as binary kilobytes (1 kB = 1024 bytes, as gzip and most CDNs report
 * sizes). A classic-script file has its module's budget. Targets: 18 kB for each element and 28 kB for both. The Theta
 * element meets its target, which is its budget. Until the cuts that reach the others are made, each of their budgets
 * sits just above the file's measured size, so that it can only shrink: the Kit element carries Kit's own protocol
 * (binary input, the cursor channel, nvstSdp, codec and bitrate negotiation), and Lit alone is about 5.5 kB of each
 * file (`npm run size` prints that floor).
 */
export const gzipBudgets: Record<string, number> = {
  'kit-stream-player': 20.75 * 1024,
  'theta-live-setup': 18 * 1024,
  'live-stream-elements': 31 * 1024,
};

export interface CdnFileSize {
  file: string;
  minified: number;
  gzipped: number;
  budget: number;
}

/** Every budgeted CDN file, module and classic script. Throws when dist/cdn/ or a file is missing. */
export function measureCdnFiles(): CdnFileSize[] {
  if (!existsSync(cdnDir)) throw new Error('dist/cdn/ does not exist: run `npm run build` first.');
  const expectedFiles = Object.keys(gzipBudgets).flatMap((name) => [`${name}.js`, `${name}.iife.js`]);
  const unbudgeted = readdirSync(cdnDir).filter((file) => file.endsWith('.js') && !expectedFiles.includes(file));
  if (unbudgeted.length > 0) throw new Error(`dist/cdn/ has files without a budget: ${unbudgeted.join(', ')}`);
  return expectedFiles.map((file) => {
    const path = join(cdnDir, file);
    if (!existsSync(path)) throw new Error(`dist/cdn/${file} is missing: run \`npm run build\`.`);
    const contents = readFileSync(path);
    return {
      file,
      minified: contents.length,
      gzipped: gzipSync(contents, { level: 9 }).length,
      budget: gzipBudgets[file.replace(/(\.iife)?\.js$/, '')],
    };
  });
}

const kilobytes = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
/** Budgets are set in quarters of a kilobyte: shown as set. */
const budgetKilobytes = (bytes: number) => `${Number((bytes / 1024).toFixed(2))} kB`;

/** The table as Markdown, ready for the README. */
export function sizeTable(sizes: CdnFileSize[]): string {
  const rows = sizes.map(
    ({ file, minified, gzipped, budget }) =>
      `| \`${file}\` | ${kilobytes(minified)} | ${kilobytes(gzipped)} | ${budgetKilobytes(budget)} | ${gzipped <= budget ? 'within' : '**over**'} |`,
  );
  return ['| CDN file (`dist/cdn/`) | Minified | Gzipped | Gzip budget | |', '| --- | ---: | ---: | ---: | --- |', ...rows].join('\n');
}

/** A bare element: what every CDN file carries before any code of its own (styles as src/internal/css.ts makes them). */
const floorElement = `
import { LitElement, html, nothing, unsafeCSS } from 'lit';
class SizeFloor extends LitElement {
  static properties = { label: {} };
  static styles = unsafeCSS(':host { display: block }');
  render() { return this.label ? html\`<p>\${this.label}</p>\` : nothing; }
}
customElements.define('size-floor', SizeFloor);
`;

/** The same element with one `@lit/task`, which the Theta element runs its steps on. */
const floorElementWithTask = `${floorElement}
import { Task } from '@lit/task';
new Task(new SizeFloor(), { task: async ([label]) => label, args: () => ['x'] });
`;

/**
 * The gzip size of a bare element built as the CDN files are (Lit inlined, minified with the options of
 * rollup.config.mjs): the floor under each file, which no cut in the elements' own code can go below.
 */
export async function measureFloor(source: string): Promise<number> {
  const entry = '\0size-floor';
  const virtualEntry: Plugin = {
    name: 'size-floor',
    resolveId: (id) => (id === entry ? id : null),
    load: (id) => (id === entry ? source : null),
  };
  const bundle = await rollup({ input: entry, plugins: [virtualEntry, nodeResolve({ browser: true })] });
  try {
    const { output } = await bundle.generate({
      format: 'es',
      plugins: [terser({ ecma: 2022, module: true, compress: { passes: 3 }, format: { comments: false } })],
    });
    return gzipSync(output[0].code, { level: 9 }).length;
  } finally {
    await bundle.close();
  }
}

async function main(): Promise<number> {
  let sizes: CdnFileSize[];
  try {
    sizes = measureCdnFiles();
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
  const width = Math.max(...sizes.map(({ file }) => file.length));
  console.log(`${'file'.padEnd(width)}  ${'minified'.padStart(10)}  ${'gzipped'.padStart(10)}  ${'budget'.padStart(10)}`);
  for (const { file, minified, gzipped, budget } of sizes) {
    const verdict = gzipped <= budget ? '' : `  OVER by ${gzipped - budget} bytes`;
    console.log(
      `${file.padEnd(width)}  ${String(minified).padStart(10)}  ${String(gzipped).padStart(10)}  ${String(budget).padStart(10)}${verdict}`,
    );
  }
  const lit = await measureFloor(floorElement);
  const litWithTask = await measureFloor(floorElementWithTask);
  console.log(
    `\nFloor (a bare element built the same way): Lit ${lit} bytes gzipped, Lit with @lit/task ${litWithTask}.` +
      `\nEach element's own code: Kit ${ownCode(sizes, 'kit-stream-player.js', lit)}, Theta ${ownCode(sizes, 'theta-live-setup.js', litWithTask)}.`,
  );
  console.log(`\nMarkdown:\n\n${sizeTable(sizes)}\n`);
  const over = sizes.filter(({ gzipped, budget }) => gzipped > budget);
  if (over.length > 0) {
    console.error(`Over the gzip budget: ${over.map(({ file }) => file).join(', ')}`);
    return 1;
  }
  return 0;
}

/** A file's gzip size above the floor, as `<bytes> bytes (<share>% of the file)`. */
function ownCode(sizes: CdnFileSize[], file: string, floor: number): string {
  const { gzipped } = sizes.find((size) => size.file === file)!;
  return `${gzipped - floor} bytes (${Math.round((100 * (gzipped - floor)) / gzipped)}% of the file)`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main();
