/**
 * The React entries of the npm build: each element's wrapper ships and registers that element only, and every
 * wrapper file starts with "use client" so that Next.js Server Components can import it. Reads dist/ (npm test
 * builds first).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { distDir } from '../tools/paths.js';

/** Every file of dist/ that `entry` imports, directly or not (relative imports only: lit and react stay packages). */
function importGraph(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    for (const [, specifier] of code.matchAll(/(?:import|export)\s*(?:[^'"]*?from\s*)?['"](\.[^'"]+)['"]/g))
      visit(join(dirname(file), specifier));
  };
  visit(join(distDir, entry));
  return [...seen].map((file) => relative(distDir, file)).sort();
}

for (const [entry, own, other] of [
  ['react/kit-stream-player.js', 'kit-stream-player', 'theta-live-setup'],
  ['react/theta-live-setup.js', 'theta-live-setup', 'kit-stream-player'],
] as const) {
  test(`${entry} ships <${own}> and not <${other}>`, () => {
    const files = importGraph(entry);
    assert.ok(files.includes(`${own}.js`), `${entry} does not import ${own}.js: ${files.join(', ')}`);
    const code = files.map((file) => readFileSync(join(distDir, file), 'utf8')).join('\n');
    assert.ok(code.includes(`'${own}'`), `the ${own} tag is not registered`);
    assert.ok(!code.includes(`'${other}'`), `${entry} reaches the ${other} tag through ${files.join(', ')}`);
  });
}

test('the React wrappers start with "use client"', () => {
  for (const entry of ['react.js', 'react/kit-stream-player.js', 'react/theta-live-setup.js']) {
    assert.match(readFileSync(join(distDir, entry), 'utf8'), /^'use client';\n/, entry);
  }
});
