/** The README's API reference is the one generated from custom-elements.json (`npm run docs` rewrites it). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { endMarker, generateApiReference, readmePath, readmeSection, startMarker } from '../tools/api-reference.js';

test("README.md's API reference matches the elements", async () => {
  const section = readmeSection(readFileSync(readmePath, 'utf8'));
  assert.notEqual(section, undefined, `README.md has lost its ${startMarker} ... ${endMarker} section`);
  assert.equal(section, (await generateApiReference()).trim(), 'README.md is out of date: run `npm run docs`');
});
