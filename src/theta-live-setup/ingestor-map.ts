import { svg } from 'lit';
import type { ThetaIngestor } from './theta-client.js';

const width = 320;
const height = 160;
const margin = 16;

/** Longitude/latitude to SVG coordinates: an equirectangular view fitted around the ingestors, with a margin. */
export function projectIngestors(ingestors: ThetaIngestor[]): Array<{ ingestor: ThetaIngestor; x: number; y: number }> {
  const placed = ingestors.filter((ingestor) => ingestor.geo !== null);
  if (placed.length === 0) return [];
  const lons = placed.map((ingestor) => ingestor.geo![0]);
  const lats = placed.map((ingestor) => ingestor.geo![1]);
  // At least a few degrees across, so that ingestors in one city do not fill the whole map.
  const span = Math.max(Math.max(...lons) - Math.min(...lons), (Math.max(...lats) - Math.min(...lats)) * 2, 4);
  const centerLon = (Math.max(...lons) + Math.min(...lons)) / 2;
  const centerLat = (Math.max(...lats) + Math.min(...lats)) / 2;
  const scale = (width - 2 * margin) / span;
  return placed.map((ingestor) => ({
    ingestor,
    x: Math.round((width / 2 + (ingestor.geo![0] - centerLon) * scale) * 10) / 10,
    y: Math.round((height / 2 - (ingestor.geo![1] - centerLat) * scale) * 10) / 10,
  }));
}

/** A small inline map of the ingestors: no tiles, just their positions, the nearest one marked. */
export function renderIngestorMap(ingestors: ThetaIngestor[], selectedId: string | undefined) {
  const points = projectIngestors(ingestors);
  const nearest = ingestors[0]?.id;
  const label =
    points.length === 0
      ? 'No ingestor positions to show.'
      : `Map of ${points.length} ingestor${points.length === 1 ? '' : 's'}; the nearest is marked with a ring.`;
  return svg`<svg part="map" class="map" viewBox="0 0 ${width} ${height}" role="img" aria-label=${label}>
    <rect x="0" y="0" width=${width} height=${height} rx="8" class="map-ground"></rect>
    ${points.map(
      ({ ingestor, x, y }) => svg`<g class=${`map-point${ingestor.id === selectedId ? ' selected' : ''}`}>
        <title>${ingestor.ip ?? ingestor.id}${ingestor.id === nearest ? ' (nearest)' : ''}</title>
        ${ingestor.id === nearest ? svg`<circle cx=${x} cy=${y} r="9" class="map-nearest"></circle>` : null}
        <circle cx=${x} cy=${y} r="4"></circle>
      </g>`,
    )}
  </svg>`;
}
