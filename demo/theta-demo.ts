import '../src/theta-live-setup/index.js';
import type { ThetaLiveSetup } from '../src/theta-live-setup/index.js';

const setup = document.querySelector<ThetaLiveSetup>('#theta')!;
const log = document.querySelector('#theta-log')!;
const publishButton = document.querySelector<HTMLButtonElement>('#theta-publish')!;
const stopButton = document.querySelector<HTMLButtonElement>('#theta-stop')!;
const publishState = document.querySelector('#theta-publish-state')!;
let target: string | undefined;

const events = [
  'theta-stream-created',
  'theta-stream-selected',
  'theta-ingestor-selected',
  'theta-ingestor-unselected',
  'theta-status-change',
  'theta-error',
] as const;
for (const name of events) {
  setup.addEventListener(name, (event) => {
    const item = document.createElement('li');
    // The stream key is for OBS only: the log shows that one arrived, not what it is.
    const detail = name === 'theta-ingestor-selected' ? { ...event.detail, key: '(hidden)' } : event.detail;
    item.textContent = `${new Date().toLocaleTimeString()} ${name} ${JSON.stringify(detail)}`;
    log.prepend(item);
  });
}

setup.addEventListener('theta-ingestor-selected', (event) => {
  target = `${event.detail.server}/${event.detail.key}`;
  publishButton.disabled = false;
});
setup.addEventListener('theta-ingestor-unselected', () => {
  target = undefined;
  publishButton.disabled = true;
});
setup.addEventListener('theta-status-change', (event) => {
  stopButton.disabled = event.detail.status !== 'on';
});

async function publish(): Promise<void> {
  if (!target) return;
  const response = await fetch('/demo/publish', { method: 'POST', body: JSON.stringify({ url: target }) });
  publishState.textContent = response.ok ? 'Publishing: the stream goes live in a moment.' : 'Could not start ffmpeg.';
}
async function stopPublishing(): Promise<void> {
  await fetch('/demo/stop-publishing', { method: 'POST' });
  publishState.textContent = 'Stopped publishing.';
}
publishButton.addEventListener('click', () => void publish());
stopButton.addEventListener('click', () => void stopPublishing());

document.querySelector('#theta-snippet')!.textContent =
  `<script type="module" src="https://cdn.jsdelivr.net/npm/live-stream-elements/dist/cdn/theta-live-setup.js"></script>

<!-- api-base points at your Theta proxy (npx live-stream-elements theta-proxy), which holds the secret. -->
<theta-live-setup api-base="${setup.apiBase}"></theta-live-setup>`;
