import { html, nothing, svg } from 'lit';
import { css } from '../internal/css.js';
import type { TemplateResult } from 'lit';
import { landPath } from './land.js';
import type { ThetaIngestor } from './theta-client.js';

export interface IngestorMapOptions {
  /** Nearest first, as the service lists them; those without `geo` are left off the map. */
  ingestors: ThetaIngestor[];
  selectedId?: string;
  /** The ingestor highlighted from the table (hover or focus), shown highlighted on the map. */
  highlightedId?: string;
  /** Called when a marker is hovered or focused (id), or left (undefined), so the table can highlight its row. */
  onHighlight: (id: string | undefined) => void;
}

/** Degrees of map kept around the outermost ingestors. */
const margin = 10;
/** The narrowest view in degrees of longitude, so that ingestors in one city still show the land around them. */
const minWidth = 60;

/**
 * The part of the 360×180 land grid (x = longitude + 180, y = 90 − latitude) that shows every point with a margin,
 * at the grid's 2:1 aspect, kept inside the grid.
 */
function viewBox(points: Array<[number, number]>): [number, number, number, number] {
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y);
  const [left, right, top, bottom] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const width = Math.min(360, Math.ceil(Math.max(minWidth, right - left + 2 * margin, 2 * (bottom - top + 2 * margin))));
  const clamp = (value: number, max: number) => Math.round(Math.min(Math.max(value, 0), max) * 10) / 10;
  return [clamp((left + right - width) / 2, 360 - width), clamp((top + bottom - width / 2) / 2, 180 - width / 2), width, width / 2];
}

/**
 * The ingestors on a world map, zoomed to their region. Markers follow the table: the same order (so Tab walks them
 * nearest first), the same names, and hovering or focusing one highlights its row through `onHighlight`. Markers are
 * images that can take focus rather than buttons: selecting stays with the table's Select buttons.
 */
export function renderIngestorMap({
  ingestors,
  selectedId,
  highlightedId,
  onHighlight,
}: IngestorMapOptions): TemplateResult | typeof nothing {
  const placed = ingestors.filter((ingestor) => ingestor.geo !== null);
  if (placed.length === 0) return nothing;
  const points = placed.map(({ geo }): [number, number] => [geo![0] + 180, 90 - geo![1]]);
  const [x, y, width, height] = viewBox(points);
  // Markers keep about the same size on screen whatever the zoom: radii follow the view's width.
  const unit = width / 320;
  const nearest = ingestors[0];
  return html`<svg
    part="map"
    class="map"
    viewBox="${x} ${y} ${width} ${height}"
    role="group"
    aria-label=${`Map of ${placed.length} ingestor${placed.length === 1 ? '' : 's'}${nearest.geo ? ', the nearest ringed' : ''}`}
  >
    <path class="map-land" d=${landPath}></path>
    ${placed.map((ingestor, index) => {
      const [cx, cy] = points[index];
      const name = [
        ingestor.ip ?? ingestor.id,
        ingestor === nearest && 'nearest',
        ingestor.id === selectedId ? 'selected' : ingestor.state !== 'available' && ingestor.state,
      ];
      return svg`<g
        class=${`map-point${ingestor.id === selectedId ? ' selected' : ''}${ingestor.id === highlightedId ? ' highlighted' : ''}`}
        tabindex="0"
        role="img"
        aria-label=${name.filter(Boolean).join(', ')}
        @focus=${() => onHighlight(ingestor.id)}
        @blur=${() => onHighlight(undefined)}
        @mouseenter=${() => onHighlight(ingestor.id)}
        @mouseleave=${() => onHighlight(undefined)}
      >
        ${ingestor === nearest ? svg`<circle class="map-nearest" vector-effect="non-scaling-stroke" cx=${cx} cy=${cy} r=${10 * unit}></circle>` : nothing}
        <circle class="map-dot" vector-effect="non-scaling-stroke" cx=${cx} cy=${cy} r=${5 * unit}></circle>
      </g>`;
    })}
  </svg>`;
}

export const mapStyles = css`
  .map {
    display: block;
    width: 100%;
    max-width: 480px;
    margin: 8px 0;
    border-radius: var(--_radius);
    background: var(--theta-live-setup-map-sea, color-mix(in srgb, currentColor 5%, transparent));
  }

  .map-land {
    fill: var(--theta-live-setup-map-land, color-mix(in srgb, currentColor 16%, transparent));
  }

  .map-point {
    outline: none;
  }

  .map-dot {
    fill: var(--_accent);
    stroke: Canvas;
    stroke-width: 1.5px;
    transform-box: fill-box;
    transform-origin: center;
  }

  .map-nearest {
    fill: none;
    stroke: var(--_accent);
    stroke-width: 2px;
  }

  .map-point.selected .map-dot {
    fill: var(--theta-live-setup-live, #d1242f);
  }

  .map-point:hover .map-dot,
  .map-point:focus-visible .map-dot,
  .map-point.highlighted .map-dot {
    transform: scale(1.6);
    stroke: currentColor;
  }

  .map-point:focus-visible .map-dot {
    stroke-width: 3px;
  }
`;
