/**
 * Headless Chromium for Node tests that open whole pages (built files, demo pages): loads a page, records its
 * uncaught errors and console errors, and reports whether elements upgraded.
 */
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { chromeArgs, findChrome } from '../support/chrome.js';

export function launchChrome(): Promise<Browser> {
  return puppeteer.launch({ executablePath: findChrome(), headless: true, args: chromeArgs });
}

export interface LoadedPage {
  page: Page;
  /** Uncaught exceptions, unhandled rejections, `console.error` lines (with the URL they concern) and blocked requests. */
  errors: string[];
}

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whether a request stays on this machine (or in the page: data: and blob: URLs). */
function staysLocal(target: string): boolean {
  const { protocol, hostname } = new URL(target);
  return protocol === 'data:' || protocol === 'blob:' || loopbackHosts.has(hostname);
}

/**
 * Opens `url` and waits for it to load. Requests that would leave the machine are blocked and count as errors:
 * pages under test must not reach the internet. `ignoreErrors` drops expected errors, e.g. a fake service's 404s.
 */
export async function openPage(browser: Browser, url: string, ignoreErrors: RegExp[] = []): Promise<LoadedPage> {
  const page = await browser.newPage();
  const errors: string[] = [];
  const record = (message: string) => {
    if (!ignoreErrors.some((pattern) => pattern.test(message))) errors.push(message);
  };
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    if (staysLocal(request.url())) {
      void request.continue();
    } else {
      record(`blocked request to ${request.url()}`);
      void request.abort();
    }
  });
  page.on('pageerror', (error) => record(`uncaught: ${error instanceof Error ? error.message : String(error)}`));
  page.on('console', (message) => {
    const about = message.location().url;
    // The browser asks for /favicon.ico by itself; its 404 is not the page's doing.
    if (message.type() === 'error' && !about?.endsWith('/favicon.ico'))
      record(`console.error: ${message.text()}${about ? ` (${about})` : ''}`);
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, errors };
}

export interface UpgradeReport {
  /** `customElements.get(tag)` is defined. */
  defined: boolean;
  /** How many such elements the page has. */
  count: number;
  /** Every one of them is an instance of the registered class with a rendered shadow root. */
  upgraded: boolean;
}

/**
 * Waits until every tag is defined (or `timeout` passes), then reports on each. Where the page has no such element,
 * it creates one with `attributes[tag]` (set before it connects, e.g. a local `api-base`).
 */
export async function upgradeReport(
  page: Page,
  tags: string[],
  attributes: Record<string, Record<string, string>> = {},
  timeout = 5000,
): Promise<Record<string, UpgradeReport>> {
  await page
    .waitForFunction((names: string[]) => names.every((name) => customElements.get(name)), { timeout }, tags)
    .catch(() => undefined);
  return page.evaluate(
    async (names: string[], attributesOf: Record<string, Record<string, string>>) => {
      const report: Record<string, { defined: boolean; count: number; upgraded: boolean }> = {};
      for (const name of names) {
        const elementClass = customElements.get(name);
        let elements = [...document.querySelectorAll(name)];
        const count = elements.length;
        if (elementClass && count === 0) {
          const created = document.createElement(name);
          for (const [attribute, value] of Object.entries(attributesOf[name] ?? {})) created.setAttribute(attribute, value);
          document.body.append(created);
          elements = [created];
        }
        for (const element of elements) await (element as HTMLElement & { updateComplete?: Promise<unknown> }).updateComplete;
        report[name] = {
          defined: elementClass !== undefined,
          count,
          upgraded:
            elementClass !== undefined &&
            elements.every(
              (element) => element instanceof elementClass && element.shadowRoot !== null && element.shadowRoot.childNodes.length > 0,
            ),
        };
      }
      return report;
    },
    tags,
    attributes,
  );
}
