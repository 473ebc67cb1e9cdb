/**
 * `npm run size`: the size of every CDN file (minified, and gzipped as a CDN serves it) against its budget, as a
 * plain table and as Markdown for the README. Exits non-zero when a file is over budget or missing.
 * Measures the current build: run `npm run build` first.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { cdnDir } from './paths.js';

/**
 * Gzip budgets in bytes, Lit included, counted as binary kilobytes (1 kB = 1024 bytes, as gzip and most CDNs report
 * sizes). A classic-script file has its module's budget. Targets: 18 kB for each element and 28 kB for both. Enforced
 * until the cuts that reach the targets are made: 21 kB for the Kit element, which stands at about 20.8 kB since it
 * learned Kit's own protocol (binary input, cursor, nvstSdp); 19 kB for the Theta element, which stands at about
 * 18.5 kB since it runs its steps on `@lit/task` (about 0.55 kB) and recovers from more faults (lost answers, a
 * selection lapsed or a stream deleted on the service, a stalled preview); and 32 kB for both.
 */
export const gzipBudgets: Record<string, number> = {
  'kit-stream-player': 21 * 1024,
  'theta-live-setup': 19 * 1024,
  'live-stream-elements': 32 * 1024,
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

/** The table as Markdown, ready for the README. */
export function sizeTable(sizes: CdnFileSize[]): string {
  const rows = sizes.map(
    ({ file, minified, gzipped, budget }) =>
      `| \`${file}\` | ${kilobytes(minified)} | ${kilobytes(gzipped)} | ${kilobytes(budget)} | ${gzipped <= budget ? 'within' : '**over**'} |`,
  );
  return ['| CDN file (`dist/cdn/`) | Minified | Gzipped | Gzip budget | |', '| --- | ---: | ---: | ---: | --- |', ...rows].join('\n');
}

function main(): number {
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
  console.log(`\nMarkdown:\n\n${sizeTable(sizes)}\n`);
  const over = sizes.filter(({ gzipped, budget }) => gzipped > budget);
  if (over.length > 0) {
    console.error(`Over the gzip budget: ${over.map(({ file }) => file).join(', ')}`);
    return 1;
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = main();
