/**
 * The README's API reference, generated from custom-elements.json: for each element its attributes and properties,
 * methods, events (with detail type and React prop), slots, CSS parts and CSS custom properties.
 *
 *   node --import tsx test/tools/api-reference.ts           prints the reference
 *   node --import tsx test/tools/api-reference.ts --write   replaces the README between the markers (`npm run docs`)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ClassField, ClassMethod } from 'custom-elements-manifest/schema';
import { elementsOf, generateManifest, propertyOfAttribute, publicMembers, type ElementDeclaration } from './manifest.js';
import { projectRoot } from './paths.js';

export const startMarker = '<!-- api-reference:start -->';
export const endMarker = '<!-- api-reference:end -->';
export const readmePath = join(projectRoot, 'README.md');

/** Text for a Markdown table cell: one line, pipes escaped. */
function cell(text: string | undefined): string {
  return (text ?? '')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
}

const code = (text: string | undefined) => (text ? `\`${cell(text)}\`` : '');

function table(header: string[], rows: string[][]): string {
  if (rows.length === 0) return '';
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join(
    '\n',
  );
}

/** `kit-session-ready` -> `onKitSessionReady`, as in `live-stream-elements/react`. */
export const reactPropOf = (eventName: string) =>
  `on${eventName.replace(/(^|-)([a-z])/g, (_match, _dash, letter: string) => letter.toUpperCase())}`;

function signature(method: ClassMethod): string {
  const parameters = (method.parameters ?? []).map(
    (parameter) => `${parameter.name}${parameter.optional || parameter.default ? '?' : ''}: ${parameter.type?.text ?? 'unknown'}`,
  );
  return `${method.name}(${parameters.join(', ')}): ${method.return?.type?.text ?? 'void'}`;
}

function elementReference(element: ElementDeclaration): string {
  const fields = publicMembers(element).filter((member): member is ClassField => member.kind === 'field');
  const methods = publicMembers(element).filter((member): member is ClassMethod => member.kind === 'method');
  const attributes = (element.attributes ?? []).map((attribute) => ({ attribute, property: propertyOfAttribute(element, attribute.name) }));
  const attributeOf = new Map(attributes.flatMap(({ attribute, property }) => (property ? [[property, attribute.name] as const] : [])));
  const attributesOnly = attributes.filter(({ property }) => !property).map(({ attribute }) => attribute);
  // `readonly` and `reflects` are written by the analyzer, beyond the schema.
  const notes = (field: ClassField & { reflects?: boolean; readonly?: boolean }) =>
    [field.readonly && !/read-only/i.test(field.description ?? '') ? 'Read-only.' : '', field.reflects ? 'Reflected to the attribute.' : '']
      .filter(Boolean)
      .join(' ');

  const sections: [string, string][] = [
    [
      'Attributes and properties',
      table(
        ['Attribute', 'Property', 'Type', 'Default', 'Description'],
        [
          ...fields.map((field) => [
            code(attributeOf.get(field.name)) || '(property only)',
            code(field.name),
            code(field.type?.text),
            code(field.default),
            cell(`${field.description ?? ''} ${notes(field)}`),
          ]),
          ...attributesOnly.map((attribute) => [
            code(attribute.name),
            '(attribute only)',
            code(attribute.type?.text),
            code(attribute.default),
            cell(attribute.description),
          ]),
        ],
      ),
    ],
    [
      'Methods',
      table(
        ['Method', 'Description'],
        methods.map((method) => [code(signature(method)), cell(method.description)]),
      ),
    ],
    [
      'Events',
      table(
        ['Event', 'Detail', 'React prop', 'Description'],
        (element.events ?? []).map((event) => [
          code(event.name),
          code(/^CustomEvent<(.+)>$/.exec(event.type?.text ?? '')?.[1] ?? event.type?.text),
          code(reactPropOf(event.name)),
          cell(event.description),
        ]),
      ),
    ],
    [
      'Slots',
      table(
        ['Slot', 'Description'],
        (element.slots ?? []).map((slot) => [slot.name ? code(slot.name) : '(default)', cell(slot.description)]),
      ),
    ],
    [
      'CSS parts',
      table(
        ['Part', 'Description'],
        (element.cssParts ?? []).map((part) => [code(part.name), cell(part.description)]),
      ),
    ],
    [
      'CSS custom properties',
      table(
        ['Property', 'Description'],
        (element.cssProperties ?? []).map((property) => [code(property.name), cell(property.description)]),
      ),
    ],
  ];
  const intro = [element.summary, element.description].filter(Boolean).map((text) => text!.trim());
  return [
    `### \`<${element.tagName}>\``,
    ...intro,
    ...sections.filter(([, body]) => body).map(([title, body]) => `#### ${title}\n\n${body}`),
  ].join('\n\n');
}

/** The reference, without the markers. */
export async function generateApiReference(): Promise<string> {
  const elements = elementsOf(await generateManifest());
  return [
    '<!-- Generated from custom-elements.json by `npm run docs`; edit the JSDoc in src/, not this section. -->',
    ...elements.map(elementReference),
  ].join('\n\n');
}

/** The README text between the markers, or undefined when the README has no markers. */
export function readmeSection(readme: string): string | undefined {
  const start = readme.indexOf(startMarker);
  const end = readme.indexOf(endMarker);
  if (start === -1 || end === -1 || end < start) return undefined;
  return readme.slice(start + startMarker.length, end).trim();
}

async function main(): Promise<number> {
  const reference = await generateApiReference();
  if (!process.argv.includes('--write')) {
    console.log(reference);
    return 0;
  }
  const readme = readFileSync(readmePath, 'utf8');
  if (readmeSection(readme) === undefined) {
    console.error(`README.md needs the markers ${startMarker} and ${endMarker} (in that order) where the reference goes.`);
    return 1;
  }
  const start = readme.indexOf(startMarker) + startMarker.length;
  const end = readme.indexOf(endMarker);
  writeFileSync(readmePath, `${readme.slice(0, start)}\n${reference}\n${readme.slice(end)}`);
  console.log('README.md: API reference updated.');
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main();
