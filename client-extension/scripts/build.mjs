// Bundles the extension (and, with --e2e, the end-to-end test) with esbuild.
// One bundled file loads faster than hundreds of node_modules files and keeps the .vsix small.
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const production = process.argv.includes('--production');

await esbuild.build({
  absWorkingDir: root,
  entryPoints: ['src/extension.ts'],
  outfile: 'dist/extension.js',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode'],
  // Prefer ES module builds: jsonc-parser's UMD entry requires its files dynamically, which a bundle cannot follow.
  mainFields: ['module', 'main'],
  minify: production,
  sourcemap: production ? false : 'linked',
  logLevel: 'warning',
});

if (process.argv.includes('--e2e')) {
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['e2e/run.ts'],
    outfile: 'out/e2e/run.mjs',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // playwright-core loads its own files at run time: leave it in node_modules.
    packages: 'external',
    logLevel: 'warning',
  });
}
