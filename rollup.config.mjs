// Two kinds of output from one source:
// - dist/: ES modules for bundlers and npm, with lit, @lit/task and tslib left as imports, plus .d.ts types;
// - dist/cdn/: self-contained minified files with Lit inlined, for a <script type="module"> straight from a CDN.
import nodeResolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';

/** Entry points of the npm build: each element registers its tag; the index registers both. */
const entries = {
  index: 'src/index.ts',
  'kit-stream-player': 'src/kit-stream-player/index.ts',
};

/** Self-contained CDN files. */
const cdnEntries = {
  'kit-stream-player': 'src/kit-stream-player/index.ts',
};

const typescriptOptions = {
  tsconfig: './tsconfig.json',
  include: ['src/**/*.ts'],
  filterRoot: '.',
  noEmit: false,
  declaration: false,
  sourceMap: true,
};

export default [
  {
    input: entries,
    external: [/^lit(\/|$)/, /^@lit\//, /^tslib$/],
    output: {
      dir: 'dist',
      format: 'es',
      entryFileNames: '[name].js',
      chunkFileNames: 'chunks/[name]-[hash].js',
      sourcemap: true,
    },
    plugins: [typescript({ ...typescriptOptions, outDir: 'dist', rootDir: 'src', declaration: true, declarationDir: 'dist/types' })],
  },
  ...Object.entries(cdnEntries).map(([name, input]) => ({
    input,
    output: { file: `dist/cdn/${name}.js`, format: 'es', sourcemap: true },
    plugins: [
      nodeResolve({ browser: true }),
      typescript({ ...typescriptOptions, outDir: 'dist/cdn' }),
      terser({ ecma: 2022, module: true, format: { comments: false } }),
    ],
  })),
];
