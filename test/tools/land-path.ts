/**
 * `node --import tsx test/tools/land-path.ts`: turns Natural Earth's land (world-atlas land-110m, public domain) into
 * the single SVG path that `<theta-live-setup>` draws under its ingestor map, and writes it to
 * src/theta-live-setup/land.ts. The map is built here, once, so that the element ships a path string and no
 * geographic data or TopoJSON decoder. Reproducible: the same data and settings give the same bytes, which the
 * land-path Node test checks against the committed module.
 *
 * The path lives on a 360×180 equirectangular grid (x = longitude + 180, y = 90 − latitude), so the element places an
 * ingestor on it without any projection code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import { projectRoot } from './paths.js';

type Point = [number, number];

export interface LandPathSettings {
  /** Douglas–Peucker tolerance in degrees: how far the outline may stray from the data. */
  tolerance: number;
  /** Rings (islands, lakes) smaller than this, in square degrees, are left out. */
  minArea: number;
  /** Southern limit in degrees of latitude: land wholly south of it (Antarctica) has no ingestors to show. */
  southLimit: number;
}

/**
 * Tuned so that the path stays near 1.4 kB gzip while the continents, the large islands and seas such as the
 * Mediterranean, the Baltic and the Red Sea keep recognisable shapes when the map is zoomed to a region.
 */
export const landPathSettings: LandPathSettings = { tolerance: 0.75, minArea: 2, southLimit: -60 };

export const landModulePath = join(projectRoot, 'src/theta-live-setup/land.ts');

/** Natural Earth's land as rings of [longitude, latitude] points, outer rings and holes alike. */
export function readLandRings(): Point[][] {
  const require = createRequire(import.meta.url);
  const topology = JSON.parse(readFileSync(require.resolve('world-atlas/land-110m.json'), 'utf8')) as Topology<{
    land: GeometryCollection;
  }>;
  const land = feature(topology, topology.objects.land);
  return land.features.flatMap(({ geometry }) => {
    if (geometry.type === 'Polygon') return geometry.coordinates as Point[][];
    if (geometry.type === 'MultiPolygon') return geometry.coordinates.flat() as Point[][];
    return [];
  });
}

/**
 * A ring on the grid. Natural Earth's rings that cross the antimeridian (Chukotka, Fiji, Wrangel Island) jump from one
 * edge to the other, which a plain projection would draw as a band across the world: their longitudes are unwrapped
 * into one continuous ring, which is then cut at the grid's edge into the part on each side.
 */
function gridRings(ring: Point[]): Point[][] {
  const unwrapped: Point[] = [];
  for (const [lon, lat] of ring.slice(0, -1)) {
    let x = lon + 180;
    const previous = unwrapped.at(-1);
    if (previous) x += 360 * Math.round((previous[0] - x) / 360);
    unwrapped.push([x, 90 - lat]);
  }
  const xs = unwrapped.map(([x]) => x);
  if (Math.max(...xs) > 360) return [clipRing(unwrapped, 360, -1), clipRing(shiftRing(unwrapped, -360), 0, 1)];
  if (Math.min(...xs) < 0) return [clipRing(unwrapped, 0, 1), clipRing(shiftRing(unwrapped, 360), 360, -1)];
  return [unwrapped];
}

function shiftRing(ring: Point[], dx: number): Point[] {
  return ring.map(([x, y]) => [x + dx, y]);
}

/** Sutherland–Hodgman against one vertical line: keeps the part where `side * (x - edge) >= 0`. */
function clipRing(ring: Point[], edge: number, side: 1 | -1): Point[] {
  const inside = ([x]: Point) => side * (x - edge) >= 0;
  const clipped: Point[] = [];
  ring.forEach((point, index) => {
    const previous = ring.at(index - 1)!;
    if (inside(point) !== inside(previous)) {
      const t = (edge - previous[0]) / (point[0] - previous[0]);
      clipped.push([edge, previous[1] + t * (point[1] - previous[1])]);
    }
    if (inside(point)) clipped.push(point);
  });
  return clipped;
}

/** Shoelace area of a closed ring (sign by winding). */
function ringArea(ring: Point[]): number {
  let sum = 0;
  for (let index = 0; index < ring.length; index++) {
    const [x1, y1] = ring[index];
    const [x2, y2] = ring[(index + 1) % ring.length];
    sum += x1 * y2 - x2 * y1;
  }
  return sum / 2;
}

/** Distance from `point` to the segment from `start` to `end`. */
function segmentDistance(point: Point, start: Point, end: Point): number {
  const dx = end[0] - start[0];
  const dy = end[1] - start[1];
  const lengthSquared = dx * dx + dy * dy;
  const t = lengthSquared === 0 ? 0 : Math.max(0, Math.min(1, ((point[0] - start[0]) * dx + (point[1] - start[1]) * dy) / lengthSquared));
  return Math.hypot(point[0] - start[0] - t * dx, point[1] - start[1] - t * dy);
}

/** Douglas–Peucker on an open polyline; keeps both ends. */
function simplifyLine(points: Point[], tolerance: number): Point[] {
  const keep = new Array<boolean>(points.length).fill(false);
  keep[0] = keep[points.length - 1] = true;
  const stack: Array<[number, number]> = [[0, points.length - 1]];
  while (stack.length > 0) {
    const [first, last] = stack.pop()!;
    let farthest = -1;
    let farthestDistance = tolerance;
    for (let index = first + 1; index < last; index++) {
      const distance = segmentDistance(points[index], points[first], points[last]);
      if (distance > farthestDistance) {
        farthest = index;
        farthestDistance = distance;
      }
    }
    if (farthest !== -1) {
      keep[farthest] = true;
      stack.push([first, farthest], [farthest, last]);
    }
  }
  return points.filter((_, index) => keep[index]);
}

/**
 * Douglas–Peucker on a closed ring (without its repeated closing point): split at the point farthest from the
 * first, so that a ring is never collapsed to the single segment between its two ends.
 */
function simplifyRing(ring: Point[], tolerance: number): Point[] {
  let farthest = 0;
  for (let index = 1; index < ring.length; index++) {
    if (
      Math.hypot(ring[index][0] - ring[0][0], ring[index][1] - ring[0][1]) >
      Math.hypot(ring[farthest][0] - ring[0][0], ring[farthest][1] - ring[0][1])
    ) {
      farthest = index;
    }
  }
  const head = simplifyLine(ring.slice(0, farthest + 1), tolerance);
  const tail = simplifyLine([...ring.slice(farthest), ring[0]], tolerance);
  return [...head, ...tail.slice(1, -1)];
}

/** Whether `point` lies on the way straight on from `previous` to `next`, so that it adds nothing to the outline. */
function isStraightOn(previous: Point, point: Point, next: Point): boolean {
  const [ax, ay] = [point[0] - previous[0], point[1] - previous[1]];
  const [bx, by] = [next[0] - point[0], next[1] - point[1]];
  return ax * by - ay * bx === 0 && ax * bx + ay * by > 0;
}

/** Joins whole numbers as SVG path syntax allows: a minus sign separates as well as a space does. */
function joinNumbers(values: number[]): string {
  return values.reduce((text, value, index) => text + (index === 0 || value < 0 ? '' : ' ') + String(value), '');
}

/**
 * The land as one path on the 360×180 grid, in whole degrees: each ring a relative subpath (`m` from the previous
 * ring's start, `l` deltas, `z`). Small relative numbers repeat often, which gzip rewards; whole degrees keep the
 * path about half the size of tenths, and at the map's closest zoom (about 60° across) a degree is a few pixels.
 */
export function landPathFrom(rings: Point[][], settings: LandPathSettings): string {
  const commands: string[] = [];
  let previousStart: Point = [0, 0];
  const southernmostY = 90 - settings.southLimit;
  for (const ring of rings.flatMap(gridRings)) {
    if (ring.length < 3 || Math.min(...ring.map(([, y]) => y)) > southernmostY || Math.abs(ringArea(ring)) < settings.minArea) continue;
    const points = simplifyRing(ring, settings.tolerance)
      .map(([x, y]): Point => [Math.round(x), Math.round(y)])
      .filter((point, index, all) => point[0] !== all.at(index - 1)![0] || point[1] !== all.at(index - 1)![1])
      .filter((point, index, all) => !isStraightOn(all.at(index - 1)!, point, all[(index + 1) % all.length]));
    if (points.length < 3) continue;
    const [start, ...rest] = points;
    const deltas = rest.flatMap((point, index) => {
      const from = index === 0 ? start : rest[index - 1];
      return [point[0] - from[0], point[1] - from[1]];
    });
    const move =
      commands.length === 0 ? `M${joinNumbers(start)}` : `m${joinNumbers([start[0] - previousStart[0], start[1] - previousStart[1]])}`;
    commands.push(`${move}l${joinNumbers(deltas)}z`);
    previousStart = start;
  }
  return commands.join('');
}

/** The generated module's text, formatted as Prettier leaves it. */
export function landModuleSource(settings: LandPathSettings = landPathSettings): string {
  const path = landPathFrom(readLandRings(), settings);
  return (
    '/** generated by test/tools/land-path.ts from world-atlas land-110m (Natural Earth, public domain); do not edit */\n' +
    `export const landPath =\n  '${path}';\n`
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(landModulePath, landModuleSource());
  console.log(`Wrote ${landModulePath}`);
}
