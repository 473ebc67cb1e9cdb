import '../src/kit-stream-player/index.js';
import type { KitStreamPlayer } from '../src/kit-stream-player/index.js';

interface DemoConfig {
  kit: { server: string; control: string };
}

const config = (await (await fetch('/demo/config.json')).json()) as DemoConfig;
const player = document.querySelector<KitStreamPlayer>('#kit')!;
const stateOutput = document.querySelector('#kit-state')!;
const log = document.querySelector('#kit-log')!;

// kit-message shows the app's replies: click the picture and the simulated app answers with stageSelectionChanged.
const events = [
  'kit-session-pending',
  'kit-session-ready',
  'kit-connected',
  'kit-disconnected',
  'kit-message',
  'kit-timer-warning',
  'kit-error',
  'kit-session-ended',
] as const;
for (const name of events) {
  player.addEventListener(name, (event) => {
    const item = document.createElement('li');
    item.textContent = `${new Date().toLocaleTimeString()} ${name} ${JSON.stringify(event.detail)}`;
    log.prepend(item);
  });
}

new MutationObserver(() => (stateOutput.textContent = player.state)).observe(player, { attributes: true, attributeFilter: ['state'] });

document.querySelector('#kit-start')!.addEventListener('click', () => player.start());
document.querySelector('#kit-stop')!.addEventListener('click', () => player.stop());
document.querySelector<HTMLSelectElement>('#kit-profile')!.addEventListener('change', (event) => {
  player.profile = (event.target as HTMLSelectElement).value;
});
async function failNextRequest(): Promise<void> {
  await fetch(`${config.kit.control}/faults`, {
    method: 'POST',
    body: JSON.stringify([
      { status: 500, body: '{"detail":"Simulated failure: the service is having a bad day."}', contentType: 'application/json' },
    ]),
  });
}
document.querySelector('#kit-fail')!.addEventListener('click', () => void failNextRequest());
document.querySelector('#kit-ask')!.addEventListener('click', () => {
  try {
    player.sendMessage('loadingStateQuery', {});
  } catch (error) {
    const item = document.createElement('li');
    item.textContent = `${new Date().toLocaleTimeString()} ${(error as Error).message}`;
    log.prepend(item);
  }
});

document.querySelector('#kit-snippet')!.textContent =
  `<script type="module" src="https://cdn.jsdelivr.net/npm/live-stream-elements/dist/cdn/kit-stream-player.js"></script>

<kit-stream-player
  server="${config.kit.server}"
  app-id="usd-viewer"
  profile="default">
</kit-stream-player>`;

// Setting the server last starts the session, once the page knows where the simulator listens.
player.server = config.kit.server;
