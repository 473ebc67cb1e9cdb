import type { PropertyValues } from 'lit';
import { LiveElement } from '../internal/live-element.js';
import type { ThetaSetupStep } from './events.js';
import { mapStyles } from './ingestor-map.js';
import type { HlsLibrary } from './live-preview.js';
import { SetupFlow } from './setup-flow.js';
import { styles } from './theta-live-setup.styles.js';
import { renderSetup } from './theta-live-setup.template.js';

export type { HlsLibrary, HlsPlayer } from './live-preview.js';

let warnedAboutSecret = false;

/** Where a secret in the page is a local tool's. `location.hostname` writes an IPv6 address in brackets. */
const localHost = /^(localhost|127\.0\.0\.1|\[::1\])$/;

/**
 * A guided Theta Video API livestream setup: pick or create a stream, choose an edge ingestor, get the RTMP server
 * and key for OBS, and see the stream go live.
 *
 * Point `api-base` at a Theta proxy (`live-stream-elements/theta-proxy`), which holds the service-account secret on
 * a server. The `serviceAccountSecret` property exists for local tools only.
 *
 * @summary Set up a Theta livestream for OBS, step by step.
 *
 * @fires {CustomEvent<ThetaStreamCreatedDetail>} theta-stream-created - A stream was created.
 * @fires {CustomEvent<ThetaStreamSelectedDetail>} theta-stream-selected - A stream was picked.
 * @fires {CustomEvent<ThetaStreamDeletedDetail>} theta-stream-deleted - A stream was deleted: by the user, after confirming, or elsewhere while the go-live step showed it or since the saved progress named it.
 * @fires {CustomEvent<ThetaIngestorSelectedDetail>} theta-ingestor-selected - An ingestor was reserved: server, key, expiry.
 * @fires {CustomEvent<ThetaIngestorUnselectedDetail>} theta-ingestor-unselected - The ingestor was released.
 * @fires {CustomEvent<ThetaStatusChangeDetail>} theta-status-change - The stream went live (`on`) or ended (`off`).
 * @fires {CustomEvent<ThetaErrorDetail>} theta-error - A call failed; detail has the service's message.
 *
 * @attr {ThetaSetupStep} step - Read-only: the step the user is on (`stream`, `ingestor` or `live`), as `currentStep`.
 *
 * @csspart base - The outer box.
 * @csspart steps - The list of the three steps.
 * @csspart heading - Each step's heading.
 * @csspart error - The error box (role alert).
 * @csspart stream-list - The account's streams.
 * @csspart create-form - The form that creates a stream.
 * @csspart map - The ingestor map (inline SVG).
 * @csspart ingestor-list - The table of ingestors.
 * @csspart credentials - The RTMP server and stream key.
 * @csspart live-badge - The LIVE badge.
 * @csspart preview - The muted live preview (a `<video>`).
 * @csspart preview-retry - The Retry preview button, shown when the preview could not start.
 * @csspart button - Every button.
 *
 * @cssproperty --theta-live-setup-accent - Buttons and highlights. Default #1f6feb.
 * @cssproperty --theta-live-setup-live - The LIVE badge. Default #d1242f.
 * @cssproperty --theta-live-setup-border - Borders. Default a quarter of the text colour.
 * @cssproperty --theta-live-setup-radius - Corner radius. Default 8px.
 * @cssproperty --theta-live-setup-font - Font.
 * @cssproperty --theta-live-setup-error - Error colour. Default #d1242f.
 * @cssproperty --theta-live-setup-map-land - Land on the ingestor map. Default a mix of the text colour.
 * @cssproperty --theta-live-setup-map-sea - Sea on the ingestor map. Default a lighter mix of the text colour.
 */
export class ThetaLiveSetup extends LiveElement {
  static override styles = [styles, mapStyles];

  // Declared without decorators: their compiled form would weigh more than the rest of the element.
  static override properties = {
    apiBase: { attribute: 'api-base', reflect: true },
    serviceAccountId: { attribute: 'service-account-id' },
    streamId: { attribute: 'stream-id' },
    streamName: { attribute: 'stream-name' },
    pollInterval: { attribute: 'poll-interval', type: Number },
    selectionTimeout: { attribute: 'selection-timeout', type: Number },
    requestInit: { attribute: false },
    hlsLibrary: { attribute: false },
    // Listed so that Lit takes over a secret set on the element before its definition loaded (an own property that
    // would hide the accessor), and passes it through the accessor like one set afterwards.
    serviceAccountSecret: { attribute: false },
  };

  constructor() {
    super();
    this.apiBase = 'https://api.thetavideoapi.com';
    this.serviceAccountId = '';
    this.streamId = '';
    this.streamName = 'My livestream';
    this.pollInterval = 3000;
    this.selectionTimeout = 300_000;
  }

  /** The Theta Video API, or better a Theta proxy that holds the secret. */
  declare apiBase: string;

  /** The service account whose streams are listed; not needed behind a proxy. */
  declare serviceAccountId: string;

  /** Start at the ingestor step with this stream. */
  declare streamId: string;

  /** The name offered for a new stream. */
  declare streamName: string;

  /** How often the go-live step checks the stream's status, in ms. */
  declare pollInterval: number;

  /** How long an unused ingestor selection lasts, in ms (the service's is 5 minutes). */
  declare selectionTimeout: number;

  /** Merged into every request, e.g. `{credentials: 'include'}` for a proxy behind a login. */
  declare requestInit: RequestInit | undefined;

  /**
   * hls.js, for the live preview where the browser cannot play HLS itself: the `Hls` class (`import Hls from 'hls.js'`)
   * or the URL of hls.js as an ES module, imported when first needed. Never bundled. Property only: an attribute that
   * loads code would let injected markup run scripts.
   */
  declare hlsLibrary: HlsLibrary | string | undefined;

  #secret: string | undefined;
  #flow = new SetupFlow(this, (name, detail) => this.emit(name, detail));

  /**
   * The service account's secret. Property only: never an attribute, never rendered, logged or put in an event.
   * It grants full control of the account, so on any page but localhost the element warns that it belongs on a server.
   */
  get serviceAccountSecret(): string | undefined {
    return this.#secret;
  }

  set serviceAccountSecret(secret: string | undefined) {
    this.#secret = secret || undefined;
    if (this.#secret && !warnedAboutSecret && !localHost.test(globalThis.location?.hostname)) {
      warnedAboutSecret = true;
      console.warn(
        '<theta-live-setup>: a Theta service-account secret was given to this page. It grants full control of the account; ' +
          'keep it on a server and point api-base at a proxy (live-stream-elements/theta-proxy).',
      );
    }
  }

  /** The step the user is on: `stream`, `ingestor` or `live`. Read-only. */
  get currentStep(): ThetaSetupStep {
    return this.#flow.step;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Back in a document after leaving it (which stopped everything); the first connection begins in the first update.
    if (this.hasUpdated) this.#flow.begin();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    // The first update begins, so that properties a framework sets right after inserting the element count; so does
    // a change of service, account or stream.
    if (this.isConnected && (changed.has('apiBase') || changed.has('serviceAccountId') || changed.has('streamId'))) this.#flow.begin();
    if (this.getAttribute('step') !== this.#flow.step) this.setAttribute('step', this.#flow.step);
  }

  override render() {
    return renderSetup(this.#flow);
  }
}
