/**
 * The React wrappers in a real browser with react-dom: props reach the elements as properties (including ones
 * without attributes), `on<Event>` props receive the elements' events, and a removed event prop stops listening.
 * Requests go to the test server only (a path it answers 404), so each element fails its first call and says so.
 */
import { expect, waitUntil } from '@open-wc/testing';
import { createElement, type ComponentProps } from 'react';
import { flushSync } from 'react-dom';
import { createRoot, type Root } from 'react-dom/client';
import type {
  KitErrorDetail,
  KitStreamPlayer as KitStreamPlayerElement,
  ThetaErrorDetail,
  ThetaLiveSetup as ThetaLiveSetupElement,
} from '../../src/index.js';
import { KitStreamPlayer, ThetaLiveSetup } from '../../src/react/index.js';

let container: HTMLElement;
let root: Root;

beforeEach(() => {
  container = document.createElement('div');
  document.body.append(container);
  root = createRoot(container);
});

afterEach(() => {
  flushSync(() => root.unmount());
  container.remove();
});

function renderKit(props: ComponentProps<typeof KitStreamPlayer>): KitStreamPlayerElement {
  flushSync(() => root.render(createElement(KitStreamPlayer, props)));
  return container.querySelector('kit-stream-player')!;
}

function renderTheta(props: ComponentProps<typeof ThetaLiveSetup>): ThetaLiveSetupElement {
  flushSync(() => root.render(createElement(ThetaLiveSetup, props)));
  return container.querySelector('theta-live-setup')!;
}

/** A server path the test server answers 404, so the elements fail fast without leaving this machine. */
const missingApi = () => `${location.origin}/__missing-api__/${Math.random().toString(36).slice(2)}`;

describe('live-stream-elements/react', () => {
  it('KitStreamPlayer sets properties, attributes and class, and passes kit-error to onKitError', async () => {
    const requestInit: RequestInit = { headers: { 'X-Test': 'react' } };
    const errors: KitErrorDetail[] = [];
    const element = renderKit({
      className: 'player',
      server: missingApi(),
      appId: 'usd-viewer',
      profile: 'default',
      fit: 'cover',
      requestInit,
      maxReconnects: 2,
      onKitError: (event) => errors.push(event.detail),
    });
    expect(element).to.be.instanceOf(customElements.get('kit-stream-player')!);
    expect(element.classList.contains('player')).to.equal(true);
    expect(element.fit).to.equal('cover');
    expect(element.requestInit).to.equal(requestInit);
    expect(element.maxReconnects).to.equal(2);
    await element.updateComplete;
    expect(element.getAttribute('app-id')).to.equal('usd-viewer');
    await waitUntil(() => errors.length > 0, 'onKitError was not called', { timeout: 5000 });
    expect(errors[0]!.status).to.equal(404);
  });

  it('KitStreamPlayer updates the element on re-render, and a removed event prop stops listening', async () => {
    const seen: string[] = [];
    const element = renderKit({ fit: 'contain', onKitStats: (event) => seen.push(`first ${event.detail.id}`) });
    const stats = (id: string) => new CustomEvent('kit-stats', { detail: { id }, bubbles: true, composed: true });
    element.dispatchEvent(stats('a'));
    renderKit({ fit: 'fill', onKitStats: (event) => seen.push(`second ${event.detail.id}`) });
    expect(element.fit).to.equal('fill');
    element.dispatchEvent(stats('b'));
    renderKit({ fit: 'fill' });
    element.dispatchEvent(stats('c'));
    expect(seen).to.deep.equal(['first a', 'second b']);
  });

  it('ThetaLiveSetup sends its first request to the apiBase prop and passes theta-error to onThetaError', async () => {
    const apiBase = missingApi();
    const requested: string[] = [];
    const originalFetch = window.fetch;
    window.fetch = (input, init) => {
      requested.push(input instanceof Request ? input.url : String(input));
      return originalFetch(input, init);
    };
    try {
      const errors: ThetaErrorDetail[] = [];
      const requestInit: RequestInit = { credentials: 'omit' };
      const element = renderTheta({ apiBase, streamName: 'From React', requestInit, onThetaError: (event) => errors.push(event.detail) });
      expect(element.apiBase).to.equal(apiBase);
      expect(element.streamName).to.equal('From React');
      expect(element.requestInit).to.equal(requestInit);
      await waitUntil(() => errors.length > 0, 'onThetaError was not called', { timeout: 5000 });
      expect(errors[0]!.status).to.equal(404);
      expect(requested.length).to.be.greaterThan(0);
      for (const url of requested) expect(url.startsWith(apiBase), `a request went to ${url}`).to.equal(true);
    } finally {
      window.fetch = originalFetch;
    }
  });
});
