/**
 * custom-elements.json as the build writes it, generated in memory from the current sources with the project's
 * analyzer config (custom-elements-manifest.config.mjs), plus lookups of the element declarations in it.
 */
import { cli } from '@custom-elements-manifest/analyzer/cli.js';
import type { ClassDeclaration, ClassField, ClassMethod, CustomElement, Package } from 'custom-elements-manifest/schema';
import { projectRoot } from './paths.js';

export { projectRoot };

/** A class the manifest describes as a custom element with a tag name. */
export type ElementDeclaration = ClassDeclaration & CustomElement & { tagName: string; modulePath: string };

/** Runs the analyzer on the sources without writing custom-elements.json. */
export async function generateManifest(): Promise<Package> {
  return cli({ argv: ['analyze', '--quiet'], cwd: projectRoot, noWrite: true });
}

/** The elements in the manifest, by tag name, in tag order. */
export function elementsOf(manifest: Package): ElementDeclaration[] {
  const elements: ElementDeclaration[] = [];
  for (const module of manifest.modules) {
    for (const declaration of module.declarations ?? []) {
      if (declaration.kind !== 'class') continue;
      const element = declaration as ClassDeclaration & CustomElement;
      if (element.tagName) elements.push({ ...element, tagName: element.tagName, modulePath: module.path });
    }
  }
  return elements.sort((a, b) => a.tagName.localeCompare(b.tagName));
}

/** Members a page may use: not private, protected, static or `#private`. */
export function publicMembers(element: ElementDeclaration): (ClassField | ClassMethod)[] {
  return (element.members ?? []).filter(
    (member) => !member.static && (member.privacy === undefined || member.privacy === 'public') && !member.name.startsWith('#'),
  );
}

/**
 * The property an attribute belongs to: the one the analyzer linked it to (`@property`), else for an attribute
 * declared with `@attr` in the class JSDoc, a public field of the same name in camelCase (e.g. a read-only getter
 * whose value the element reflects). Undefined for an attribute with no property.
 */
export function propertyOfAttribute(element: ElementDeclaration, attributeName: string): string | undefined {
  const attribute = (element.attributes ?? []).find((candidate) => candidate.name === attributeName);
  if (attribute?.fieldName) return attribute.fieldName;
  const camelCase = attributeName.replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase());
  return publicMembers(element).find((member) => member.kind === 'field' && member.name === camelCase)?.name;
}
