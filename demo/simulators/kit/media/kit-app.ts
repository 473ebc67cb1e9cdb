/**
 * The simulated Kit application behind the stream: what NVIDIA's USD viewer sample app does with
 * `control_channel`, `input_channel_v1` and `cursor_channel` (KIT-PROTOCOL.md §4-§6, kit-app-template
 * `usd_viewer.messaging`). Pure logic: the session feeds it frames and decoded input and sends what
 * it returns.
 *
 * It enforces the client→Kit wire form of app messages (§4.1), three levels, two of them JSON strings:
 * `{"customMessage": "{\"messageType\":\"json\",\"messageRecipient\":\"kit\",\"data\":\"{\\\"event_type\\\":…}\"}"}`.
 * Frames that break it are recorded as violations and get no answer, as Kit would not understand
 * them. Replies use the two-level Kit→client form (§4.2): `{"customMessage": "{\"event_type\":…,\"payload\":…}"}`.
 */
import { encodeSystemCursor, SYSTEM_CURSOR } from './cursor-encoder.js';
import type { DecodedInput } from './input-decoder.js';

export interface KitAppMessage {
  event_type: string;
  payload: unknown;
}

export interface SimulatedKitAppOptions {
  /** The stage the session was started with (`arguments.usd_stage_uri`). */
  usdStageUri?: string;
  /** Size of the streamed picture in pixels: input positions are scaled to it. */
  streamWidth: number;
  streamHeight: number;
}

/** What a batch of input makes the app send: control_channel text frames and cursor_channel binary messages. */
export interface KitAppInputReplies {
  control: string[];
  cursor: Buffer[];
}

export interface ControlLogEntry {
  direction: 'in' | 'out';
  text: string;
}

/** A control message the client may send that is not an app message (window state, keyboard layout, …). */
export interface ToleratedControlMessage {
  kind: string;
  /** The value as sent, or the start of its JSON text (ending in …) when that is longer than 4096 characters. */
  value: unknown;
}

/** What one control_channel text frame was, and what the app answers. */
export interface ControlFrameResult {
  /** Frames to send back on control_channel. */
  replies: string[];
  /**
   * The top-level key the frame was read by: `customMessage`, or a client control key such as
   * `exitMessage` or `windowState` (§4.3); undefined for a frame the app could not read.
   */
  key: string | undefined;
}

/** Frames the client sends on control_channel besides customMessage (§4.3); Kit accepts them silently. */
const CLIENT_CONTROL_KEYS = new Set([
  'etwPrint',
  'etwPrintPair',
  'windowState',
  'systemState',
  'cpuUsage',
  'exitMessage',
  'latencyTrigger',
  'pcmDumpTrigger',
  'perfIndicator',
  'stutterIndicator',
  'riDeviceOverlay',
  'setMaxBitrate',
  'setDrcState',
  'setDfcState',
]);

/** Bound of every inspection list, so a long or hostile session cannot grow memory without limit. */
const LOG_LIMIT = 1000;
/** Longest control frame text kept in the log, and longest JSON text of a value kept in the inspection lists. */
const LOGGED_TEXT_LIMIT = 4096;
/** Longest event type or control key quoted in a note or kept in a list. */
const NAME_LIMIT = 80;
/** Share of the picture height, from the top, that behaves like a text field (text cursor, nothing to pick). */
export const TEXT_REGION_SHARE = 0.2;
/** How far, in stream pixels, the pointer may travel between button down and up for the pair to count as a click. */
const CLICK_SLOP = 8;
const LEFT_BUTTON = 1;

type PrimType = 'Xform' | 'Mesh' | 'Scope' | 'DomeLight' | 'DistantLight';

/** The fixed stage every session shows, whatever URL it opened. */
const STAGE_PRIMS: ReadonlyArray<{ path: string; type: PrimType }> = [
  { path: '/World', type: 'Xform' },
  { path: '/World/Cube', type: 'Mesh' },
  { path: '/World/Sphere', type: 'Mesh' },
  { path: '/World/Lights', type: 'Scope' },
  { path: '/World/Lights/DomeLight', type: 'DomeLight' },
  { path: '/World/Lights/KeyLight', type: 'DistantLight' },
  { path: '/Render', type: 'Scope' },
];

/** The filter names of the usd_viewer `getChildrenRequest` and the prim type each admits. */
const CHILD_FILTERS = new Map<string, PrimType>([
  ['USDGeom', 'Mesh'],
  ['mesh', 'Mesh'],
  ['xform', 'Xform'],
  ['scope', 'Scope'],
]);

export interface StageChild {
  name: string;
  path: string;
  /** Present (and empty) when the child has children of its own: the client asks for them lazily. */
  children?: [];
}

/** The prim drawn at a stream pixel: nothing in the text region at the top, the cube on the left, the sphere on the right. */
export function primAtStreamPoint(x: number, y: number, streamWidth: number, streamHeight: number): string | undefined {
  if (isInTextRegion(y, streamHeight)) return undefined;
  return x < streamWidth / 2 ? '/World/Cube' : '/World/Sphere';
}

export function isInTextRegion(y: number, streamHeight: number): boolean {
  return y < streamHeight * TEXT_REGION_SHARE;
}

/** The Kit→client frame of an app message (§4.2). Also usable for messages the app sends on its own. */
export function encodeAppMessageFrame(message: KitAppMessage): string {
  return JSON.stringify({ customMessage: JSON.stringify({ event_type: message.event_type, payload: message.payload }) });
}

export class SimulatedKitApp {
  private readonly streamWidth: number;
  private readonly streamHeight: number;
  private stageUrl: string;
  private selection: string[] = [];
  /** Prims the client made pickable; undefined until it restricts picking, so everything is pickable. */
  private pickable: string[] | undefined;
  /** Pointer position in stream pixels, known after the first move. */
  private pointer: { x: number; y: number } | undefined;
  private pressedAt: { x: number; y: number } | undefined;
  private cursorId: number | undefined;

  private readonly appMessages: KitAppMessage[] = [];
  private readonly inputEvents: DecodedInput[] = [];
  private readonly controlFrames: ControlLogEntry[] = [];
  private readonly problems: string[] = [];
  private readonly toleratedFrames: ToleratedControlMessage[] = [];
  private readonly observations: string[] = [];

  constructor(options: SimulatedKitAppOptions) {
    this.stageUrl = options.usdStageUri ?? '';
    this.streamWidth = options.streamWidth;
    this.streamHeight = options.streamHeight;
  }

  /** Handles one text frame received on control_channel and returns the frames to send back on it. */
  controlFrame(text: string): string[] {
    return this.receiveControlFrame(text).replies;
  }

  /** Handles one text frame received on control_channel: the frames to send back, and what kind of frame it was. */
  receiveControlFrame(text: string): ControlFrameResult {
    this.logControl('in', text);
    const { messages, key } = this.dispatchControlFrame(text);
    const replies = messages.map(encodeAppMessageFrame);
    for (const reply of replies) this.logControl('out', reply);
    return { replies, key };
  }

  /** Takes decoded input_channel_v1 events; returns the app's reactions (selection on click, cursor changes). */
  input(events: readonly DecodedInput[]): KitAppInputReplies {
    const replies: KitAppInputReplies = { control: [], cursor: [] };
    for (const event of events) {
      remember(this.inputEvents, event);
      switch (event.kind) {
        case 'invalid':
          this.violation(`input: ${event.reason} [${event.hex}]`);
          break;
        case 'move':
          this.absoluteMove(event.x, event.y, event.refWidth, event.refHeight, replies);
          break;
        case 'relative-move':
          this.relativeMove(event.dx, event.dy, replies);
          break;
        case 'button':
          this.button(event.button, event.down, replies);
          break;
        default:
          break;
      }
    }
    for (const frame of replies.control) this.logControl('out', frame);
    return replies;
  }

  /** Ends the stream on the client (§4.3). */
  exitMessage(code = 0): string {
    const frame = JSON.stringify({ exitMessage: { code } });
    this.logControl('out', frame);
    return frame;
  }

  /** Warns the client of a session timer (§4.3): codes 1/2 warning, 4 idle, 6 final. */
  timerNotification(code: number, secondsLeft: number): string {
    const frame = JSON.stringify({ timerNotification: { code, secondsLeft } });
    this.logControl('out', frame);
    return frame;
  }

  /** App messages received in the correct wire form, in order (the last 1000; a payload whose JSON is longer than 4096 characters kept as the start of that text). */
  messages(): KitAppMessage[] {
    return this.appMessages.map((message) => ({ ...message }));
  }

  /** Decoded input events received, invalid ones included (the last 1000). */
  received(): DecodedInput[] {
    return this.inputEvents.map((event) => ({ ...event }));
  }

  /** Every control_channel frame in and out (the last 1000; long frames shortened). */
  controlLog(): ControlLogEntry[] {
    return this.controlFrames.map((entry) => ({ ...entry }));
  }

  /** What the client did that real Kit would not accept (the last 1000). */
  violations(): string[] {
    return [...this.problems];
  }

  /** Non-app control messages the client sent and Kit accepts without answering (the last 1000). */
  toleratedMessages(): ToleratedControlMessage[] {
    return this.toleratedFrames.map((entry) => ({ ...entry }));
  }

  /** Readings that were tolerant rather than exact, and app messages Kit would ignore (the last 1000). */
  notes(): string[] {
    return [...this.observations];
  }

  /** The prims currently selected in the simulated viewport. */
  selectedPrims(): string[] {
    return [...this.selection];
  }

  private dispatchControlFrame(text: string): { messages: KitAppMessage[]; key: string | undefined } {
    const none = { messages: [], key: undefined };
    const frame = parseJson(text);
    if (!frame.ok) {
      this.violation(`control frame is not JSON: ${quote(text)}`);
      return none;
    }
    const fields = asObject(frame.value);
    if (!fields) {
      this.violation(`control frame is not a JSON object: ${quote(text)}`);
      return none;
    }
    if ('customMessage' in fields) return { messages: this.customMessage(fields['customMessage']), key: 'customMessage' };
    const controlKey = Object.keys(fields).find((key) => CLIENT_CONTROL_KEYS.has(key));
    if (controlKey !== undefined) {
      this.tolerate(controlKey, fields[controlKey]);
      return { messages: [], key: controlKey };
    }
    if ('event_type' in fields) {
      this.violation(
        `bare app message on control_channel (${quote(text)}): Kit expects {"customMessage": "<JSON string of {messageType: "json", messageRecipient: "kit", data: "<JSON string>"}>"}`,
      );
      return none;
    }
    this.violation(`unknown control message: ${quote(text)}`);
    return none;
  }

  private customMessage(value: unknown): KitAppMessage[] {
    if (typeof value !== 'string') {
      this.violation(`customMessage must be a JSON string, got ${describe(value)}`);
      return [];
    }
    const parsed = parseJson(value);
    const envelope = parsed.ok ? asObject(parsed.value) : undefined;
    if (!envelope) {
      this.violation(`customMessage string is not a JSON object: ${quote(value)}`);
      return [];
    }
    const messageType = envelope['messageType'];
    const recipient = envelope['messageRecipient'];
    if (messageType === 'json' && recipient === 'kit') return this.appEnvelope(envelope['data']);
    if (messageType === 'kbLayout' && recipient === 'KBLayoutChange') {
      this.tolerate('kbLayout', envelope['data']);
      return [];
    }
    if (messageType === 'SAFE_ZONE' && recipient === 'NvGridSvc:NGS') {
      this.tolerate('SAFE_ZONE', envelope['data']);
      return [];
    }
    this.violation(`customMessage with unknown messageType/messageRecipient ${describe(messageType)}/${describe(recipient)}`);
    return [];
  }

  private appEnvelope(data: unknown): KitAppMessage[] {
    const message = this.appMessageOf(data);
    if (!message) return [];
    const eventType = message['event_type'];
    if (typeof eventType !== 'string' || eventType === '') {
      this.violation(`app message without a string event_type: ${quote(JSON.stringify(message))}`);
      return [];
    }
    if (!('payload' in message)) this.note(`${shorten(eventType)} arrived without a payload (read as {})`);
    const received: KitAppMessage = { event_type: eventType, payload: message['payload'] ?? {} };
    // The list keeps a bounded copy: a client must not make it hold megabytes.
    remember(this.appMessages, { event_type: shorten(eventType), payload: boundedValue(received.payload) });
    return this.handleAppMessage(received);
  }

  /** The `{event_type, payload}` object inside the envelope's `data`, which must be a JSON string. */
  private appMessageOf(data: unknown): Record<string, unknown> | undefined {
    if (typeof data === 'string') {
      const parsed = parseJson(data);
      const message = parsed.ok ? asObject(parsed.value) : undefined;
      if (!message) this.violation(`app message data is not a JSON object string: ${quote(data)}`);
      return message;
    }
    const message = asObject(data);
    if (message) {
      // NVIDIA's libraries always send data as a JSON string (6.x takes an object from the app but
      // still stringifies it). Accepting an object is a tolerant reading, recorded as such.
      this.note('app message data arrived as an object instead of a JSON string (accepted as a tolerant reading)');
    } else {
      this.violation(`app message data must be a JSON string of {event_type, payload}, got ${describe(data)}`);
    }
    return message;
  }

  private handleAppMessage(message: KitAppMessage): KitAppMessage[] {
    const payload = asObject(message.payload) ?? {};
    switch (message.event_type) {
      case 'loadingStateQuery':
        return [{ event_type: 'loadingStateResponse', payload: { loading_state: 'idle', url: this.stageUrl } }];
      case 'openStageRequest':
        return this.openStage(payload);
      case 'getChildrenRequest':
        return this.getChildren(payload);
      case 'selectPrimsRequest':
        return this.selectPrims(payload);
      case 'makePrimsPickable':
        return this.makePickable(payload);
      case 'resetStage':
        return [{ event_type: 'resetStageResponse', payload: { result: 'success', error: '' } }];
      default:
        this.note(`no handler for app message ${shorten(message.event_type)}: no reply`);
        return [];
    }
  }

  private openStage(payload: Record<string, unknown>): KitAppMessage[] {
    const url = payload['url'];
    if (typeof url !== 'string') {
      // The usd_viewer extension logs an error for a payload without "url" and sends nothing.
      this.note(`openStageRequest without a string url (${describe(url)}): no reply`);
      return [];
    }
    if (url === '') {
      return [{ event_type: 'openedStageResult', payload: { url, result: 'error', error: 'No stage URL was given.' } }];
    }
    const result: KitAppMessage = { event_type: 'openedStageResult', payload: { url, result: 'success', error: '' } };
    // Asking for the stage already open answers success at once, without loading progress.
    if (url === this.stageUrl) return [result];
    this.stageUrl = url;
    this.selection = [];
    this.pickable = undefined;
    // Status bar progress forwarded as Kit's status bar emits it: a 0..1 fraction, -1 and '' to clear.
    return [
      { event_type: 'updateProgressActivity', payload: { text: `Loading ${url}` } },
      { event_type: 'updateProgressAmount', payload: { progress: 0 } },
      { event_type: 'updateProgressAmount', payload: { progress: 1 } },
      { event_type: 'updateProgressActivity', payload: { text: '' } },
      { event_type: 'updateProgressAmount', payload: { progress: -1 } },
      result,
    ];
  }

  private getChildren(payload: Record<string, unknown>): KitAppMessage[] {
    const primPath = payload['prim_path'];
    if (typeof primPath !== 'string') {
      this.note(`getChildrenRequest without a string prim_path (${describe(primPath)}): no reply`);
      return [];
    }
    const filters = payload['filters'];
    if (filters === undefined) {
      // The usd_viewer extension reads payload["filters"] unconditionally; absent is read as "no filter".
      this.note('getChildrenRequest without filters (read as no filter)');
    }
    const admitted = Array.isArray(filters) ? filters.flatMap((name) => CHILD_FILTERS.get(String(name)) ?? []) : undefined;
    const children: StageChild[] = childPrims(primPath)
      .filter((child) => admitted === undefined || admitted.includes(child.type))
      .filter((child) => !(primPath === '/' && child.path === '/Render'))
      .map((child) => {
        const entry: StageChild = { name: child.path.slice(child.path.lastIndexOf('/') + 1), path: child.path };
        if (childPrims(child.path).length > 0) entry.children = [];
        return entry;
      });
    return [{ event_type: 'getChildrenResponse', payload: { prim_path: primPath, children } }];
  }

  private selectPrims(payload: Record<string, unknown>): KitAppMessage[] {
    const paths = payload['paths'];
    if (!isStringArray(paths)) {
      this.note(`selectPrimsRequest without a string array of paths (${describe(paths)}): no reply`);
      return [];
    }
    this.selection = [...paths];
    // The usd_viewer extension itself suppresses this echo for client-initiated selections; the
    // simulator answers it so a client can observe that the request arrived.
    return [{ event_type: 'stageSelectionChanged', payload: { prims: this.selectedPrims() } }];
  }

  private makePickable(payload: Record<string, unknown>): KitAppMessage[] {
    const paths = payload['paths'];
    if (!isStringArray(paths)) {
      return [{ event_type: 'makePrimsPickableResponse', payload: { result: 'error', error: 'paths must be a list of prim paths' } }];
    }
    this.pickable = [...paths];
    return [{ event_type: 'makePrimsPickableResponse', payload: { result: 'success', error: '' } }];
  }

  private absoluteMove(x: number, y: number, refWidth: number, refHeight: number, replies: KitAppInputReplies): void {
    if (refWidth === 0 || refHeight === 0) {
      this.violation(`input: absolute move with an empty reference size ${refWidth}x${refHeight}`);
      return;
    }
    if (x > refWidth || y > refHeight) {
      this.violation(`input: absolute move (${x}, ${y}) outside its reference size ${refWidth}x${refHeight} (the client clamps)`);
    }
    // Positions are CSS pixels of the displayed picture; the reference size says how big that was.
    this.movePointer((x * this.streamWidth) / refWidth, (y * this.streamHeight) / refHeight, replies);
  }

  private relativeMove(dx: number, dy: number, replies: KitAppInputReplies): void {
    const from = this.pointer ?? { x: this.streamWidth / 2, y: this.streamHeight / 2 };
    this.movePointer(from.x + dx, from.y + dy, replies);
  }

  private movePointer(x: number, y: number, replies: KitAppInputReplies): void {
    this.pointer = { x: clamp(x, 0, this.streamWidth), y: clamp(y, 0, this.streamHeight) };
    const wanted = isInTextRegion(this.pointer.y, this.streamHeight) ? SYSTEM_CURSOR.text : SYSTEM_CURSOR.default;
    if (wanted !== this.cursorId) {
      this.cursorId = wanted;
      replies.cursor.push(encodeSystemCursor(wanted));
    }
  }

  private button(button: number, down: boolean, replies: KitAppInputReplies): void {
    if (button !== LEFT_BUTTON) return;
    if (down) {
      this.pressedAt = this.pointer ? { ...this.pointer } : undefined;
      return;
    }
    const pressedAt = this.pressedAt;
    this.pressedAt = undefined;
    const at = this.pointer;
    if (!pressedAt || !at || Math.hypot(at.x - pressedAt.x, at.y - pressedAt.y) > CLICK_SLOP) return;
    const reply = this.click(at.x, at.y);
    if (reply) replies.control.push(encodeAppMessageFrame(reply));
  }

  /** A viewport click selects the pickable prim under it; clicking empty space clears the selection. */
  private click(x: number, y: number): KitAppMessage | undefined {
    if (isInTextRegion(y, this.streamHeight)) return undefined;
    const prim = primAtStreamPoint(x, y, this.streamWidth, this.streamHeight);
    const picked = prim !== undefined && this.isPickable(prim) ? [prim] : [];
    if (picked.length === 0 && this.selection.length === 0) return undefined;
    this.selection = picked;
    return { event_type: 'stageSelectionChanged', payload: { prims: this.selectedPrims() } };
  }

  private isPickable(prim: string): boolean {
    return this.pickable === undefined || this.pickable.some((path) => prim === path || prim.startsWith(`${path}/`));
  }

  private logControl(direction: 'in' | 'out', text: string): void {
    remember(this.controlFrames, { direction, text: text.length > LOGGED_TEXT_LIMIT ? `${text.slice(0, LOGGED_TEXT_LIMIT)}…` : text });
  }

  private violation(problem: string): void {
    remember(this.problems, problem);
  }

  private tolerate(kind: string, value: unknown): void {
    remember(this.toleratedFrames, { kind, value: boundedValue(value) });
  }

  private note(observation: string): void {
    remember(this.observations, observation);
  }
}

function childPrims(parent: string): ReadonlyArray<{ path: string; type: PrimType }> {
  return STAGE_PRIMS.filter((prim) => {
    const cut = prim.path.lastIndexOf('/');
    return (cut === 0 ? '/' : prim.path.slice(0, cut)) === parent;
  });
}

function remember<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > LOG_LIMIT) list.splice(0, list.length - LOG_LIMIT);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : `a ${typeof value}`;
}

function quote(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function shorten(name: string): string {
  return name.length > NAME_LIMIT ? `${name.slice(0, NAME_LIMIT)}…` : name;
}

/** The value itself when its JSON text is short, else the start of that text (ending in …). */
function boundedValue(value: unknown): unknown {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined || text.length <= LOGGED_TEXT_LIMIT) return value;
  return `${text.slice(0, LOGGED_TEXT_LIMIT)}…`;
}
