/** Where things are, for the Node tools and tests. */
import { fileURLToPath } from 'node:url';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
export const distDir = fileURLToPath(new URL('../../dist/', import.meta.url));
export const cdnDir = fileURLToPath(new URL('../../dist/cdn/', import.meta.url));
