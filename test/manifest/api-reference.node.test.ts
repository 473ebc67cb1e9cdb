/** The README's API reference is the one generated from custom-elements.json (`npm run docs` rewrites it). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { endMarker, generateApiReference, readmePath, readmeSection, startMarker } from '../tools/api-reference.js';

const section = readmeSection(readFileSync(readmePath, 'utf8'));

test(
  "README.md's API reference matches the elements",
  { skip: section === undefined && `README.md has no ${startMarker} ... ${endMarker} section yet` },
  async () => {
    assert.equal(section, (await generateApiReference()).trim(), 'README.md is out of date: run `npm run docs`');
  },
);
