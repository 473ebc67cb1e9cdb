import { expect } from '@open-wc/testing';
import { resetMouse, sendKeys, sendMouse } from '@web/test-runner-commands';
import { html, nothing, render } from 'lit';
import { mapStyles, renderIngestorMap } from '../../src/theta-live-setup/ingestor-map.js';
import type { IngestorMapOptions } from '../../src/theta-live-setup/ingestor-map.js';
import { landPath } from '../../src/theta-live-setup/land.js';
import type { ThetaIngestor } from '../../src/theta-live-setup/theta-client.js';

const ingestor = (id: string, ip: string | null, geo: [number, number] | null, state = 'available'): ThetaIngestor => ({
  id,
  ip,
  stream_key: null,
  state,
  stakes: null,
  geo,
});

/** Nearest first, as the service lists them: Paris, New York (busy), one without a position, Berlin (no IP). */
const ingestors = [
  ingestor('0xAbC1', '203.0.113.7', [2.35, 48.86]),
  ingestor('0xAbC2', '198.51.100.20', [-74, 40.7], 'busy'),
  ingestor('0xAbC3', '192.0.2.44', null),
  ingestor('0xAbC4', null, [13.4, 52.5]),
];

let container: HTMLElement;
let highlights: Array<string | undefined>;

function show(options: Partial<IngestorMapOptions> = {}): void {
  render(
    html`<style>
        ${mapStyles.cssText}
      </style>
      <button type="button">Before the map</button>
      ${renderIngestorMap({ ingestors, onHighlight: (id) => highlights.push(id), ...options })}`,
    container,
  );
}

const map = () => container.querySelector<SVGSVGElement>('svg[part="map"]')!;
const markers = () => [...container.querySelectorAll<SVGGElement>('.map-point')];
const dot = (marker: SVGGElement) => marker.querySelector<SVGCircleElement>('.map-dot')!;
const center = (circle: SVGCircleElement): [number, number] => [Number(circle.getAttribute('cx')), Number(circle.getAttribute('cy'))];
const viewBox = () => map().getAttribute('viewBox')!.split(' ').map(Number);

beforeEach(() => {
  highlights = [];
  container = document.createElement('div');
  document.body.append(container);
});

afterEach(async () => {
  await resetMouse();
  container.remove();
});

describe('ingestor map', () => {
  it('draws the land and one marker per ingestor with a position, named by IP', () => {
    show({ selectedId: '0xAbC4' });
    expect(map().querySelector('path.map-land')!.getAttribute('d')).to.equal(landPath);
    expect(map().getAttribute('role')).to.equal('group');
    expect(map().getAttribute('aria-label')).to.equal('Map of 3 ingestors, the nearest ringed');
    expect(markers().map((marker) => marker.getAttribute('aria-label'))).to.deep.equal([
      '203.0.113.7, nearest',
      '198.51.100.20, busy',
      '0xAbC4, selected',
    ]);
    expect(markers().map((marker) => marker.getAttribute('role'))).to.deep.equal(['img', 'img', 'img']);
    expect(markers()[2].classList.contains('selected')).to.equal(true);
    // Paris at x = 182.35, y = 41.14 on the 360×180 grid.
    expect(center(dot(markers()[0]))).to.deep.equal([182.35, 90 - 48.86]);
  });

  it('rings the nearest ingestor only', () => {
    show();
    const rings = container.querySelectorAll<SVGCircleElement>('.map-nearest');
    expect(rings.length).to.equal(1);
    expect(rings[0].closest('.map-point')).to.equal(markers()[0]);
    expect(center(rings[0])).to.deep.equal(center(dot(markers()[0])));
    expect(Number(rings[0].getAttribute('r'))).to.be.greaterThan(Number(dot(markers()[0]).getAttribute('r')));
  });

  it('rings nobody when the nearest ingestor has no position', () => {
    show({ ingestors: [ingestors[2], ingestors[0]] });
    expect(container.querySelectorAll('.map-nearest').length).to.equal(0);
    expect(map().getAttribute('aria-label')).to.equal('Map of 1 ingestor');
    expect(markers()[0].getAttribute('aria-label')).to.equal('203.0.113.7');
  });

  it('fits the view to the ingestors with a margin, at 2:1, on the grid', () => {
    show();
    const [x, y, width, height] = viewBox();
    expect(width / height).to.equal(2);
    expect(x).to.be.at.least(0);
    expect(y).to.be.at.least(0);
    expect(x + width).to.be.at.most(360);
    expect(y + height).to.be.at.most(180);
    for (const marker of markers()) {
      const [cx, cy] = center(dot(marker));
      expect(cx - x, 'left margin').to.be.at.least(10);
      expect(x + width - cx, 'right margin').to.be.at.least(10);
      expect(cy - y, 'top margin').to.be.at.least(10);
      expect(y + height - cy, 'bottom margin').to.be.at.least(10);
    }
    // New York to Berlin is about 87° across: the view is not the whole world.
    expect(width).to.be.below(130);
  });

  it('keeps a minimum span around a single ingestor, centred on it', () => {
    show({ ingestors: [ingestors[0]] });
    const [x, y, width, height] = viewBox();
    expect([width, height]).to.deep.equal([60, 30]);
    expect(x + width / 2).to.be.closeTo(182.35, 0.1);
    expect(y + height / 2).to.be.closeTo(41.14, 0.1);
  });

  it('stays inside the grid for ingestors near its edges', () => {
    show({ ingestors: [ingestor('0xEdge1', '203.0.113.9', [179, -50]), ingestor('0xEdge2', '203.0.113.10', [-179, 80])] });
    const [x, y, width, height] = viewBox();
    expect([x, y, width, height]).to.deep.equal([0, 0, 360, 180]);
  });

  it('lets Tab reach every marker, nearest first, and highlights the focused one', async () => {
    show();
    // Chromium also focuses SVG elements that only listen for focus; other browsers need the tabindex.
    expect(markers().map((marker) => marker.getAttribute('tabindex'))).to.deep.equal(['0', '0', '0']);
    container.querySelector('button')!.focus();
    await sendKeys({ press: 'Tab' });
    expect(document.activeElement).to.equal(markers()[0]);
    expect(highlights).to.deep.equal(['0xAbC1']);
    await sendKeys({ press: 'Tab' });
    expect(document.activeElement).to.equal(markers()[1]);
    await sendKeys({ press: 'Tab' });
    expect(document.activeElement).to.equal(markers()[2]);
    expect(highlights).to.deep.equal(['0xAbC1', undefined, '0xAbC2', undefined, '0xAbC4']);
    await sendKeys({ press: 'Tab' });
    expect(container.contains(document.activeElement)).to.equal(false);
    expect(highlights.at(-1)).to.equal(undefined);
  });

  it('highlights the hovered marker and clears it when the pointer leaves', async () => {
    show();
    const box = dot(markers()[1]).getBoundingClientRect();
    await sendMouse({ type: 'move', position: [Math.round(box.x + box.width / 2), Math.round(box.y + box.height / 2)] });
    expect(highlights).to.deep.equal(['0xAbC2']);
    const mapBox = map().getBoundingClientRect();
    await sendMouse({ type: 'move', position: [Math.round(mapBox.right + 40), Math.round(mapBox.bottom + 40)] });
    expect(highlights).to.deep.equal(['0xAbC2', undefined]);
  });

  it('styles the marker highlighted from the table', () => {
    show({ highlightedId: '0xAbC2' });
    expect(markers().map((marker) => marker.classList.contains('highlighted'))).to.deep.equal([false, true, false]);
    expect(getComputedStyle(dot(markers()[1])).transform).to.not.equal('none');
    expect(getComputedStyle(dot(markers()[0])).transform).to.equal('none');
  });

  it('renders nothing when no ingestor has a position', () => {
    expect(renderIngestorMap({ ingestors: [ingestors[2]], onHighlight: () => {} })).to.equal(nothing);
    expect(renderIngestorMap({ ingestors: [], onHighlight: () => {} })).to.equal(nothing);
    show({ ingestors: [ingestors[2]] });
    expect(container.querySelector('svg')).to.equal(null);
  });

  it('passes the accessibility checks', async () => {
    show({ selectedId: '0xAbC4', highlightedId: '0xAbC2' });
    await expect(container).to.be.accessible();
  });
});
