/**
 * Editor and framework data for the elements, generated from custom-elements.json into dist/ so that it ships in the
 * package:
 * - `jsx.d.ts`: the native tags in React 19's JSX, with typed attributes, properties and `on…` event props;
 * - `vue.d.ts` and `svelte.d.ts`: the same for Vue templates (`GlobalComponents`) and Svelte (`SvelteHTMLElements`);
 * - `vscode.html-custom-data.json` and `vscode.css-custom-data.json`: VS Code's custom data (tags, attributes and
 *   their values; custom properties and `::part()`s);
 * - `web-types.json`: the same for JetBrains IDEs.
 *
 *   node --import tsx test/tools/framework-data.ts    writes them (after `cem analyze`, in `npm run build`)
 *
 * Enumerated values (`fit`: contain, cover, fill) come from the string-literal union types in src/, which the
 * manifest names but does not spell out.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ClassField, Package } from 'custom-elements-manifest/schema';
import ts from 'typescript';
import { elementsOf, propertyOfAttribute, publicMembers, type ElementDeclaration } from './manifest.js';
import { distDir, projectRoot } from './paths.js';

/** Where the generated type declarations import the package's types from, relative to dist/. */
const packageTypes = './types/index.js';
const generatedNote = '// Generated from custom-elements.json by test/tools/framework-data.ts: edit the JSDoc in src/, not this file.';

export interface NamedItem {
  name: string;
  description: string;
}

export interface AttributeApi extends NamedItem {
  type: string;
  default?: string;
  /** The property the attribute belongs to, if any. */
  property?: string;
  /** Set by the element (e.g. `state`): for CSS selectors and reading, not for pages to set. */
  readOnly: boolean;
  /** The allowed values, when the type is a union of string literals. */
  values?: string[];
}

export interface PropertyApi extends NamedItem {
  type: string;
  default?: string;
  attribute?: string;
  readOnly: boolean;
}

export interface EventApi extends NamedItem {
  /** The event's type as the manifest writes it, e.g. `CustomEvent<KitConnectedDetail>`. */
  type: string;
}

/** One element's public API, as the generated files need it. */
export interface ElementApi {
  tagName: string;
  className: string;
  summary: string;
  description: string;
  attributes: AttributeApi[];
  properties: PropertyApi[];
  events: EventApi[];
  slots: NamedItem[];
  parts: NamedItem[];
  cssProperties: NamedItem[];
}

/** What the generated files need from src/: exported type names, and the type aliases to expand into values. */
export interface SourceTypes {
  exported: Set<string>;
  aliases: Map<string, ts.TypeNode>;
}

/** Reads the type declarations of src/ (syntax only: no type-checking, so it is fast). */
export function readSourceTypes(sourceDir = join(projectRoot, 'src')): SourceTypes {
  const exported = new Set<string>();
  const aliases = new Map<string, ts.TypeNode>();
  const files = readdirSync(sourceDir, { recursive: true, encoding: 'utf8' }).filter(
    (file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.endsWith('.d.ts'),
  );
  for (const file of files) {
    const source = ts.createSourceFile(file, readFileSync(join(sourceDir, file), 'utf8'), ts.ScriptTarget.Latest, true);
    for (const statement of source.statements) {
      if (!ts.isTypeAliasDeclaration(statement) && !ts.isInterfaceDeclaration(statement) && !ts.isClassDeclaration(statement)) continue;
      if (!statement.name) continue;
      if (ts.isTypeAliasDeclaration(statement)) aliases.set(statement.name.text, statement.type);
      if (statement.modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)) exported.add(statement.name.text);
    }
  }
  return { exported, aliases };
}

/**
 * The values of a type that is a union of string literals (through aliases, `undefined` ignored), e.g.
 * `KitVideoFit` -> contain, cover, fill. Undefined for any other type.
 */
export function stringValuesOf(typeText: string, aliases: Map<string, ts.TypeNode>): string[] | undefined {
  const parsed = ts.createSourceFile('type.ts', `type T = ${typeText};`, ts.ScriptTarget.Latest, true).statements[0];
  if (!parsed || !ts.isTypeAliasDeclaration(parsed)) return undefined;
  const seen = new Set<string>();
  const valuesOf = (node: ts.TypeNode): string[] | undefined => {
    if (ts.isParenthesizedTypeNode(node)) return valuesOf(node.type);
    if (ts.isUnionTypeNode(node)) {
      const parts = node.types.map(valuesOf);
      return parts.every((part) => part !== undefined) ? parts.flat() : undefined;
    }
    if (ts.isLiteralTypeNode(node) && ts.isStringLiteral(node.literal)) return [node.literal.text];
    if (node.kind === ts.SyntaxKind.UndefinedKeyword) return [];
    if (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName) && !node.typeArguments) {
      const name = node.typeName.text;
      const target = aliases.get(name);
      if (!target || seen.has(name)) return undefined;
      seen.add(name);
      return valuesOf(target);
    }
    return undefined;
  };
  const values = valuesOf(parsed.type);
  return values && values.length > 0 ? [...new Set(values)] : undefined;
}

/** The elements' public APIs from the manifest. */
export function elementApis(manifest: Package, sourceTypes: SourceTypes = readSourceTypes()): ElementApi[] {
  return elementsOf(manifest).map((element) => elementApi(element, sourceTypes));
}

function elementApi(element: ElementDeclaration, { aliases }: SourceTypes): ElementApi {
  // `readonly` is written by the analyzer, beyond the schema.
  const fields = publicMembers(element).filter((member): member is ClassField & { readonly?: boolean } => member.kind === 'field');
  const attributes = (element.attributes ?? []).map((attribute): AttributeApi => {
    const property = propertyOfAttribute(element, attribute.name);
    const field = fields.find((candidate) => candidate.name === property);
    const type = attribute.type?.text ?? field?.type?.text ?? 'string';
    const description = attribute.description ?? field?.description ?? '';
    return {
      name: attribute.name,
      description,
      type,
      ...(attribute.default !== undefined ? { default: attributeText(attribute.default) } : {}),
      ...(property ? { property } : {}),
      readOnly: Boolean(field?.readonly) || /^read-only\b/i.test(description),
      ...valuesEntry(stringValuesOf(type, aliases)),
    };
  });
  const properties = fields.map((field): PropertyApi => ({
    name: field.name,
    description: field.description ?? '',
    type: field.type?.text ?? 'unknown',
    ...(field.default !== undefined ? { default: field.default } : {}),
    ...attributeEntry(attributes.find((attribute) => attribute.property === field.name)?.name),
    readOnly: Boolean(field.readonly),
  }));
  const named = (items: { name: string; description?: string }[] | undefined): NamedItem[] =>
    (items ?? []).map(({ name, description }) => ({ name, description: description ?? '' }));
  return {
    tagName: element.tagName,
    className: element.name,
    summary: element.summary ?? '',
    description: element.description ?? '',
    attributes,
    properties,
    events: (element.events ?? []).map((event) => ({
      name: event.name,
      description: event.description ?? '',
      type: event.type?.text ?? 'CustomEvent',
    })),
    slots: named(element.slots),
    parts: named(element.cssParts),
    cssProperties: named(element.cssProperties),
  };
}

/**
 * A default as an attribute's text: the manifest has the property's initial value as source code
 * (`'contain'`, `300_000`).
 */
function attributeText(initializer: string): string {
  const quoted = /^(['"`])(.*)\1$/s.exec(initializer);
  if (quoted) return quoted[2];
  return /^[\d_.]+$/.test(initializer) ? initializer.replaceAll('_', '') : initializer;
}

const valuesEntry = (values: string[] | undefined) => (values ? { values } : {});
const attributeEntry = (attribute: string | undefined) => (attribute ? { attribute } : {});

// ---------------------------------------------------------------------------------------------------------------------
// TypeScript declarations: React 19 JSX, Vue, Svelte
// ---------------------------------------------------------------------------------------------------------------------

/** A prop a page may set in a template: a writable property (camelCase) or its attribute (kebab-case). */
interface SettableProp {
  name: string;
  type: string;
  description: string;
}

/** The type's parts without `undefined`: `boolean | undefined` -> boolean. */
const definedParts = (type: string) =>
  type
    .split('|')
    .map((part) => part.trim())
    .filter((part) => part !== 'undefined');

/**
 * Writable properties, each followed by its attribute when the names differ. Frameworks set a prop as a property when
 * the element has one of that name and as an attribute otherwise, so both spellings work: the attribute spelling also
 * before the element is defined, the property one for values that are not text. Read-only ones are left out (assigning
 * a getter-only property throws), and so is the attribute spelling of a boolean: frameworks write `false` as a missing
 * attribute or as the text "false", and which of the two means false differs from one attribute to the next
 * (`show-stats` is on when present, `terminate-on-disconnect` is on unless "false"), so the property is the one
 * spelling that means the same everywhere.
 */
export function settableProps(element: ElementApi): SettableProp[] {
  const props: SettableProp[] = [];
  for (const property of element.properties.filter((candidate) => !candidate.readOnly)) {
    const attribute = element.attributes.find((candidate) => candidate.name === property.attribute);
    const where = attribute ? `Attribute \`${attribute.name}\`.` : 'Property only: no attribute.';
    props.push({ name: property.name, type: property.type, description: `${property.description} ${where}` });
    if (attribute && attribute.name !== property.name && !attribute.readOnly) {
      const type = attributeTextType(attribute.type);
      if (type) props.push({ name: attribute.name, type, description: `${attribute.description} The attribute of \`${property.name}\`.` });
    }
  }
  for (const attribute of element.attributes.filter((candidate) => !candidate.property && !candidate.readOnly)) {
    const type = attributeTextType(attribute.type);
    if (type) props.push({ name: attribute.name, type, description: attribute.description });
  }
  return props;
}

/**
 * What an attribute spelling accepts: its type, where a number may also be written as text (`poll-interval="5000"`,
 * as in HTML and static Vue attributes), since an attribute's value is text either way. Undefined for booleans.
 */
function attributeTextType(type: string): string | undefined {
  const parts = definedParts(type);
  if (parts.includes('boolean')) return undefined;
  return parts.map((part) => (part === 'number' ? 'number | `${number}`' : part)).join(' | ');
}

function docComment(text: string, indent: string): string {
  const lines = text
    .trim()
    .replace(/\*\//g, '*\\/')
    .split('\n')
    .map((line) => line.trimEnd());
  if (lines.length === 1) return `${indent}/** ${lines[0]} */`;
  return [`${indent}/**`, ...lines.map((line) => (line ? `${indent} * ${line}` : `${indent} *`)), `${indent} */`].join('\n');
}

const isIdentifier = (name: string) => /^[A-Za-z_$][\w$]*$/.test(name);
const propertyKey = (name: string) => (isIdentifier(name) ? name : `'${name}'`);

function member(name: string, type: string, description: string, indent = '  '): string {
  return `${docComment(description, indent)}\n${indent}${propertyKey(name)}?: ${type};`;
}

/** `kit-connected` -> `KitConnected`. */
const pascalCase = (name: string) => name.replace(/(^|-)([a-z])/g, (_match, _dash, letter: string) => letter.toUpperCase());

/** The import of the package's own types that some type texts name (e.g. `KitVideoFit`, `KitConnectedDetail`). */
function packageTypeImport(typeTexts: string[], { exported }: SourceTypes): string {
  const names = new Set<string>();
  for (const text of typeTexts) for (const [name] of text.matchAll(/\b[A-Z]\w*/g)) if (exported.has(name)) names.add(name);
  const line = `import type { ${[...names].sort().join(', ')} } from '${packageTypes}';`;
  return line.length <= 140
    ? line
    : `import type {\n${[...names]
        .sort()
        .map((name) => `  ${name},\n`)
        .join('')}} from '${packageTypes}';`;
}

function typeTextsOf(elements: ElementApi[]): string[] {
  return elements.flatMap((element) => [
    element.className,
    ...settableProps(element).map((prop) => prop.type),
    ...element.events.map((event) => event.type),
  ]);
}

function header(lines: string[]): string {
  return `${generatedNote}\n${docComment(lines.join('\n'), '')}\n`;
}

/** An interface of the element's own props, and one that adds the framework's props of any HTML element to them. */
function withFrameworkProps(
  own: { name: string; doc: string; members: string[] },
  all: { name: string; doc: string; base: string },
): string {
  return [
    docComment(own.doc, ''),
    `export interface ${own.name} {`,
    ...own.members,
    '}',
    '',
    docComment(all.doc, ''),
    `export interface ${all.name} extends ${own.name}, Omit<${all.base}, keyof ${own.name}> {}`,
  ].join('\n');
}

/** `dist/jsx.d.ts`: React 19's `JSX.IntrinsicElements` gets the native tags. */
export function reactJsxTypes(elements: ElementApi[], sourceTypes: SourceTypes): string {
  const interfaces = elements.map((element) => {
    const props = settableProps(element);
    const cssProperties = element.cssProperties.map((property) => member(property.name, 'string', property.description, '    '));
    const events = element.events.flatMap((event) => [
      member(`on${event.name}`, `(event: ${event.type}) => void`, `\`${event.name}\`: ${event.description}`),
      member(
        `on${pascalCase(event.name)}`,
        'never',
        `@deprecated Not a prop of the native tag: React 19 would listen for an event named \`${pascalCase(event.name)}\`, which ` +
          `never fires. Write \`on${event.name}\`, or use the \`${element.className}\` component of \`live-stream-elements/react\`.`,
      ),
    ]);
    return withFrameworkProps(
      {
        name: `${element.className}JsxAttributes`,
        doc: `What the native \`<${element.tagName}>\` takes in React 19's JSX. ${element.summary}`,
        members: [
          member('class', 'string', 'CSS classes; React 19 passes `class` to custom elements as it is, like `className`.'),
          `${docComment('Inline styles, with the custom properties of the element.', '  ')}\n  style?: CSSProperties & {\n${cssProperties.join('\n')}\n  };`,
          ...props.map((prop) => member(prop.name, prop.type, prop.description)),
          ...events,
        ],
      },
      {
        name: `${element.className}JsxProps`,
        doc: `All props of the native \`<${element.tagName}>\` in React 19's JSX: its own, and React's for any HTML element.`,
        base: `DetailedHTMLProps<HTMLAttributes<${element.className}>, ${element.className}>`,
      },
    );
  });
  return [
    header([
      'JSX types of the native tags for React 19 (`@types/react` 19), so that `<kit-stream-player>` type-checks in TSX.',
      "Include them once, e.g. `import type {} from 'live-stream-elements/jsx';` in any file of the app.",
      '',
      'Attributes are kebab-case (`app-id="usd-viewer"`), properties camelCase (`appId`); React 19 sets a prop as a',
      'property when the element has one of that name, so values that are not text (`requestInit`) need the property.',
      '',
      'Events: for a custom element React 19 adds a listener for each prop `on` + the exact event name:',
      '`onkit-connected={(event) => console.log(event.detail)}`. `onKitConnected` would listen for an event named',
      '`KitConnected` that never fires, so it is typed `never` here; it is the prop of the wrapper components in',
      '`live-stream-elements/react`.',
    ]),
    "import type { CSSProperties, DetailedHTMLProps, HTMLAttributes } from 'react';",
    packageTypeImport(typeTextsOf(elements), sourceTypes),
    '',
    interfaces.join('\n\n'),
    '',
    "declare module 'react' {",
    '  namespace JSX {',
    '    interface IntrinsicElements {',
    ...elements.map((element) => `      '${element.tagName}': ${element.className}JsxProps;`),
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** `dist/vue.d.ts`: Vue's `GlobalComponents` gets the tags, for template type-checking (vue-tsc, Vue - Official). */
export function vueTypes(elements: ElementApi[], sourceTypes: SourceTypes): string {
  const interfaces = elements.map((element) =>
    [
      docComment(`Props of \`<${element.tagName}>\` in Vue templates. ${element.summary}`, ''),
      `export interface ${element.className}VueProps {`,
      ...settableProps(element).map((prop) => member(prop.name, prop.type, prop.description)),
      '}',
      '',
      docComment(`Events of \`<${element.tagName}>\`, for \`@${element.events[0]?.name ?? 'event'}="handler"\`.`, ''),
      `export interface ${element.className}VueEvents {`,
      ...element.events.map((event) => `${docComment(event.description, '  ')}\n  '${event.name}': ${event.type};`),
      '}',
    ].join('\n'),
  );
  return [
    header([
      'Vue template types of the tags: `GlobalComponents` gets `<kit-stream-player>` and `<theta-live-setup>` with',
      "their props and events. Include them once, e.g. `import type {} from 'live-stream-elements/vue';`, and tell Vue's",
      'compiler to leave the tags to the browser (`compilerOptions.isCustomElement`).',
    ]),
    "import type { EmitFn, HTMLAttributes, PublicProps } from 'vue';",
    packageTypeImport(typeTextsOf(elements), sourceTypes),
    '',
    interfaces.join('\n\n'),
    '',
    docComment(
      "What Vue's template type-checking reads from a global component: `$props` and `$emit`. The element has neither at\nrun time.",
      '',
    ),
    'type VueCustomElement<Element extends HTMLElement, Props, Events> = new () => Element & {',
    `${docComment('@deprecated For template type-checking only: not on the element.', '  ')}`,
    '  $props: Omit<HTMLAttributes, keyof Props> & Props & PublicProps;',
    `${docComment('@deprecated For template type-checking only: not on the element.', '  ')}`,
    '  $emit: EmitFn<{ [Name in keyof Events]: (event: Events[Name]) => void }>;',
    '};',
    '',
    "declare module 'vue' {",
    '  interface GlobalComponents {',
    ...elements.map(
      (element) =>
        `    '${element.tagName}': VueCustomElement<${element.className}, ${element.className}VueProps, ${element.className}VueEvents>;`,
    ),
    '  }',
    '}',
    '',
  ].join('\n');
}

/** `dist/svelte.d.ts`: `svelte/elements`' `SvelteHTMLElements` gets the tags. */
export function svelteTypes(elements: ElementApi[], sourceTypes: SourceTypes): string {
  const interfaces = elements.map((element) => {
    return withFrameworkProps(
      {
        name: `${element.className}SvelteAttributes`,
        doc: `What \`<${element.tagName}>\` takes in Svelte: attributes, properties and events. ${element.summary}`,
        members: [
          ...settableProps(element).map((prop) => member(prop.name, prop.type, prop.description)),
          ...element.events.flatMap((event) => [
            member(`on${event.name}`, `((event: ${event.type}) => void) | null`, `\`${event.name}\`: ${event.description}`),
            member(`on:${event.name}`, `((event: ${event.type}) => void) | null`, `\`${event.name}\` with Svelte 4's \`on:\` directive.`),
          ]),
        ],
      },
      {
        name: `${element.className}SvelteProps`,
        doc: `All attributes of \`<${element.tagName}>\` in Svelte: its own, and Svelte's for any HTML element.`,
        base: `HTMLAttributes<${element.className}>`,
      },
    );
  });
  return [
    header([
      'Svelte types of the tags: `SvelteHTMLElements` gets `<kit-stream-player>` and `<theta-live-setup>` with their',
      "attributes, properties and events. Include them once, e.g. `import type {} from 'live-stream-elements/svelte';`.",
      'Events: Svelte 5 listens for `onkit-connected={handler}` (the exact event name after `on`); Svelte 4 for',
      '`on:kit-connected={handler}`.',
    ]),
    "import type { HTMLAttributes } from 'svelte/elements';",
    packageTypeImport(typeTextsOf(elements), sourceTypes),
    '',
    interfaces.join('\n\n'),
    '',
    "declare module 'svelte/elements' {",
    '  interface SvelteHTMLElements {',
    ...elements.map((element) => `    '${element.tagName}': ${element.className}SvelteProps;`),
    '  }',
    '}',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------------
// Editor data: VS Code, JetBrains
// ---------------------------------------------------------------------------------------------------------------------

const markdown = (value: string) => ({ kind: 'markdown', value: value.trim() });

/** The tag's documentation in Markdown: summary, description and what it has beyond attributes. */
function tagMarkdown(element: ElementApi): string {
  const list = (title: string, items: NamedItem[]) =>
    items.length === 0 ? '' : `**${title}**\n\n${items.map((item) => `- \`${item.name || '(default)'}\`: ${item.description}`).join('\n')}`;
  return [
    element.summary,
    element.description,
    list('Events', element.events),
    list('Slots', element.slots),
    list('CSS parts', element.parts),
    list('CSS custom properties', element.cssProperties),
  ]
    .filter(Boolean)
    .join('\n\n');
}

/** The attribute's value kind: a boolean attribute is present or absent, the rest take text. */
function attributeKind(attribute: AttributeApi): 'boolean' | 'number' | 'enum' | 'string' {
  if (attribute.values) return 'enum';
  const parts = definedParts(attribute.type);
  if (parts.length === 1 && (parts[0] === 'boolean' || parts[0] === 'number')) return parts[0];
  return 'string';
}

function attributeMarkdown(attribute: AttributeApi): string {
  const facts = [
    `Type: \`${attribute.type}\`.`,
    attribute.default ? `Default: \`${attribute.default}\`.` : '',
    attribute.property ? `Property: \`${attribute.property}\`.` : '',
  ];
  return [attribute.description, facts.filter(Boolean).join(' ')].filter(Boolean).join('\n\n');
}

/** `dist/vscode.html-custom-data.json` (VS Code's `html.customData`). */
export function vscodeHtmlData(elements: ElementApi[], homepage?: string) {
  return {
    $schema: 'https://raw.githubusercontent.com/microsoft/vscode-html-languageservice/main/docs/customData.schema.json',
    version: 1.1,
    tags: elements.map((element) => ({
      name: element.tagName,
      description: markdown(tagMarkdown(element)),
      attributes: element.attributes.map((attribute) => ({
        name: attribute.name,
        description: markdown(attributeMarkdown(attribute)),
        ...(attribute.values ? { values: attribute.values.map((value) => ({ name: value })) } : {}),
        // VS Code's value set "v" is a void attribute: written without a value.
        ...(attributeKind(attribute) === 'boolean' ? { valueSet: 'v' } : {}),
      })),
      ...(homepage ? { references: [{ name: 'Documentation', url: homepage }] } : {}),
    })),
  };
}

/** `dist/vscode.css-custom-data.json` (VS Code's `css.customData`): custom properties and `::part()`s. */
export function vscodeCssData(elements: ElementApi[]) {
  // Two elements may have a part of the same name (`base`): one entry that says what it is in each.
  const parts = new Map<string, string[]>();
  for (const element of elements) {
    for (const part of element.parts)
      parts.set(part.name, [...(parts.get(part.name) ?? []), `\`<${element.tagName}>\`: ${part.description}`]);
  }
  return {
    $schema: 'https://raw.githubusercontent.com/microsoft/vscode-css-languageservice/main/docs/customData.schema.json',
    version: 1.1,
    properties: elements.flatMap((element) =>
      element.cssProperties.map((property) => ({
        name: property.name,
        description: markdown(`\`<${element.tagName}>\`: ${property.description}`),
      })),
    ),
    pseudoElements: [...parts].map(([name, descriptions]) => ({
      name: `::part(${name})`,
      description: markdown(descriptions.join('\n\n')),
    })),
  };
}

/** `dist/web-types.json` (JetBrains IDEs; named by package.json's `web-types`). */
export function webTypes(elements: ElementApi[], packageJson: { name: string; version: string; homepage?: string }) {
  return {
    $schema: 'https://json.schemastore.org/web-types',
    name: packageJson.name,
    version: packageJson.version,
    'js-types-syntax': 'typescript',
    'description-markup': 'markdown',
    contributions: {
      html: {
        elements: elements.map((element) => ({
          name: element.tagName,
          description: [element.summary, element.description].filter(Boolean).join('\n\n'),
          ...(packageJson.homepage ? { 'doc-url': packageJson.homepage } : {}),
          source: { module: packageJson.name, symbol: element.className },
          attributes: element.attributes.map((attribute) => {
            const kind = attributeKind(attribute);
            return {
              name: attribute.name,
              description: attributeMarkdown(attribute),
              ...(attribute.default ? { default: attribute.default } : {}),
              value: kind === 'enum' ? { kind: 'plain', type: 'enum' } : { type: kind },
              ...(attribute.values ? { values: attribute.values.map((value) => ({ name: value })) } : {}),
            };
          }),
          slots: element.slots.map(({ name, description }) => ({ name, description })),
          js: {
            properties: element.properties.map((property) => ({
              name: property.name,
              description: property.description,
              type: property.type,
              ...(property.default !== undefined ? { default: property.default } : {}),
              ...(property.readOnly ? { 'read-only': true } : {}),
            })),
            events: element.events.map((event) => ({ name: event.name, description: event.description, type: event.type })),
          },
          css: {
            properties: element.cssProperties.map(({ name, description }) => ({ name, description })),
            parts: element.parts.map(({ name, description }) => ({ name, description })),
          },
        })),
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------------

interface PackageJson {
  name: string;
  version: string;
  homepage?: string;
}

/** Every generated file, by its name in dist/. */
export function frameworkData(
  manifest: Package,
  packageJson: PackageJson,
  sourceTypes: SourceTypes = readSourceTypes(),
): Record<string, string> {
  const elements = elementApis(manifest, sourceTypes);
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return {
    'jsx.d.ts': reactJsxTypes(elements, sourceTypes),
    'vue.d.ts': vueTypes(elements, sourceTypes),
    'svelte.d.ts': svelteTypes(elements, sourceTypes),
    'vscode.html-custom-data.json': json(vscodeHtmlData(elements, packageJson.homepage)),
    'vscode.css-custom-data.json': json(vscodeCssData(elements)),
    'web-types.json': json(webTypes(elements, packageJson)),
  };
}

/** Writes the files into `outputDir`; returns their paths. */
export function writeFrameworkData(manifest: Package, outputDir: string = distDir): string[] {
  const packageJson = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as PackageJson;
  mkdirSync(outputDir, { recursive: true });
  return Object.entries(frameworkData(manifest, packageJson)).map(([name, contents]) => {
    const path = join(outputDir, name);
    writeFileSync(path, contents);
    return path;
  });
}

function main(): number {
  const manifestPath = join(projectRoot, 'custom-elements.json');
  if (!existsSync(manifestPath)) {
    console.error('custom-elements.json is missing: run `cem analyze` (part of `npm run build`) first.');
    return 1;
  }
  const written = writeFrameworkData(JSON.parse(readFileSync(manifestPath, 'utf8')) as Package);
  console.log(`Framework data: ${written.map((path) => relative(projectRoot, path)).join(', ')}`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = main();
