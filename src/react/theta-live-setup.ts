/**
 * `live-stream-elements/react/theta-live-setup.js`: `<theta-live-setup>` as a React component. Importing it
 * registers that element only.
 *
 *   import { ThetaLiveSetup } from 'live-stream-elements/react/theta-live-setup.js';
 *   <ThetaLiveSetup apiBase="/api/theta" onThetaIngestorSelected={(event) => console.log(event.detail.server)} />
 */
import { createComponent } from '@lit/react';
import * as React from 'react';
import { ThetaLiveSetup as ThetaLiveSetupElement } from '../theta-live-setup/index.js';
import { thetaLiveSetupEvents } from './events.js';

export { thetaLiveSetupEvents } from './events.js';
/** The element class, for typing refs: `useRef<ThetaLiveSetupElement>(null)`. */
export type { ThetaLiveSetupElement };
export type * from '../theta-live-setup/events.js';

/** `<theta-live-setup>` as a React component: attributes and properties as camelCase props, `on<Event>` handlers. */
export const ThetaLiveSetup = createComponent({
  react: React,
  tagName: 'theta-live-setup',
  elementClass: ThetaLiveSetupElement,
  events: thetaLiveSetupEvents,
  displayName: 'ThetaLiveSetup',
});
