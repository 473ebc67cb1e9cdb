import { expect, waitUntil } from '@open-wc/testing';
import fc from 'fast-check';
import '../../src/kit-stream-player/index.js';
import '../../src/theta-live-setup/index.js';
import { KitSimulatorHandle, ThetaSimulatorHandle } from '../support/simulators.js';

/**
 * The DOM side of the parsers' fuzzing: whatever a server says in an error, the element shows it as text. Generated
 * messages (markup, scripts, entities, control and astral characters) come back from the simulators in the bodies
 * services really send, and the error box must hold no element and run no handler.
 */

const markup = [
  '<img src=x onerror="window.__injected = true">',
  '<script>window.__injected = true</script>',
  '"><svg onload="window.__injected = true">',
  '<b>bold</b> &amp; &lt;i&gt;',
  '</p><button part="retry-button">Fake</button>',
];

/** Messages of every kind, seeded so that a failure repeats: the hostile ones above, then generated ones. */
const messages = [
  ...markup,
  ...fc.sample(
    fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }),
      fc.tuple(fc.constantFrom(...markup), fc.string({ maxLength: 20 })).map(([tag, text]) => `${text}${tag}${text}`),
    ),
    { seed: 20261201, numRuns: 10 },
  ),
].filter((message) => message.trim() !== '');

declare global {
  interface Window {
    __injected?: boolean;
  }
}

/** The error text the element shows, after checking that it is only text. */
function shownText(root: ShadowRoot, selector: string): string {
  const box = root.querySelector(selector);
  expect(box, selector).to.exist;
  expect(box!.querySelectorAll('*').length, `elements inside ${selector}`).to.equal(0);
  return box!.textContent ?? '';
}

/** Server text is shown as it was meant: spaces collapsed, as the readers of a server's message do. */
const loosely = (text: string) => text.replace(/\s+/g, ' ').trim();

describe('server text in the DOM', function () {
  this.timeout(60_000);
  let kit: KitSimulatorHandle | undefined;
  let theta: ThetaSimulatorHandle | undefined;

  afterEach(async () => {
    document.querySelectorAll('kit-stream-player, theta-live-setup').forEach((element) => element.remove());
    sessionStorage.clear();
    await kit?.close();
    await theta?.close();
    kit = theta = undefined;
  });

  it(`<kit-stream-player> shows ${messages.length} hostile and generated error messages as text`, async () => {
    kit = await KitSimulatorHandle.start();
    for (const message of messages) {
      await kit.fault({ method: 'POST', path: '^/stream$', status: 500, body: JSON.stringify({ detail: message }) });
      const element = document.createElement('kit-stream-player');
      for (const [name, value] of Object.entries({ server: kit.url, 'app-id': 'usd-viewer', profile: 'default' }))
        element.setAttribute(name, value);
      document.body.append(element);
      await waitUntil(() => element.state === 'error', `no error for ${JSON.stringify(message)}`, { timeout: 5000 });
      const shown = shownText(element.shadowRoot!, '[part="error-message"]');
      expect(loosely(shown)).to.include(loosely(message).slice(0, 40));
      element.remove();
    }
    expect(window.__injected).to.equal(undefined);
  });

  it(`<theta-live-setup> shows ${messages.length} hostile and generated error messages as text`, async () => {
    theta = await ThetaSimulatorHandle.start();
    for (const message of messages) {
      await theta.fault({ method: 'GET', path: '/streams$', status: 500, body: JSON.stringify({ status: 'error', message }) });
      const element = document.createElement('theta-live-setup');
      element.setAttribute('api-base', theta.apiBase);
      document.body.append(element);
      await waitUntil(() => element.shadowRoot?.querySelector('[part~="error"]'), `no error for ${JSON.stringify(message)}`, {
        timeout: 5000,
      });
      const box = element.shadowRoot!.querySelector('[part~="error"]')!;
      const text = box.querySelector('p') ?? box;
      expect(text.querySelectorAll('*').length, 'elements inside the error text').to.equal(0);
      expect(loosely(text.textContent ?? '')).to.include(loosely(message).slice(0, 40));
      element.remove();
      sessionStorage.clear();
    }
    expect(window.__injected).to.equal(undefined);
  });
});
