/**
 * The ingestor map's land: the committed src/theta-live-setup/land.ts is exactly what the generator makes from the
 * data packages (so it can be made again), and its path is one well-formed outline on the 360×180 grid.
 *
 * Run: node --import tsx --test test/theta-live-setup/land-path.node.test.ts
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { landPath } from '../../src/theta-live-setup/land.js';
import { landModulePath, landModuleSource, landPathFrom, landPathSettings } from '../tools/land-path.js';

/** The absolute points of every subpath, following the relative commands as a renderer does. */
function subpaths(path: string): Array<Array<[number, number]>> {
  const tokens = path.match(/[A-Za-z]|-?(?:\d+\.?\d*|\.\d+)/g) ?? [];
  const rings: Array<Array<[number, number]>> = [];
  let command = '';
  let current: [number, number] = [0, 0];
  let start: [number, number] = [0, 0];
  for (let index = 0; index < tokens.length;) {
    const token = tokens[index];
    if (/[A-Za-z]/.test(token)) {
      command = token;
      index++;
      if (command === 'z' || command === 'Z') current = start;
      continue;
    }
    const x = Number(tokens[index]);
    const y = Number(tokens[index + 1]);
    index += 2;
    const relative = command === command.toLowerCase();
    current = relative ? [current[0] + x, current[1] + y] : [x, y];
    if (command === 'm' || command === 'M') {
      start = current;
      rings.push([current]);
      // Further pairs after a move are line segments, as SVG says.
      command = relative ? 'l' : 'L';
    } else {
      rings.at(-1)!.push(current);
    }
  }
  return rings;
}

describe('land path', () => {
  it('the committed module is what the generator makes', () => {
    assert.equal(readFileSync(landModulePath, 'utf8'), landModuleSource());
  });

  it('uses only move, line and close commands, with whole numbers', () => {
    assert.match(landPath, /^M/);
    assert.match(landPath, /^(?:[MmLlZz]|-?\d+| )+$/);
    // Every subpath closes.
    assert.equal(landPath.match(/[Mm]/g)?.length, landPath.match(/z/gi)?.length);
  });

  it('stays on the 360×180 grid', () => {
    const rings = subpaths(landPath);
    assert.ok(rings.length > 40, `${rings.length} rings`);
    for (const ring of rings) {
      assert.ok(ring.length >= 3, 'a ring has at least three points');
      for (const [x, y] of ring) {
        assert.ok(x >= 0 && x <= 360 && y >= 0 && y <= 180, `point ${x},${y} is off the grid`);
      }
    }
  });

  it('puts land where land is and sea where sea is', () => {
    // Even-odd point-in-polygon over all rings, which is how holes (the Caspian Sea) read too.
    const rings = subpaths(landPath);
    const isLand = (lon: number, lat: number) => {
      const [px, py] = [lon + 180, 90 - lat];
      let inside = false;
      for (const ring of rings) {
        for (let index = 0, previous = ring.length - 1; index < ring.length; previous = index++) {
          const [x1, y1] = ring[index];
          const [x2, y2] = ring[previous];
          if (y1 > py !== y2 > py && px < ((x2 - x1) * (py - y1)) / (y2 - y1) + x1) inside = !inside;
        }
      }
      return inside;
    };
    const places: Array<[string, number, number, boolean]> = [
      ['Paris', 2.35, 48.86, true],
      ['Chicago', -87.6, 41.9, true],
      ['São Paulo', -46.6, -23.5, true],
      ['Nairobi', 36.8, -1.3, true],
      ['Beijing', 116.4, 39.9, true],
      ['Sydney area', 150, -33, true],
      ['mid-Atlantic', -40, 30, false],
      ['central Pacific', -150, 0, false],
      ['Indian Ocean', 80, -20, false],
      ['Mediterranean', 18, 35, false],
      ['Caspian Sea', 51, 42, false],
      ['Antarctica (left out)', 0, -80, false],
    ];
    for (const [name, lon, lat, land] of places) assert.equal(isLand(lon, lat), land, name);
  });

  it('keeps its gzip size within the map budget', () => {
    const size = gzipSync(landPath, { level: 9 }).length;
    assert.ok(size <= 1600, `${size} bytes gzip`);
  });

  it('cuts outlines that cross the antimeridian instead of drawing bands across the world', () => {
    const ring: Array<[number, number]> = [
      [178, 70],
      [-178, 70],
      [-178, 72],
      [178, 72],
      [178, 70],
    ];
    const path = landPathFrom([ring], { ...landPathSettings, minArea: 0, tolerance: 0 });
    const pieces = subpaths(path);
    assert.equal(pieces.length, 2);
    const widths = pieces.map((piece) => Math.max(...piece.map(([x]) => x)) - Math.min(...piece.map(([x]) => x)));
    assert.deepEqual(widths, [2, 2]);
  });
});
