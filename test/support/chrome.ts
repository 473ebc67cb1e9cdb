/** Finds the Chrome or Chromium that browser tests and benchmarks run in, and the flags they need here. */
import { existsSync } from 'node:fs';

const candidates = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

/** `CHROME_PATH` when set, else the first usual install path that exists. */
export function findChrome(): string {
  const fromEnvironment = process.env.CHROME_PATH;
  if (fromEnvironment) {
    if (!existsSync(fromEnvironment)) throw new Error(`CHROME_PATH is ${fromEnvironment}, which does not exist.`);
    return fromEnvironment;
  }
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error('No Chrome or Chromium found. Install one (on Debian: apt-get install chromium) or set CHROME_PATH.');
  return found;
}

/** Headless flags: no sandbox (root in CI), autoplay with sound, and no background calls to the internet. */
export const chromeArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--autoplay-policy=no-user-gesture-required',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
