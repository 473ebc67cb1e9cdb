// `cem analyze` settings for custom-elements.json, the machine-readable reference of the elements that editors,
// framework wrappers and the README's API section read. Only the elements' sources are analysed: the Theta proxy
// runs on a server and the React wrappers are generated around the elements.
export default {
  globs: ['src/**/*.ts'],
  exclude: ['src/theta-proxy/**', 'src/react/**', 'src/**/*.test.ts', 'src/**/*.styles.ts'],
  outdir: '.',
  litelement: true,
  // package.json's `customElements` field is written by hand; by default the analyzer rewrites package.json.
  packagejson: false,
  // Order matters: `internalStateIsNotAnAttribute` reads the private fields that `publicApiOnly` then drops.
  plugins: [defineElementCalls(), internalStateIsNotAnAttribute(), publicApiOnly()],
};

/**
 * custom-elements.json is the elements' public contract (editors, framework types and the README are generated
 * from it), so it lists only what a page may use: private, protected, `#private` and `_`-prefixed members are
 * implementation details that would otherwise make up about a third of the file and invite use of internals.
 * Attributes, events, slots, parts and CSS properties are public by nature and stay.
 */
function publicApiOnly() {
  const isPublic = (member) => (member.privacy ?? 'public') === 'public' && !/^[#_]/.test(member.name);
  return {
    name: 'live-stream-elements:public-api-only',
    packageLinkPhase({ customElementsManifest }) {
      for (const module of customElementsManifest.modules) {
        for (const declaration of module.declarations ?? []) {
          if (declaration.members) declaration.members = declaration.members.filter(isPublic);
        }
      }
    },
  };
}

/**
 * The elements declare their reactive properties in `static properties`, where internal state is `{state: true}`
 * on a `private` field. The analyzer lists every entry there as an attribute: drop those of private fields, which
 * are neither attributes nor public API.
 */
function internalStateIsNotAnAttribute() {
  return {
    name: 'live-stream-elements:internal-state',
    packageLinkPhase({ customElementsManifest }) {
      for (const module of customElementsManifest.modules) {
        for (const declaration of module.declarations ?? []) {
          if (declaration.kind !== 'class' || !declaration.attributes) continue;
          const privateFields = new Set(
            (declaration.members ?? []).filter((member) => member.privacy === 'private').map((member) => member.name),
          );
          declaration.attributes = declaration.attributes.filter((attribute) => !privateFields.has(attribute.fieldName));
        }
      }
    },
  };
}

/**
 * Elements register through `defineElement('tag', ElementClass)` (which tolerates a second copy of the library on the
 * page) instead of calling `customElements.define` with literals, so the analyzer would find no tag names: read the
 * calls, give each class its tag, and export the definition from the module that registers it.
 * The generic `customElements.define(tagName, elementClass)` inside `defineElement` itself names no real tag: drop it.
 */
function defineElementCalls() {
  /** @type {{tagName: string, className: string, modulePath: string}[]} */
  const calls = [];
  return {
    name: 'live-stream-elements:define-element-calls',
    analyzePhase({ ts, node, moduleDoc }) {
      if (!ts.isCallExpression(node) || !ts.isIdentifier(node.expression) || node.expression.text !== 'defineElement') return;
      const [tag, elementClass] = node.arguments;
      if (tag && elementClass && ts.isStringLiteral(tag) && ts.isIdentifier(elementClass)) {
        calls.push({ tagName: tag.text, className: elementClass.text, modulePath: moduleDoc.path });
      }
    },
    packageLinkPhase({ customElementsManifest }) {
      const modules = customElementsManifest.modules;
      const classes = modules.flatMap((module) =>
        (module.declarations ?? []).filter((declaration) => declaration.kind === 'class').map((declaration) => ({ module, declaration })),
      );
      for (const module of modules) {
        module.exports = (module.exports ?? []).filter(
          (entry) =>
            entry.kind !== 'custom-element-definition' || classes.some(({ declaration }) => declaration.name === entry.declaration.name),
        );
      }
      for (const call of calls) {
        const found = classes.find(({ declaration }) => declaration.name === call.className);
        if (!found)
          throw new Error(`defineElement('${call.tagName}', ${call.className}): no class ${call.className} in the analysed sources.`);
        found.declaration.tagName = call.tagName;
        found.declaration.customElement = true;
        const registering = modules.find((module) => module.path === call.modulePath);
        registering.exports.push({
          kind: 'custom-element-definition',
          name: call.tagName,
          declaration: { name: call.className, module: found.module.path },
        });
      }
    },
  };
}
