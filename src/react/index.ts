/**
 * `live-stream-elements/react`: the elements as React components, for React versions whose JSX does not pass
 * properties and events to custom elements (React 18 and earlier), and for typed props everywhere.
 *
 *   import { KitStreamPlayer } from 'live-stream-elements/react';
 *   <KitStreamPlayer server={url} appId="usd-viewer" onKitConnected={(event) => console.log(event.detail.timeToFirstFrame)} />
 *
 * Importing this module registers both elements.
 */
import { createComponent } from '@lit/react';
import * as React from 'react';
import { KitStreamPlayer as KitStreamPlayerElement } from '../kit-stream-player/index.js';
import { ThetaLiveSetup as ThetaLiveSetupElement } from '../theta-live-setup/index.js';
import { kitStreamPlayerEvents, thetaLiveSetupEvents } from './events.js';

export { kitStreamPlayerEvents, thetaLiveSetupEvents } from './events.js';
/** The element classes, for typing refs: `useRef<KitStreamPlayerElement>(null)`. */
export type { KitStreamPlayerElement, ThetaLiveSetupElement };
export type * from '../kit-stream-player/events.js';
export type * from '../theta-live-setup/events.js';

/** `<kit-stream-player>` as a React component: attributes and properties as camelCase props, `on<Event>` handlers. */
export const KitStreamPlayer = createComponent({
  react: React,
  tagName: 'kit-stream-player',
  elementClass: KitStreamPlayerElement,
  events: kitStreamPlayerEvents,
  displayName: 'KitStreamPlayer',
});

/** `<theta-live-setup>` as a React component: attributes and properties as camelCase props, `on<Event>` handlers. */
export const ThetaLiveSetup = createComponent({
  react: React,
  tagName: 'theta-live-setup',
  elementClass: ThetaLiveSetupElement,
  events: thetaLiveSetupEvents,
  displayName: 'ThetaLiveSetup',
});
