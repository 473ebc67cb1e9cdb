import { LitElement } from 'lit';

/**
 * What every element of the library shares: typed events that cross shadow boundaries,
 * and registration that tolerates a second copy of the library on the page.
 */
export class LiveElement extends LitElement {
  /** Dispatches a bubbling, composed `CustomEvent` whose detail type is the one the event map declares. */
  protected emit<K extends keyof HTMLElementEventMap>(
    name: K,
    detail: HTMLElementEventMap[K] extends CustomEvent<infer D> ? D : never,
  ): void {
    const event = new CustomEvent(name, { bubbles: true, composed: true, detail });
    this.dispatchEvent(event);
  }
}

/**
 * Registers `tagName` unless it is taken already. Two copies of the library on one page
 * (say a CDN file and a bundled build) then share the first registration instead of throwing.
 */
export function defineElement(tagName: string, elementClass: CustomElementConstructor): void {
  if (customElements.get(tagName)) return;
  customElements.define(tagName, elementClass);
}
