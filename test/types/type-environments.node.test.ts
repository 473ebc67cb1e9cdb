/**
 * Which code sees which globals: the browser code of src/ is checked with the DOM only (src/tsconfig.json), so a
 * Node API used there fails the type check; everything that runs on Node (tests, demo and simulators, tools, the
 * Theta proxy's Node server and command line) is checked with Node types (tsconfig.json).
 *
 * Run: node --import tsx --test test/types/type-environments.node.test.ts
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const browserConfig = join(root, 'src', 'tsconfig.json');
const nodeConfig = join(root, 'tsconfig.json');
/** src/ files that run on Node only. */
const nodeOnlySources = ['src/theta-proxy/cli.ts', 'src/theta-proxy/node-server.ts'];

function parse(configPath: string): ts.ParsedCommandLine {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => assert.fail(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')),
    },
  );
  assert.ok(parsed, configPath);
  assert.deepEqual(parsed.errors, [], `${configPath} has errors`);
  return parsed;
}

/** Paths relative to the repository, with forward slashes. */
const relativeNames = (names: readonly string[]) => names.map((name) => relative(root, name).split('\\').join('/')).sort();

function typeScriptFiles(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.tsx?$/.test(entry.name))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split('\\').join('/'))
    .sort();
}

/** Library and type declarations parsed once for all the programs below: parsing lib.dom.d.ts is most of the work. */
const parsedDeclarations = new Map<string, ts.SourceFile | undefined>();

/** Type errors of one in-memory module compiled with a config's options and nothing else of the project. */
function diagnosticsOf(options: ts.CompilerOptions, source: string): string[] {
  const fileName = join(root, 'src', '__probe__.ts');
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, language, ...rest) => {
    if (name === fileName) return ts.createSourceFile(name, source, language);
    if (!parsedDeclarations.has(name)) parsedDeclarations.set(name, getSourceFile.call(host, name, language, ...rest));
    return parsedDeclarations.get(name);
  };
  host.fileExists = (name) => name === fileName || fileExists.call(host, name);
  host.readFile = (name) => (name === fileName ? source : readFile.call(host, name));
  const program = ts.createProgram({ rootNames: [fileName], options: { ...options, noEmit: true }, host });
  const probe = program.getSourceFile(fileName);
  return [...program.getSyntacticDiagnostics(probe), ...program.getSemanticDiagnostics(probe)].map((diagnostic) =>
    ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'),
  );
}

describe('type environments', () => {
  const browser = parse(browserConfig);
  const node = parse(nodeConfig);

  it('checks the browser code of src/ with no global types: no Node, no mocha', () => {
    assert.deepEqual(browser.options.types, []);
    assert.ok(
      browser.options.lib?.some((lib) => /dom/i.test(lib)),
      'the DOM library',
    );
    const expected = typeScriptFiles('src').filter((file) => !nodeOnlySources.includes(file));
    assert.deepEqual(relativeNames(browser.fileNames), expected, 'every browser file of src/, and nothing else');
    // A triple-slash reference would bring Node's globals into every browser file of the check.
    const referencing = expected.filter((file) =>
      /^\s*\/\/\/\s*<reference\s+(types|lib|path)=/m.test(readFileSync(join(root, file), 'utf8')),
    );
    assert.deepEqual(referencing, [], 'no browser file references other type declarations');
  });

  it('checks tests, demo, simulators, tools and the Node-only sources with Node types', () => {
    assert.ok(node.options.types?.includes('node'));
    const files = new Set(relativeNames(node.fileNames));
    const missing = [...typeScriptFiles('test'), ...typeScriptFiles('demo'), ...typeScriptFiles('src')].filter((file) => !files.has(file));
    assert.deepEqual(missing, []);
  });

  it('shares every other setting between the two', () => {
    const { types: _browserTypes, configFilePath: _browserPath, ...browserOptions } = browser.options;
    const { types: _nodeTypes, configFilePath: _nodePath, ...nodeOptions } = node.options;
    assert.deepEqual(browserOptions, nodeOptions);
  });

  it('fails browser code that uses a Node API, and passes DOM code', () => {
    const source = "export const home: string = process.env.HOME ?? Buffer.from('x').toString();\n";
    const browserErrors = diagnosticsOf(browser.options, source);
    assert.ok(
      browserErrors.some((message) => message.includes("Cannot find name 'process'")),
      browserErrors.join('\n'),
    );
    assert.ok(browserErrors.some((message) => message.includes("Cannot find name 'Buffer'")));
    assert.deepEqual(diagnosticsOf(browser.options, "export const video = document.createElement('video');\n"), []);
  });
});
