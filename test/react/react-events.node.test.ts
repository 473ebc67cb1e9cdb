/** Every event the manifest lists has its React prop (`kit-session-ready` -> `onKitSessionReady`), and no prop is stale. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kitStreamPlayerEvents, thetaLiveSetupEvents } from '../../src/react/events.js';
import { elementsOf, generateManifest } from '../tools/manifest.js';

const wrapperEvents: Record<string, Record<string, string>> = {
  'kit-stream-player': kitStreamPlayerEvents,
  'theta-live-setup': thetaLiveSetupEvents,
};

const reactPropOf = (eventName: string) => `on${eventName.replace(/(^|-)([a-z])/g, (_, _dash, letter: string) => letter.toUpperCase())}`;

test('each element event has a React prop named after it', async () => {
  const elements = elementsOf(await generateManifest());
  assert.deepEqual(elements.map((element) => element.tagName).sort(), Object.keys(wrapperEvents).sort());
  for (const element of elements) {
    const fromManifest = Object.fromEntries((element.events ?? []).map((event) => [reactPropOf(event.name), event.name]));
    assert.deepEqual(
      Object.fromEntries(Object.entries(wrapperEvents[element.tagName]!).sort()),
      Object.fromEntries(Object.entries(fromManifest).sort()),
      `src/react/events.ts and the manifest's events of <${element.tagName}> differ`,
    );
  }
});
