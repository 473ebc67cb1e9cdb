/**
 * Server rendering: both elements render to declarative shadow DOM with Lit SSR, so a server-rendered page shows
 * their first state before any script runs, and hydration takes over in the browser.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from '@lit-labs/ssr';
import { collectResultSync } from '@lit-labs/ssr/lib/render-result.js';
import { html } from 'lit';

// Element modules register their tags on import; Lit's DOM shim stands in for the browser's on the server.
await import('../../src/index.js');

test('<kit-stream-player> renders its shadow root as declarative shadow DOM', () => {
  const markup = collectResultSync(
    render(html`<kit-stream-player server="https://kit.example.test/streaming" app-id="usd-viewer" profile="default"></kit-stream-player>`),
  );
  assert.match(markup, /<kit-stream-player[^>]*app-id="usd-viewer"/);
  assert.match(markup, /<template shadowroot(mode)?="open"/);
  for (const part of ['base', 'video-area', 'video', 'overlay', 'status']) assert.match(markup, new RegExp(`part="${part}"`), part);
  assert.match(markup, /<style>/, 'the styles travel with the markup');
});

test('<theta-live-setup> renders its shadow root as declarative shadow DOM', () => {
  const markup = collectResultSync(render(html`<theta-live-setup api-base="/api/theta"></theta-live-setup>`));
  assert.match(markup, /<theta-live-setup[^>]*api-base="\/api\/theta"/);
  assert.match(markup, /<template shadowroot(mode)?="open"/);
  assert.match(markup, /part="base"/);
});
