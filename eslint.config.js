// @ts-check
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import lit from 'eslint-plugin-lit';
import wc from 'eslint-plugin-wc';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Code that runs in Node: servers, simulators, command-line tools, Node tests, build and test-runner configuration. */
const nodeFiles = [
  '*.{js,mjs,cjs}',
  'demo/serve.ts',
  'demo/react/build.ts',
  'demo/simulators/**/*.ts',
  'src/theta-proxy/**/*.ts',
  'test/**/*.node.test.ts',
  'test/bench/*.bench.ts',
  'test/support/chrome.ts',
  'test/support/sim-hub.ts',
  'test/tools/**/*.ts',
];

/** Code that runs in the browser: the elements, their browser tests, the demo pages and the benchmark page. */
const browserFiles = [
  'src/**/*.ts',
  'demo/*.ts',
  'demo/react/app.tsx',
  'test/**/*.test.ts',
  'test/support/simulators.ts',
  'test/support/page-resources.ts',
  'test/bench/*-page.ts',
];

/** The elements, and the pages and browser tests that render them. */
const elementFiles = ['src/**/*.ts', 'demo/*.ts', 'test/**/*.test.ts', 'test/bench/*-page.ts'];

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', '.tmp/', 'custom-elements.json', 'demo/react/app.js']),

  js.configs.recommended,
  tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `const { omitted: _omitted, ...rest } = value` copies an object without some keys.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },

  {
    // Type-aware rules for the library, the demo and the test tooling. Test files keep the syntax-only set: they read
    // untyped JSON answers on purpose, and node:test's describe/it return promises nobody awaits.
    files: ['**/*.{ts,tsx}'],
    ignores: ['test/**/*.test.ts'],
    extends: [tseslint.configs.recommendedTypeCheckedOnly],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // AbortSignal.reason is typed `any`: abortable work rejects with it as it is, like the platform's own APIs.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true }],
    },
  },

  {
    files: browserFiles,
    ignores: nodeFiles,
    languageOptions: { globals: globals.browser },
  },
  {
    files: nodeFiles,
    languageOptions: { globals: globals.node },
  },

  {
    files: elementFiles,
    ignores: ['src/theta-proxy/**', 'test/**/*.node.test.ts'],
    extends: [lit.configs['flat/recommended'], wc.configs['flat/best-practice']],
    settings: {
      wc: { elementBaseClasses: ['LitElement', 'LiveElement'] },
    },
    rules: {
      // LitElement implements connectedCallback and disconnectedCallback, so unguarded super calls are always safe.
      'wc/guard-super-call': 'off',
    },
  },
  {
    // Browser tests use chai's property assertions, such as `expect(button).to.exist`, which are expressions.
    files: ['test/**/*.test.ts'],
    ignores: ['test/**/*.node.test.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
);
