/**
 * The simulated Kit application behind the stream: it receives the JSON app
 * messages a client sends over the data channel and answers the way the
 * USD viewer sample app does for the handful of events a web client uses.
 *
 * Wire format, both directions:
 * `{"messageType": "json", "messageRecipient": "kit", "data": "<JSON string of {event_type, payload}>"}`.
 */

export interface KitAppMessage {
  event_type: string;
  payload: unknown;
}

/** Event types counted as user input (anything starting with `input` counts too). */
const INPUT_EVENT_TYPES = new Set([
  'pointerMove',
  'pointerDown',
  'pointerUp',
  'pointerEnter',
  'pointerLeave',
  'mouseMove',
  'mouseDown',
  'mouseUp',
  'wheel',
  'keyDown',
  'keyUp',
  'touchStart',
  'touchMove',
  'touchEnd',
]);

export function isInputEventType(eventType: string): boolean {
  return eventType.startsWith('input') || INPUT_EVENT_TYPES.has(eventType);
}

/**
 * Reads one data-channel message. Accepts the documented envelope, and also a bare
 * `{event_type, payload}` object. Returns undefined for anything else.
 */
export function parseKitAppEnvelope(raw: string | Buffer): KitAppMessage | undefined {
  const outer = parseJsonObject(typeof raw === 'string' ? raw : raw.toString('utf8'));
  if (!outer) return undefined;
  let inner: Record<string, unknown> | undefined = outer;
  if ('data' in outer) {
    inner = typeof outer['data'] === 'string' ? parseJsonObject(outer['data']) : asObject(outer['data']);
  }
  if (!inner || typeof inner['event_type'] !== 'string' || inner['event_type'] === '') return undefined;
  return { event_type: inner['event_type'], payload: inner['payload'] ?? null };
}

export function formatKitAppEnvelope(message: KitAppMessage): string {
  return JSON.stringify({
    messageType: 'json',
    messageRecipient: 'kit',
    data: JSON.stringify({ event_type: message.event_type, payload: message.payload }),
  });
}

export interface SimulatedKitAppOptions {
  /** The stage the session was started with (`arguments.usd_stage_uri`). */
  usdStageUri?: string;
}

export class SimulatedKitApp {
  private readonly received: KitAppMessage[] = [];
  private inputCount = 0;
  private currentStageUri: string;

  constructor(options: SimulatedKitAppOptions = {}) {
    this.currentStageUri = options.usdStageUri ?? '';
  }

  /** Every app message received so far, in order. */
  messages(): KitAppMessage[] {
    return this.received.map((message) => ({ ...message }));
  }

  /** Records a message and returns the app's replies to it. */
  handle(message: KitAppMessage): KitAppMessage[] {
    this.received.push(message);
    const payload = asObject(message.payload) ?? {};
    switch (message.event_type) {
      case 'loadingStateQuery':
        return [
          {
            event_type: 'loadingStateResponse',
            payload: { loading_state: 'idle', url: this.currentStageUri },
          },
        ];
      case 'openStageRequest': {
        const requested = typeof payload['url'] === 'string' && payload['url'] !== '' ? payload['url'] : undefined;
        this.currentStageUri = requested ?? this.currentStageUri;
        return [
          {
            event_type: 'openedStageResult',
            payload: { url: this.currentStageUri, result: 'success', error: '' },
          },
        ];
      }
      default:
        if (isInputEventType(message.event_type)) {
          this.inputCount++;
          return [{ event_type: 'inputReceived', payload: { count: this.inputCount, last: message.payload } }];
        }
        return [{ event_type: 'unknownEvent', payload: { event_type: message.event_type } }];
    }
  }
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    return asObject(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
