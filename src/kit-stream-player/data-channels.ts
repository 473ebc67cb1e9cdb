import { isRecord, parseJson } from '../internal/json.js';
import type { KitAppMessage, KitCloseReason, KitConnectOptions, KitInputSink } from './connector.js';
import { CursorStyles, parseCursorMessage } from './cursor.js';
import { InputChannelWriter, encodeHeartbeat } from './input-protocol.js';

/** App messages waiting for `control_channel` to open; the oldest go first when more arrive. */
const maxQueuedMessages = 64;

/**
 * The data channels of one connection: `input_channel_v1` (binary input) and `cursor_channel` (the app's cursor),
 * which the client makes before it answers, as Kit expects them in the answer, and the server's `control_channel`
 * (app messages, idle warnings, the app's exit), with the queue that holds app messages until it opens.
 */
export interface KitDataChannels {
  readonly input: KitInputSink;
  /** Sends a message to the app, or queues it until `control_channel` opens. */
  send(message: KitAppMessage): void;
  /**
   * The media connected: `control_channel` must now open within `timeoutMs`, as NVIDIA's client requires before it
   * counts the stream as started. Without it the picture plays, but the page's messages to the app, the app's
   * replies, its idle warnings and its exit never arrive, and a page that drives the app (loads a stage, say) is left
   * waiting with no word. Kit's streaming server opens that channel itself on every connection, so a new connection
   * is the remedy: the connection ends as a timeout, and the element reconnects (up to `max-reconnects`) before it
   * shows the error, which counts the messages that were not delivered.
   */
  awaitControl(timeoutMs: number): void;
  /** Tells the app that the viewer left, as NVIDIA's client does on stop, closes the channels, then calls `then`. */
  close(then: () => void): void;
}

/** Creates the client's channels on `peer` and takes the server's `control_channel` when it comes. */
export function openDataChannels(
  peer: RTCPeerConnection,
  options: KitConnectOptions,
  fail: (reason: KitCloseReason, detail: string) => void,
  log: (...parts: unknown[]) => void,
): KitDataChannels {
  const inputChannel = peer.createDataChannel('input_channel_v1', { ordered: true });
  const cursorChannel = peer.createDataChannel('cursor_channel', { ordered: true });
  inputChannel.binaryType = cursorChannel.binaryType = 'arraybuffer';
  const cursors = new CursorStyles();
  const queue: string[] = [];
  /** Queued messages dropped to keep the queue bounded: they count as not delivered. */
  let dropped = 0;
  let control: RTCDataChannel | undefined;
  let controlTimer: ReturnType<typeof setTimeout> | undefined;
  /** Kit warned that the viewer is idle: the next input goes with an input heartbeat (§5.8). */
  let idleWarned = false;
  const startedAt = performance.now();
  const writer = new InputChannelWriter(
    (bytes) => {
      if (inputChannel.readyState === 'open') inputChannel.send(bytes as Uint8Array<ArrayBuffer>);
    },
    // Microseconds; the writer rounds them.
    () => (performance.now() - startedAt) * 1000,
  );
  const isOpen = () => control?.readyState === 'open';

  peer.addEventListener('datachannel', ({ channel }) => {
    if (channel.label !== 'control_channel') return;
    control = channel;
    const flush = () => {
      clearTimeout(controlTimer);
      for (const text of queue.splice(0)) channel.send(text);
    };
    channel.addEventListener('open', flush);
    if (isOpen()) flush();
    channel.addEventListener('message', ({ data }) => {
      if (typeof data !== 'string') return;
      log('control in', data);
      const frame = parseJson(data);
      if (!isRecord(frame)) return;
      if (frame.customMessage !== undefined) {
        // Kit sends `{event_type, payload}` as a string (two levels); the library's envelope form (three levels)
        // is accepted too, in case a server wraps its replies the way clients do.
        let message = parseJson(frame.customMessage);
        if (isRecord(message) && message.data !== undefined) message = parseJson(message.data);
        if (isRecord(message) && typeof message.event_type === 'string')
          options.onMessage({ eventType: message.event_type, payload: message.payload });
      } else if (isRecord(frame.timerNotification)) {
        const { code, secondsLeft } = frame.timerNotification;
        // The idle warning: Kit expects an input heartbeat with the viewer's next input (§5.8).
        if (Number(code) === 4) idleWarned = true;
        options.onTimerWarning?.(Number(code) || 0, Number(secondsLeft) || 0);
      } else if (frame.exitMessage !== undefined) {
        fail('server-ended', 'The app ended the stream.');
      }
    });
  });
  inputChannel.addEventListener('message', ({ data }) => {
    if (data instanceof ArrayBuffer && writer.receive(data)) log('input protocol version', writer.version);
  });
  cursorChannel.addEventListener('message', ({ data }) => {
    // Anything but binary data reads as no message.
    const update = parseCursorMessage(data as ArrayBuffer);
    const cursor = update && cursors.apply(update);
    if (cursor) options.onCursor?.(cursor);
  });

  return {
    input: {
      startedAt,
      sendEvent: (event) => {
        if (idleWarned) writer.sendEvent(encodeHeartbeat());
        idleWarned = false;
        writer.sendEvent(event);
      },
      sendText: (text) => writer.sendText(text),
    },
    send: (message) => {
      // Three levels, as Kit's messaging extension reads them: the app's message is a JSON string inside the
      // library's envelope, which is a JSON string inside the channel frame.
      const data = JSON.stringify({ event_type: message.eventType, payload: message.payload ?? {} });
      const text = JSON.stringify({ customMessage: JSON.stringify({ messageType: 'json', messageRecipient: 'kit', data }) });
      log('control out', text);
      if (isOpen()) control!.send(text);
      else if (queue.push(text) > maxQueuedMessages) {
        // Never silent: logged (with `debug`), and counted in the error if the channel does not open in time.
        log('control dropped', queue.shift());
        dropped++;
      }
    },
    awaitControl: (timeoutMs) => {
      // Once: the media may connect again after a blip, and the channel may have opened first.
      if (!isOpen())
        controlTimer ??= setTimeout(
          () =>
            fail(
              'connect-timeout',
              `No message channel to the app within ${timeoutMs / 1000} s; ${queue.length + dropped} messages not sent.`,
            ),
          timeoutMs,
        );
    },
    close: (then) => {
      clearTimeout(controlTimer);
      const closeAll = () => {
        for (const channel of [control, inputChannel, cursorChannel]) channel?.close();
        then();
      };
      // The goodbye is given a moment to leave.
      if (isOpen()) {
        control!.send(JSON.stringify({ exitMessage: { code: 0 } }));
        setTimeout(closeAll, 50);
      } else closeAll();
    },
  };
}
