import type { KitMessageDetail } from '../../src/kit-stream-player/events.js';

/** Resolves with the next `kit-message` from `element` whose `eventType` is `eventType`, and stops listening. */
export function nextAppMessage(element: HTMLElement, eventType: string): Promise<KitMessageDetail> {
  return new Promise((resolve) => {
    const listener = (event: CustomEvent<KitMessageDetail>) => {
      if (event.detail.eventType !== eventType) return;
      element.removeEventListener('kit-message', listener);
      resolve(event.detail);
    };
    element.addEventListener('kit-message', listener);
  });
}
