// Three kinds of output from one source:
// - dist/*.js: ES modules for bundlers and npm, with lit, @lit/*, tslib, react and Node built-ins left as imports,
//   plus .d.ts types under dist/types;
// - dist/cdn/*.js: self-contained minified ES modules with Lit inlined, for a <script type="module"> from a CDN;
// - dist/cdn/*.iife.js: the same as classic scripts, for pages that cannot load modules; their exports land on
//   `window.LiveStreamElements`.
import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import nodeResolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';
import ts from 'typescript';

/** Entry points of the npm build. The element entries and `react` register tags; `theta-proxy*` run on servers. */
const entries = {
  index: 'src/index.ts',
  'kit-stream-player': 'src/kit-stream-player/index.ts',
  // NVIDIA's AppStreamer comes from NVIDIA's own registry, so pages that use it have a bundler: the adapter is an
  // npm entry of its own and stays out of the CDN files.
  'app-streamer-connector': 'src/kit-stream-player/app-streamer-connector.ts',
  'theta-live-setup': 'src/theta-live-setup/index.ts',
  'theta-proxy': 'src/theta-proxy/index.ts',
  'theta-proxy-cli': 'src/theta-proxy/cli.ts',
  react: 'src/react/index.ts',
  'react/kit-stream-player': 'src/react/kit-stream-player.ts',
  'react/theta-live-setup': 'src/react/theta-live-setup.ts',
};

/** Self-contained CDN files: each element alone, and both together. `types` is the entry's declaration file. */
const cdnEntries = [
  { name: 'kit-stream-player', input: 'src/kit-stream-player/index.ts', types: 'kit-stream-player/index.js' },
  { name: 'theta-live-setup', input: 'src/theta-live-setup/index.ts', types: 'theta-live-setup/index.js' },
  { name: 'live-stream-elements', input: 'src/index.ts', types: 'index.js' },
];

/** The classic scripts' global; `extend` lets several of them share it. */
const iifeGlobal = 'LiveStreamElements';

const typescriptOptions = {
  tsconfig: './tsconfig.json',
  include: ['src/**/*.ts'],
  filterRoot: '.',
  noEmit: false,
  declaration: false,
  sourceMap: true,
};

/** A build starts from an empty dist/, so files of renamed or removed entries never linger into a package. */
await rm('dist', { recursive: true, force: true });

/**
 * Collapses the white space and comments of the elements' `css` templates, and the line breaks of their `html`
 * templates, which no minifier of JavaScript touches.
 * The templates hold plain CSS without interpolations; white space is kept where CSS needs it (between values,
 * and before a `:` that may start a pseudo-class of a descendant).
 */
function minifyTemplates() {
  const minify = (css) =>
    css
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\s+/g, ' ')
      .replace(/\s*([{};,>])\s*/g, '$1')
      .replace(/:\s+/g, ':')
      .replace(/;}/g, '}')
      .trim();
  return {
    name: 'minify-templates',
    transform(code, id) {
      if (!id.endsWith('.ts')) return null;
      // `css` templates without interpolations, wherever they are; then the markup of `html` and `svg` templates.
      const styled = code.replace(/\bcss\s*`([^`$]*)`/g, (_, body) => `css\`${minify(body)}\``);
      return { code: /\b(html|svg)\s*`/.test(styled) ? minifyHtmlTemplates(styled, id) : styled, map: null };
    },
  };
}

/**
 * Collapses the line breaks and indentation in the literal parts of `html` templates: between tags they go,
 * elsewhere (text, attribute lists) they become one space. Expressions are never touched: the templates are found
 * with TypeScript's parser, so nested templates and `${...}` are handled as code.
 */
function minifyHtmlTemplates(code, fileName) {
  const source = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  /** [start, end) of each literal part, in source order. */
  const parts = [];
  const visit = (node) => {
    if (ts.isTaggedTemplateExpression(node) && ts.isIdentifier(node.tag) && (node.tag.text === 'html' || node.tag.text === 'svg')) {
      const template = node.template;
      if (ts.isNoSubstitutionTemplateLiteral(template)) parts.push([template.getStart(source) + 1, template.end - 1]);
      else {
        parts.push([template.head.getStart(source) + 1, template.head.end - 2]);
        for (const span of template.templateSpans)
          parts.push([span.literal.getStart(source) + 1, span.literal.end - (ts.isTemplateTail(span.literal) ? 1 : 2)]);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  parts.sort((a, b) => b[0] - a[0]);
  let out = code;
  for (const [start, end] of parts) {
    const text = out
      .slice(start, end)
      .replace(/>\s*\n\s*</g, '><')
      .replace(/\s*\n\s*/g, ' ');
    out = out.slice(0, start) + text + out.slice(end);
  }
  return out;
}

/** Three compression passes: a few hundred bytes off each CDN file. */
const terserOptions = { ecma: 2022, compress: { passes: 3 }, format: { comments: false } };

/** The command-line entry runs straight from `node_modules/.bin`: it needs a shebang and the executable bit. */
function executableCli() {
  return {
    name: 'executable-cli',
    async writeBundle(options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type === 'chunk' && chunk.isEntry && chunk.name === 'theta-proxy-cli')
          await chmod(join(options.dir, chunk.fileName), 0o755);
      }
    },
  };
}

/** `live-stream-elements/cdn/<name>.js` gets the types of the entry it was built from. */
function cdnTypes(name, types) {
  return {
    name: 'cdn-types',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: `${name}.d.ts`, source: `export * from '../types/${types}';\n` });
    },
  };
}

export default [
  {
    input: entries,
    external: [/^lit(\/|$)/, /^@lit\//, /^tslib$/, /^react(-dom)?(\/|$)/, /^node:/],
    output: {
      dir: 'dist',
      format: 'es',
      entryFileNames: '[name].js',
      chunkFileNames: 'chunks/[name]-[hash].js',
      // Maps stay out of the npm package (see `files`), so the files carry no reference to them.
      sourcemap: 'hidden',
      // The React wrappers run in the browser only: "use client" lets Next.js Server Components import them.
      banner: (chunk) =>
        !chunk.isEntry
          ? ''
          : chunk.name === 'theta-proxy-cli'
            ? '#!/usr/bin/env node'
            : chunk.name.startsWith('react')
              ? "'use client';"
              : '',
    },
    plugins: [
      typescript({ ...typescriptOptions, outDir: 'dist', rootDir: 'src', declaration: true, declarationDir: 'dist/types' }),
      minifyTemplates(),
      executableCli(),
    ],
  },
  ...cdnEntries.map(({ name, input, types }) => ({
    input,
    output: [
      {
        file: `dist/cdn/${name}.js`,
        format: 'es',
        sourcemap: 'hidden',
        plugins: [terser({ ...terserOptions, module: true }), cdnTypes(name, types)],
      },
      {
        file: `dist/cdn/${name}.iife.js`,
        format: 'iife',
        name: iifeGlobal,
        extend: true,
        exports: 'named',
        sourcemap: 'hidden',
        plugins: [terser({ ...terserOptions, module: false })],
      },
    ],
    plugins: [nodeResolve({ browser: true }), typescript({ ...typescriptOptions, outDir: 'dist/cdn', rootDir: 'src' }), minifyTemplates()],
  })),
];
