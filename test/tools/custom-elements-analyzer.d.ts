// The analyzer's command-line entry, which also runs programmatically; the package ships no types for it.
declare module '@custom-elements-manifest/analyzer/cli.js' {
  import type { Package } from 'custom-elements-manifest/schema';
  export function cli(options: { argv: string[]; cwd: string; noWrite?: boolean }): Promise<Package>;
}
