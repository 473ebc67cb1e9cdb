/**
 * The simulated Kit app behind the stream: control_channel frames in the exact wire form of
 * KIT-PROTOCOL.md §4 (app messages, tolerated client reports, violations), the USD viewer vocabulary,
 * clicks and cursor changes from decoded input, and the cursor_channel bytes of §6.
 *
 * Run: node --import tsx --test test/simulators/kit/kit-app.node.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeImageCursor, encodeSystemCursor } from '../../../demo/simulators/kit/media/cursor-encoder.js';
import { decodeInputMessage } from '../../../demo/simulators/kit/media/input-decoder.js';
import type { DecodedInput } from '../../../demo/simulators/kit/media/input-decoder.js';
import { SimulatedKitApp, encodeAppMessageFrame } from '../../../demo/simulators/kit/media/kit-app.js';
import type { KitAppMessage } from '../../../demo/simulators/kit/media/kit-app.js';

const STAGE = 'omniverse://simulated/stage.usd';

function newApp(): SimulatedKitApp {
  return new SimulatedKitApp({ usdStageUri: STAGE, streamWidth: 1920, streamHeight: 1080 });
}

/** The three-level client→Kit frame of §4.1. */
function clientFrame(eventType: string, payload: unknown): string {
  const envelope = { messageType: 'json', messageRecipient: 'kit', data: JSON.stringify({ event_type: eventType, payload }) };
  return JSON.stringify({ customMessage: JSON.stringify(envelope) });
}

/** Reads a Kit→client frame, insisting on the two-level form of §4.2. */
function appMessage(frame: string): KitAppMessage {
  const outer = JSON.parse(frame) as { customMessage: unknown };
  assert.deepEqual(Object.keys(outer), ['customMessage']);
  assert.equal(typeof outer.customMessage, 'string');
  const inner = JSON.parse(outer.customMessage as string) as KitAppMessage;
  assert.deepEqual(Object.keys(inner), ['event_type', 'payload']);
  return inner;
}

function ask(app: SimulatedKitApp, eventType: string, payload: unknown): KitAppMessage[] {
  return app.controlFrame(clientFrame(eventType, payload)).map(appMessage);
}

function hex(dump: string): Buffer {
  return Buffer.from(dump.replace(/\s+/g, ''), 'hex');
}

function move(x: number, y: number, refWidth: number, refHeight: number): DecodedInput {
  return { kind: 'move', x, y, refWidth, refHeight, timestampUs: 1, framed: false };
}

function button(down: boolean, which = 1): DecodedInput {
  return { kind: 'button', down, button: which, timestampUs: 2, framed: false };
}

describe('control_channel: the §4.1 wire form', () => {
  it('answers the document wire example of loadingStateQuery, in the two-level reply form', () => {
    const app = newApp();
    const wire = String.raw`{"customMessage":"{\"messageType\":\"json\",\"messageRecipient\":\"kit\",\"data\":\"{\\\"event_type\\\":\\\"loadingStateQuery\\\",\\\"payload\\\":{}}\"}"}`;
    const replies = app.controlFrame(wire);
    assert.deepEqual(replies, [
      String.raw`{"customMessage":"{\"event_type\":\"loadingStateResponse\",\"payload\":{\"loading_state\":\"idle\",\"url\":\"omniverse://simulated/stage.usd\"}}"}`,
    ]);
    assert.deepEqual(app.messages(), [{ event_type: 'loadingStateQuery', payload: {} }]);
    assert.deepEqual(app.violations(), []);
    assert.deepEqual(
      app.controlLog().map((entry) => entry.direction),
      ['in', 'out'],
    );
    assert.equal(app.controlLog()[0]?.text, wire);
  });

  it('records a bare {event_type, payload} frame as a violation and answers nothing', () => {
    const app = newApp();
    assert.deepEqual(app.controlFrame('{"event_type":"loadingStateQuery","payload":{}}'), []);
    assert.equal(app.violations().length, 1);
    assert.match(app.violations()[0]!, /bare app message/);
    assert.deepEqual(app.messages(), []);
  });

  it('records the two-level form sent by a client (no messageType envelope) as a violation', () => {
    const app = newApp();
    const twoLevels = JSON.stringify({ customMessage: JSON.stringify({ event_type: 'loadingStateQuery', payload: {} }) });
    assert.deepEqual(app.controlFrame(twoLevels), []);
    assert.match(app.violations()[0]!, /unknown messageType\/messageRecipient nothing\/nothing/);
  });

  it('records non-JSON, non-object frames and a customMessage object as violations', () => {
    const app = newApp();
    const bad = [
      'not json',
      '[1,2]',
      '{"customMessage":{"messageType":"json","messageRecipient":"kit","data":"{}"}}',
      '{"customMessage":"not json"}',
      clientFrame('x', {}).replace('\\"kit\\"', '\\"someone\\"'),
      JSON.stringify({ customMessage: JSON.stringify({ messageType: 'json', messageRecipient: 'kit', data: 'not json' }) }),
      JSON.stringify({ customMessage: JSON.stringify({ messageType: 'json', messageRecipient: 'kit', data: 42 }) }),
      JSON.stringify({ customMessage: JSON.stringify({ messageType: 'json', messageRecipient: 'kit', data: '{"payload":{}}' }) }),
      '{"somethingElse":1}',
    ];
    for (const frame of bad) assert.deepEqual(app.controlFrame(frame), [], frame);
    const violations = app.violations();
    assert.equal(violations.length, bad.length);
    assert.match(violations[0]!, /not JSON/);
    assert.match(violations[1]!, /not a JSON object/);
    assert.match(violations[2]!, /customMessage must be a JSON string, got a object/);
    assert.match(violations[3]!, /customMessage string is not a JSON object/);
    assert.match(violations[4]!, /"json"\/"someone"/);
    assert.match(violations[5]!, /data is not a JSON object string/);
    assert.match(violations[6]!, /data must be a JSON string/);
    assert.match(violations[7]!, /without a string event_type/);
    assert.match(violations[8]!, /unknown control message/);
    assert.deepEqual(app.messages(), []);
  });

  it('accepts data as an object as a tolerant reading, and notes it', () => {
    const app = newApp();
    const frame = JSON.stringify({
      customMessage: JSON.stringify({
        messageType: 'json',
        messageRecipient: 'kit',
        data: { event_type: 'loadingStateQuery', payload: {} },
      }),
    });
    const replies = app.controlFrame(frame).map(appMessage);
    assert.equal(replies[0]?.event_type, 'loadingStateResponse');
    assert.deepEqual(app.violations(), []);
    assert.match(app.notes().join('\n'), /data arrived as an object/);
  });

  it('tolerates the client reports of §4.3 and §8 without answering', () => {
    const app = newApp();
    const reports = [
      String.raw`{"customMessage":"{\"messageType\":\"kbLayout\",\"messageRecipient\":\"KBLayoutChange\",\"data\":\"en-US\"}"}`,
      '{"etwPrint":"NvRtcClient Browser name: Chrome"}',
      '{"etwPrintPair":{"key":"GPU Detail","value":"test"}}',
      '{"windowState":{"streamIndex":0,"frameNumber":0,"windowStateFlags":3}}',
      '{"systemState":{"systemStateFlags":0}}',
      '{"cpuUsage":{"usage":10}}',
      JSON.stringify({
        customMessage: JSON.stringify({
          messageType: 'SAFE_ZONE',
          messageRecipient: 'NvGridSvc:NGS',
          data: JSON.stringify({ safeZoneData: { type: 'InsetValueUpdate', rect: { top: 0, left: 0, bottom: 0, right: 0 } } }),
        }),
      }),
      '{"exitMessage":{"code":0}}',
    ];
    for (const frame of reports) assert.deepEqual(app.controlFrame(frame), [], frame);
    assert.deepEqual(app.violations(), []);
    assert.deepEqual(
      app.toleratedMessages().map((entry) => entry.kind),
      ['kbLayout', 'etwPrint', 'etwPrintPair', 'windowState', 'systemState', 'cpuUsage', 'SAFE_ZONE', 'exitMessage'],
    );
    assert.equal(app.toleratedMessages()[0]?.value, 'en-US');
    assert.deepEqual(app.messages(), []);
  });

  it('says which top-level key a frame was read by, so that exitMessage is told from a value that mentions it', () => {
    const app = newApp();
    const keyOf = (frame: string) => app.receiveControlFrame(frame).key;
    assert.equal(keyOf('{"exitMessage":{"code":0}}'), 'exitMessage');
    assert.equal(keyOf('{"windowState":{"streamIndex":0,"frameNumber":1,"windowStateFlags":3,"note":{"exitMessage":1}}}'), 'windowState');
    assert.equal(keyOf('{"etwPrint":"\\"exitMessage\\""}'), 'etwPrint');
    assert.equal(keyOf(clientFrame('exitMessage', { exitMessage: { code: 0 } })), 'customMessage');
    assert.equal(keyOf('{"somethingElse":{"exitMessage":{}}}'), undefined);
    assert.equal(keyOf('"exitMessage"'), undefined);
    const { replies, key } = app.receiveControlFrame(clientFrame('loadingStateQuery', {}));
    assert.equal(key, 'customMessage');
    assert.equal(appMessage(replies[0]!).event_type, 'loadingStateResponse');
  });

  it('keeps bounded copies of large app messages and tolerated values', () => {
    const app = newApp();
    const big = 'x'.repeat(60_000);
    for (let round = 0; round < 1100; round++) {
      app.controlFrame(clientFrame(`bigEvent${'y'.repeat(1000)}`, { big }));
      app.controlFrame(JSON.stringify({ windowState: { big } }));
    }
    const messages = app.messages();
    const tolerated = app.toleratedMessages();
    assert.equal(messages.length, 1000);
    assert.equal(tolerated.length, 1000);
    for (const stored of [...messages, ...tolerated]) assert.ok(JSON.stringify(stored).length < 4400, 'a few kB per entry');
    assert.match(String(messages[0]!.payload), /^\{"big":"x+…$/);
    assert.ok(messages[0]!.event_type.length <= 81);
    for (const list of [app.notes(), app.controlLog().map((entry) => entry.text)]) {
      assert.ok(list.length <= 1000);
      assert.ok(list.every((text) => text.length < 4400));
    }
    // Small values stay as they are.
    app.controlFrame(clientFrame('small', { a: 1 }));
    assert.deepEqual(app.messages().at(-1), { event_type: 'small', payload: { a: 1 } });
  });

  it('writes exitMessage and timerNotification frames', () => {
    const app = newApp();
    assert.equal(app.exitMessage(), '{"exitMessage":{"code":0}}');
    assert.equal(app.exitMessage(3), '{"exitMessage":{"code":3}}');
    assert.equal(app.timerNotification(4, 60), '{"timerNotification":{"code":4,"secondsLeft":60}}');
    assert.equal(app.controlLog().length, 3);
  });

  it('encodes its own app messages in the two-level form', () => {
    assert.equal(
      encodeAppMessageFrame({ event_type: 'stageSelectionChanged', payload: { prims: ['/World/Cube'] } }),
      String.raw`{"customMessage":"{\"event_type\":\"stageSelectionChanged\",\"payload\":{\"prims\":[\"/World/Cube\"]}}"}`,
    );
  });
});

describe('control_channel: the USD viewer vocabulary', () => {
  it('opens a new stage with progress, then reports it loaded', () => {
    const app = newApp();
    const url = 'omniverse://simulated/other.usd';
    const replies = ask(app, 'openStageRequest', { url });
    assert.deepEqual(
      replies.map((reply) => reply.event_type),
      [
        'updateProgressActivity',
        'updateProgressAmount',
        'updateProgressAmount',
        'updateProgressActivity',
        'updateProgressAmount',
        'openedStageResult',
      ],
    );
    assert.deepEqual(replies[1]?.payload, { progress: 0 });
    assert.deepEqual(replies.at(-1)?.payload, { url, result: 'success', error: '' });
    assert.deepEqual(ask(app, 'loadingStateQuery', {}), [{ event_type: 'loadingStateResponse', payload: { loading_state: 'idle', url } }]);
  });

  it('answers at once for the stage already open, and with an error for an empty url', () => {
    const app = newApp();
    assert.deepEqual(ask(app, 'openStageRequest', { url: STAGE }), [
      { event_type: 'openedStageResult', payload: { url: STAGE, result: 'success', error: '' } },
    ]);
    const [failed] = ask(app, 'openStageRequest', { url: '' });
    assert.equal(failed?.event_type, 'openedStageResult');
    const payload = failed?.payload as { url: string; result: string; error: string };
    assert.equal(payload.result, 'error');
    assert.equal(payload.url, '');
    assert.ok(payload.error.length > 0);
    assert.deepEqual(ask(app, 'openStageRequest', {}), []);
    assert.match(app.notes().join('\n'), /openStageRequest without a string url/);
  });

  it('lists children of the fixed stage, with filters and lazy-load markers', () => {
    const app = newApp();
    assert.deepEqual(ask(app, 'getChildrenRequest', { prim_path: '/World', filters: ['USDGeom'] }), [
      {
        event_type: 'getChildrenResponse',
        payload: {
          prim_path: '/World',
          children: [
            { name: 'Cube', path: '/World/Cube' },
            { name: 'Sphere', path: '/World/Sphere' },
          ],
        },
      },
    ]);
    const [all] = ask(app, 'getChildrenRequest', { prim_path: '/World' });
    assert.deepEqual((all?.payload as { children: unknown }).children, [
      { name: 'Cube', path: '/World/Cube' },
      { name: 'Sphere', path: '/World/Sphere' },
      { name: 'Lights', path: '/World/Lights', children: [] },
    ]);
    const [root] = ask(app, 'getChildrenRequest', { prim_path: '/', filters: ['xform'] });
    assert.deepEqual(root?.payload, { prim_path: '/', children: [{ name: 'World', path: '/World', children: [] }] });
    const [missing] = ask(app, 'getChildrenRequest', { prim_path: '/Nowhere', filters: [] });
    assert.deepEqual(missing?.payload, { prim_path: '/Nowhere', children: [] });
  });

  it('answers selectPrimsRequest with stageSelectionChanged, resetStage and makePrimsPickable with their responses', () => {
    const app = newApp();
    assert.deepEqual(ask(app, 'selectPrimsRequest', { paths: ['/World/Cube'] }), [
      { event_type: 'stageSelectionChanged', payload: { prims: ['/World/Cube'] } },
    ]);
    assert.deepEqual(app.selectedPrims(), ['/World/Cube']);
    assert.deepEqual(ask(app, 'resetStage', {}), [{ event_type: 'resetStageResponse', payload: { result: 'success', error: '' } }]);
    assert.deepEqual(ask(app, 'makePrimsPickable', { paths: ['/World/Sphere'] }), [
      { event_type: 'makePrimsPickableResponse', payload: { result: 'success', error: '' } },
    ]);
  });

  it('records unknown event types without answering', () => {
    const app = newApp();
    assert.deepEqual(ask(app, 'somethingNew', { a: 1 }), []);
    assert.deepEqual(app.messages(), [{ event_type: 'somethingNew', payload: { a: 1 } }]);
    assert.deepEqual(app.violations(), []);
    assert.match(app.notes().join('\n'), /no handler for app message somethingNew/);
  });
});

describe('input: clicks and cursor', () => {
  it('selects the prim under a click, scaled from a letterboxed 960x540 picture to the 1920x1080 stream', () => {
    const app = newApp();
    // CSS x 600 of 960 is stream x 1200: the right half (sphere). Unscaled, 600 would be the left half.
    let replies = app.input([move(600, 300, 960, 540), button(true), button(false)]);
    assert.deepEqual(replies.control.map(appMessage), [{ event_type: 'stageSelectionChanged', payload: { prims: ['/World/Sphere'] } }]);
    replies = app.input([move(100, 300, 960, 540), button(true), button(false)]);
    assert.deepEqual(replies.control.map(appMessage), [{ event_type: 'stageSelectionChanged', payload: { prims: ['/World/Cube'] } }]);
    assert.deepEqual(app.selectedPrims(), ['/World/Cube']);
    // CSS y 120 of 540 is stream y 240: below the text region (top 216 px), so it picks; unscaled it would not.
    replies = app.input([move(700, 120, 960, 540), button(true), button(false)]);
    assert.deepEqual(replies.control.map(appMessage)[0]?.payload, { prims: ['/World/Sphere'] });
    assert.equal(app.controlLog().filter((entry) => entry.direction === 'out').length, 3);
    assert.deepEqual(app.violations(), []);
  });

  it('selects from the decoded §5.4 click bytes', () => {
    const app = new SimulatedKitApp({ streamWidth: 320, streamHeight: 240 });
    const events = [
      '05 00 00 00  00 64  00 32  00 00  07 80  04 38  00 00 00 00  00 00 00 00 00 12 D6 87',
      '08 00 00 00  01  00  00 00 00 00  00 00 00 00 00 12 D6 87',
      '09 00 00 00  01  00  00 00 00 00  00 00 00 00 00 12 D6 87',
    ].flatMap((dump) => decodeInputMessage(hex(dump), 2));
    // (100, 50) of 1920x1080 is (16.7, 11.1) of 320x240: inside the text region, nothing to pick.
    const replies = app.input(events);
    assert.deepEqual(replies.control, []);
    assert.deepEqual(replies.cursor, [encodeSystemCursor(2)]);
    assert.equal(app.received().length, 3);
  });

  it('does not click on a drag, another button, a press without a known position, or in the text region', () => {
    const app = newApp();
    assert.deepEqual(app.input([button(true), button(false)]).control, []);
    assert.deepEqual(app.input([move(100, 300, 960, 540), button(true), move(300, 300, 960, 540), button(false)]).control, []);
    assert.deepEqual(app.input([move(100, 300, 960, 540), button(true, 3), button(false, 3)]).control, []);
    assert.deepEqual(app.input([move(100, 20, 960, 540), button(true), button(false)]).control, []);
    assert.deepEqual(app.selectedPrims(), []);
  });

  it('honours makePrimsPickable: a click on a prim that is not pickable clears the selection', () => {
    const app = newApp();
    app.controlFrame(clientFrame('selectPrimsRequest', { paths: ['/World/Sphere'] }));
    app.controlFrame(clientFrame('makePrimsPickable', { paths: ['/World/Sphere'] }));
    const replies = app.input([move(100, 300, 960, 540), button(true), button(false)]);
    assert.deepEqual(replies.control.map(appMessage), [{ event_type: 'stageSelectionChanged', payload: { prims: [] } }]);
    assert.deepEqual(app.input([move(100, 300, 960, 540), button(true), button(false)]).control, []);
  });

  it('sends the text cursor over the text region and the default one elsewhere, only on change', () => {
    const app = newApp();
    const textCursor = hex('00 02 00 00 00 00 00');
    const defaultCursor = hex('00 01 00 00 00 00 00');
    assert.deepEqual(app.input([move(100, 300, 960, 540)]).cursor, [defaultCursor]);
    assert.deepEqual(app.input([move(200, 400, 960, 540)]).cursor, []);
    assert.deepEqual(app.input([move(200, 50, 960, 540), move(300, 60, 960, 540)]).cursor, [textCursor]);
    assert.deepEqual(app.input([move(300, 200, 960, 540)]).cursor, [defaultCursor]);
    // Relative moves (pointer lock) move the pointer in stream pixels.
    assert.deepEqual(app.input([{ kind: 'relative-move', dx: 0, dy: -400, timestampUs: 3, framed: false }]).cursor, [textCursor]);
  });

  it('records invalid input and impossible positions as violations', () => {
    const app = newApp();
    app.input(decodeInputMessage(hex('23 00 00 00 00 00 12 D6 90 22 08 00 00 00 01 00 00 00 00 00 00 00 00 00 00 12 D6 87'), 2));
    app.input([move(10, 10, 0, 540), move(1000, 10, 960, 540)]);
    const violations = app.violations();
    assert.equal(violations.length, 3);
    assert.match(violations[0]!, /^input: 0x23 send-time wrapper.*\[23 00 00/);
    assert.match(violations[1]!, /empty reference size 0x540/);
    assert.match(violations[2]!, /outside its reference size/);
  });

  it('keeps only the last 1000 input events', () => {
    const app = newApp();
    const heartbeats: DecodedInput[] = Array.from({ length: 1500 }, () => ({ kind: 'heartbeat', framed: true }));
    app.input(heartbeats);
    app.input([{ kind: 'text', text: 'last', framed: true }]);
    const received = app.received();
    assert.equal(received.length, 1000);
    assert.deepEqual(received.at(-1), { kind: 'text', text: 'last', framed: true });
  });
});

describe('cursor_channel bytes (§6)', () => {
  it('encodes a system cursor, with and without a position', () => {
    assert.deepEqual(encodeSystemCursor(2), hex('00 02 00 00 00 00 00'));
    assert.deepEqual(encodeSystemCursor(12, { x: 0x1234, y: 0xffff }), hex('00 0C 00 00 00 00 00 34 12 FF FF'));
  });

  it('encodes an image cursor and its cached reuse', () => {
    const mime = Buffer.from('image/png', 'utf8').toString('hex');
    const data = Buffer.from('iVBORw0=', 'utf8').toString('hex');
    assert.deepEqual(encodeImageCursor(7, 3, 4, 'image/png', 'iVBORw0='), hex(`01 07 03 04 09 ${mime} 08 00 ${data}`));
    assert.deepEqual(encodeImageCursor(7, 3, 4, 'image/png', ''), hex(`01 07 03 04 09 ${mime} 00 00`));
    assert.deepEqual(encodeImageCursor(7, 3, 4, 'image/png', '', { x: 1, y: 2 }), hex(`01 07 03 04 09 ${mime} 00 00 01 00 02 00`));
  });

  it('writes the image length little-endian past 255 bytes', () => {
    const image = 'A'.repeat(300);
    const bytes = encodeImageCursor(1, 0, 0, 'image/png', image);
    assert.equal(bytes.readUInt16LE(5 + 9), 300);
    assert.equal(bytes.length, 5 + 9 + 2 + 300);
  });

  it('refuses values that do not fit their fields', () => {
    assert.throws(() => encodeSystemCursor(256), RangeError);
    assert.throws(() => encodeImageCursor(1, -1, 0, 'image/png', ''), RangeError);
    assert.throws(() => encodeImageCursor(1, 0, 0, 'x'.repeat(256), ''), RangeError);
    assert.throws(() => encodeSystemCursor(1, { x: 65536, y: 0 }), RangeError);
  });
});
