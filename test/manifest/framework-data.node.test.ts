/**
 * The editor and framework data generated from the manifest (test/tools/framework-data.ts):
 * - the React 19 JSX, Vue and Svelte declarations compile, with the TypeScript compiler, in small files that use both
 *   tags the way an app would; a second React file holds mistakes marked `@ts-expect-error`, each of which must be a
 *   type error, which proves the props are typed and not `any`;
 * - the VS Code and JetBrains data name every tag, attribute, event, part and CSS custom property of the manifest,
 *   with the values of enumerated attributes.
 * The files are generated into .tmp/framework-data/, whose `types/` points at the sources in place of dist/types/, so
 * this needs no build.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Package } from 'custom-elements-manifest/schema';
import ts from 'typescript';
import { frameworkData } from '../tools/framework-data.js';
import { elementsOf, generateManifest, publicMembers, type ElementDeclaration } from '../tools/manifest.js';
import { projectRoot } from '../tools/paths.js';

const workDir = join(projectRoot, '.tmp', 'framework-data');
const packageJson = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { name: string; version: string };

/** Enumerated attributes and their values, as the elements' types declare them. */
const enumeratedAttributes: Record<string, Record<string, string[]>> = {
  'kit-stream-player': { fit: ['contain', 'cover', 'fill'] },
  'theta-live-setup': { step: ['stream', 'ingestor', 'live'] },
};

const reactUsage = `
import { useRef, type JSX } from 'react';
import type {} from './jsx.js';
import type { KitStreamPlayer, KitVideoFit, ThetaLiveSetup } from './types/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
export const fitIsTyped: Equal<JSX.IntrinsicElements['kit-stream-player']['fit'], KitVideoFit | undefined> = true;

export function Viewer({ fit }: { fit: KitVideoFit }) {
  const player = useRef<KitStreamPlayer>(null);
  const setup = useRef<ThetaLiveSetup>(null);
  const accent: JSX.IntrinsicElements['kit-stream-player']['style'] = { '--kit-stream-player-accent': 'hotpink', color: 'white' };
  return (
    <>
      <kit-stream-player
        key="viewer"
        ref={player}
        id="viewer"
        class="player"
        className="player"
        style={accent}
        server="https://kit.example.com/streaming"
        app-id="usd-viewer"
        appId="usd-viewer"
        profile="default"
        poll-interval="5000"
        pollInterval={5000}
        max-reconnects={3}
        fit={fit}
        interactive={false}
        terminateOnDisconnect={false}
        requestInit={{ credentials: 'include' }}
        arguments={{ stage: 'a.usd' }}
        muted
        onkit-connected={(event) => console.log(event.detail.timeToFirstFrame)}
        onkit-error={(event) => console.error(event.detail.message)}
        onkit-session-ended={(event) => console.log(event.detail.reason, player.current?.state)}
        onClick={(event) => console.log(event.currentTarget.sessionId)}
      >
        <p slot="waiting">Starting the app...</p>
      </kit-stream-player>
      <theta-live-setup
        ref={setup}
        api-base="/api/theta"
        selectionTimeout={60000}
        ontheta-ingestor-selected={(event) => console.log(event.detail.server, event.detail.key)}
        ontheta-status-change={(event) => console.log(event.detail.status === 'on')}
      />
    </>
  );
}
`;

const reactMistakes = `
import type {} from './jsx.js';
import type { KitConnectedDetail } from './types/index.js';

export const mistakes = (
  <>
    {/* @ts-expect-error fit is contain, cover or fill */}
    <kit-stream-player fit="stretch" />
    {/* @ts-expect-error a number attribute takes numbers */}
    <kit-stream-player poll-interval="soon" />
    {/* @ts-expect-error a boolean property takes booleans */}
    <kit-stream-player interactive="yes" />
    {/* @ts-expect-error requestInit is an object */}
    <kit-stream-player requestInit="include" />
    {/* @ts-expect-error state is read-only */}
    <kit-stream-player state="streaming" />
    {/* @ts-expect-error no such property */}
    <kit-stream-player appID="usd-viewer" />
    {/* @ts-expect-error React 19 would listen for "KitConnected": the native tag takes onkit-connected */}
    <kit-stream-player onKitConnected={(event: CustomEvent<KitConnectedDetail>) => event} />
    {/* @ts-expect-error the detail of kit-connected has no such field */}
    <kit-stream-player onkit-connected={(event: CustomEvent<{ nothing: string }>) => event} />
    {/* @ts-expect-error currentStep is read-only */}
    <theta-live-setup currentStep="live" />
    {/* @ts-expect-error the detail of theta-error is not a string */}
    <theta-live-setup ontheta-error={(event: CustomEvent<string>) => event} />
  </>
);
`;

const vueUsage = `
import type { GlobalComponents } from 'vue';
import type {} from './vue.js';
import type { KitConnectedDetail, KitVideoFit } from './types/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type KitInstance = InstanceType<GlobalComponents['kit-stream-player']>;
type ThetaInstance = InstanceType<GlobalComponents['theta-live-setup']>;
export const fitIsTyped: Equal<KitInstance['$props']['fit'], KitVideoFit | undefined> = true;

export const props: KitInstance['$props'] = {
  server: 'https://kit.example.com/streaming',
  'app-id': 'usd-viewer',
  'poll-interval': '5000',
  fit: 'cover',
  terminateOnDisconnect: false,
  requestInit: { credentials: 'include' },
  class: 'player',
  key: 'viewer',
};
export const setupProps: ThetaInstance['$props'] = { 'api-base': '/api/theta', selectionTimeout: 60000 };
// @ts-expect-error fit is contain, cover or fill
export const wrongFit: KitInstance['$props'] = { fit: 'stretch' };
// @ts-expect-error requestInit is an object
export const wrongInit: KitInstance['$props'] = { requestInit: 'include' };

declare const kitEmit: KitInstance['$emit'];
declare const thetaEmit: ThetaInstance['$emit'];
kitEmit('kit-connected', new CustomEvent<KitConnectedDetail>('kit-connected', { detail: { id: 's', timeToFirstFrame: 1 } }));
// @ts-expect-error the detail of kit-connected is not a number
kitEmit('kit-connected', new CustomEvent<number>('kit-connected', { detail: 1 }));
// @ts-expect-error no such event
kitEmit('kit-nothing', new CustomEvent('kit-nothing'));
// @ts-expect-error theta-live-setup has no kit-connected event
thetaEmit('kit-connected', new CustomEvent<KitConnectedDetail>('kit-connected', { detail: { id: 's', timeToFirstFrame: 1 } }));
`;

const svelteUsage = `
import type { SvelteHTMLElements } from 'svelte/elements';
import type {} from './svelte.js';
import type { KitVideoFit } from './types/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type KitAttributes = SvelteHTMLElements['kit-stream-player'];
type ThetaAttributes = SvelteHTMLElements['theta-live-setup'];
export const fitIsTyped: Equal<KitAttributes['fit'], KitVideoFit | undefined> = true;

export const attributes: KitAttributes = {
  server: 'https://kit.example.com/streaming',
  'app-id': 'usd-viewer',
  fit: 'cover',
  requestInit: { credentials: 'include' },
  class: 'player',
  'onkit-connected': (event) => console.log(event.detail.timeToFirstFrame),
  'on:kit-error': (event) => console.error(event.detail.message),
};
export const setupAttributes: ThetaAttributes = { 'api-base': '/api/theta', 'ontheta-error': (event) => console.error(event.detail.code) };
// @ts-expect-error fit is contain, cover or fill
export const wrongFit: KitAttributes = { fit: 'stretch' };
// @ts-expect-error the detail of kit-connected has no such field
export const wrongDetail: KitAttributes = { 'onkit-connected': (event) => event.detail.nothing };
`;

/** The mistakes without their @ts-expect-error comments: each must be reported, on the line after its comment. */
const reactMistakesUnmarked = reactMistakes.replace(/\{\/\* @ts-expect-error [^*]*\*\/\}/g, '{/* mistake */}');

const usageFiles: Record<string, string> = {
  'react-usage.tsx': reactUsage,
  'react-mistakes.tsx': reactMistakes,
  'react-mistakes-unmarked.tsx': reactMistakesUnmarked,
  'vue-usage.ts': vueUsage,
  'svelte-usage.ts': svelteUsage,
};

let manifest: Package;
let elements: ElementDeclaration[];
let files: Record<string, string>;
/** Type errors by file name, `file:line:column: message`. */
let typeErrors: Map<string, string[]>;

before(async () => {
  manifest = await generateManifest();
  elements = elementsOf(manifest);
  files = frameworkData(manifest, packageJson);
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(join(workDir, 'types'), { recursive: true });
  for (const [name, contents] of Object.entries({ ...files, ...usageFiles })) writeFileSync(join(workDir, name), contents);
  // In the package, `types/` is dist/types/, built from these sources.
  const sources = relative(join(workDir, 'types'), join(projectRoot, 'src', 'index.js')).replaceAll('\\', '/');
  writeFileSync(join(workDir, 'types', 'index.d.ts'), `export * from '${sources}';\n`);
  typeErrors = compile(['jsx.d.ts', 'vue.d.ts', 'svelte.d.ts', ...Object.keys(usageFiles)]);
});

// ESLint does not read .gitignore: leave no TypeScript in .tmp/ for `npm run lint` to trip on.
after(() => rmSync(workDir, { recursive: true, force: true }));

/** Compiles the files together, as an app with React 19, Vue and Svelte would; returns the type errors of each. */
function compile(names: string[]): Map<string, string[]> {
  const paths = names.map((name) => join(workDir, name));
  const program = ts.createProgram(paths, {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
    jsx: ts.JsxEmit.ReactJSX,
    types: [],
    verbatimModuleSyntax: true,
    noEmit: true,
  });
  const format = (diagnostic: ts.Diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (!diagnostic.file || diagnostic.start === undefined) return message;
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `${relative(workDir, diagnostic.file.fileName)}:${line + 1}:${character + 1}: ${message}`;
  };
  const errors = new Map<string, string[]>([
    ['(program)', [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()].map(format)],
  ]);
  // Only these files are checked (generated declarations included), not the libraries' own declarations.
  for (const [index, path] of paths.entries()) {
    const source = program.getSourceFile(path);
    assert.ok(source, `${path} is not in the program`);
    errors.set(names[index]!, [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map(format));
  }
  return errors;
}

test('the React 19 JSX, Vue and Svelte declarations type-check apps that use both tags, and reject mistakes', () => {
  const errors = [...typeErrors].filter(([name]) => name !== 'react-mistakes-unmarked.tsx').flatMap(([, found]) => found);
  assert.deepEqual(errors, [], `Type errors (an unused @ts-expect-error means a mistake was accepted):\n${errors.join('\n')}`);
});

test('every mistake in the React file is one: the props are typed, not any', () => {
  const errors = typeErrors.get('react-mistakes-unmarked.tsx')!;
  const reported = new Set(errors.map((error) => /^[^:]+:(\d+):/.exec(error)?.[1]));
  const mistakeLines = reactMistakesUnmarked
    .split('\n')
    .flatMap((line, index) => (line.includes('{/* mistake */}') ? [String(index + 2)] : []));
  assert.equal(mistakeLines.length, 10);
  assert.deepEqual(
    mistakeLines.filter((line) => !reported.has(line)),
    [],
    `Accepted mistakes:\n${errors.join('\n')}`,
  );
});

interface MarkupContent {
  kind: string;
  value: string;
}
interface HtmlData {
  version: number;
  tags: {
    name: string;
    description: MarkupContent;
    attributes: { name: string; description: MarkupContent; values?: { name: string }[]; valueSet?: string }[];
  }[];
}
interface CssData {
  version: number;
  properties: { name: string; description: MarkupContent }[];
  pseudoElements: { name: string; description: MarkupContent }[];
}
interface WebTypes {
  name: string;
  version: string;
  contributions: {
    html: {
      elements: {
        name: string;
        description: string;
        attributes: { name: string; value: { type: string }; values?: { name: string }[] }[];
        slots: { name: string }[];
        js: { properties: { name: string; type: string }[]; events: { name: string; type: string }[] };
        css: { properties: { name: string }[]; parts: { name: string }[] };
      }[];
    };
  };
}

const names = (items: { name: string }[] | undefined) => (items ?? []).map((item) => item.name).sort();
const booleanAttributes = (element: ElementDeclaration) =>
  (element.attributes ?? []).filter((attribute) => /^boolean( \| undefined)?$/.test(attribute.type?.text ?? '')).map((item) => item.name);

describe('VS Code custom data', () => {
  test('HTML: every tag and attribute, enumerated values, boolean attributes without a value, and the events', () => {
    const data = JSON.parse(files['vscode.html-custom-data.json']!) as HtmlData;
    assert.equal(data.version, 1.1);
    assert.deepEqual(names(data.tags), names(elements.map((element) => ({ name: element.tagName }))));
    for (const element of elements) {
      const tag = data.tags.find((candidate) => candidate.name === element.tagName)!;
      assert.deepEqual(names(tag.attributes), names(element.attributes), `<${element.tagName}>'s attributes`);
      for (const [attribute, values] of Object.entries(enumeratedAttributes[element.tagName]!)) {
        assert.deepEqual(names(tag.attributes.find((candidate) => candidate.name === attribute)?.values), [...values].sort());
      }
      assert.ok(booleanAttributes(element).length > 0 || element.tagName === 'theta-live-setup');
      for (const attribute of booleanAttributes(element)) {
        assert.equal(
          tag.attributes.find((candidate) => candidate.name === attribute)?.valueSet,
          'v',
          `${attribute} is a boolean attribute`,
        );
      }
      for (const attribute of tag.attributes) assert.ok(attribute.description.value, `${attribute.name} has a description`);
      for (const item of [...(element.events ?? []), ...(element.cssParts ?? []), ...(element.cssProperties ?? [])]) {
        assert.ok(tag.description.value.includes(`\`${item.name}\``), `<${element.tagName}>'s description names ${item.name}`);
      }
    }
  });

  test('CSS: every custom property, and every part as ::part()', () => {
    const data = JSON.parse(files['vscode.css-custom-data.json']!) as CssData;
    assert.equal(data.version, 1.1);
    assert.deepEqual(names(data.properties), names(elements.flatMap((element) => element.cssProperties ?? [])));
    const parts = new Set(elements.flatMap((element) => (element.cssParts ?? []).map((part) => `::part(${part.name})`)));
    assert.deepEqual(names(data.pseudoElements), [...parts].sort());
    const base = data.pseudoElements.find((part) => part.name === '::part(base)')!;
    for (const element of elements)
      assert.ok(base.description.value.includes(`<${element.tagName}>`), `::part(base) of <${element.tagName}>`);
  });
});

test('JetBrains web-types: every tag with its attributes, properties, events, slots, parts and custom properties', () => {
  const data = JSON.parse(files['web-types.json']!) as WebTypes;
  assert.equal(data.name, packageJson.name);
  assert.equal(data.version, packageJson.version);
  const webElements = data.contributions.html.elements;
  assert.deepEqual(names(webElements), names(elements.map((element) => ({ name: element.tagName }))));
  for (const element of elements) {
    const entry = webElements.find((candidate) => candidate.name === element.tagName)!;
    assert.ok(entry.description.includes(element.summary!), `<${element.tagName}>'s description`);
    assert.deepEqual(names(entry.attributes), names(element.attributes));
    assert.deepEqual(names(entry.js.properties), names(publicMembers(element).filter((member) => member.kind === 'field')));
    assert.deepEqual(names(entry.js.events), names(element.events));
    for (const event of element.events ?? []) {
      assert.equal(entry.js.events.find((candidate) => candidate.name === event.name)?.type, event.type?.text);
    }
    assert.deepEqual(names(entry.slots), names(element.slots));
    assert.deepEqual(names(entry.css.parts), names(element.cssParts));
    assert.deepEqual(names(entry.css.properties), names(element.cssProperties));
    for (const [attribute, values] of Object.entries(enumeratedAttributes[element.tagName]!)) {
      const found = entry.attributes.find((candidate) => candidate.name === attribute);
      assert.equal(found?.value.type, 'enum');
      assert.deepEqual(names(found?.values), [...values].sort());
    }
    for (const attribute of booleanAttributes(element)) {
      assert.equal(entry.attributes.find((candidate) => candidate.name === attribute)?.value.type, 'boolean');
    }
  }
});
