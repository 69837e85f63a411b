// Builds the .vsix files: the server wheels they ship, the production bundle, then @vscode/vsce.
//
//   node scripts/package.mjs                      universal VSIX: the astra-ls wheel only (its dependencies come
//                                                 from the package index when the user installs the server)
//   node scripts/package.mjs --target linux-x64   one platform VSIX: astra-ls and every dependency as wheels for
//                                                 that platform and each supported Python (offline install)
//   node scripts/package.mjs --all-targets        the universal VSIX and every platform VSIX
//
//   ASTRA_PYTHON  interpreter used to build and gather wheels (default: <repo>/.venv/bin/python, else python3)
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const repo = join(root, '..');
// VS Code's platform targets that get their own VSIX (see bundle_wheels.py for their wheel tags).
// alpine-x64 is not among them: google-re2 has no musllinux wheels (see bundle_wheels.py).
export const TARGETS = ['win32-x64', 'win32-arm64', 'darwin-x64', 'darwin-arm64', 'linux-x64', 'linux-arm64'];

function run(command, args, options = {}) {
  console.log(`$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, encoding: 'utf8', ...options });
  if (result.status !== 0) {
    if (options.stdio === 'pipe') console.error(`${result.stdout}${result.stderr}`);
    console.error(`package: FAILED (${command} exited with ${result.status ?? result.signal})`);
    process.exit(1);
  }
}

/** Runs a command in the background; resolves with its exit code (output goes through). */
function runAsync(command, args) {
  console.log(`$ ${command} ${args.join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', cwd: root });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

export function repoPython() {
  if (process.env.ASTRA_PYTHON) return process.env.ASTRA_PYTHON;
  const venv = join(repo, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}

const argv = process.argv.slice(2);
const targetIndex = argv.indexOf('--target');
const requested = argv.includes('--all-targets') ? TARGETS : targetIndex >= 0 ? [argv[targetIndex + 1]] : [];
for (const target of requested) {
  if (!TARGETS.includes(target)) {
    console.error(`package: unknown target "${target}" (one of ${TARGETS.join(', ')})`);
    process.exit(2);
  }
}
const universal = requested.length === 0 || argv.includes('--all-targets');

// 1. Wheel sets, one folder per target, gathered in parallel (the time goes to downloads).
const bundles = join(root, '.bundles');
const wheelDir = join(root, 'server-wheel');
rmSync(wheelDir, { recursive: true, force: true });
mkdirSync(wheelDir);
// The astra-ls wheel is built once, here: builds running side by side would race on the source tree's build/.
const universalDir = join(bundles, 'universal');
rmSync(universalDir, { recursive: true, force: true });
run(repoPython(), ['-m', 'pip', 'wheel', repo, '--no-deps', '--disable-pip-version-check', '-q', '-w', universalDir], { stdio: 'pipe' });
const ourWheels = readdirSync(universalDir).filter((f) => f.startsWith('astra_ls-') && f.endsWith('.whl'));
if (ourWheels.length !== 1) {
  console.error(`package: FAILED (expected one astra-ls wheel in ${universalDir}, found ${ourWheels.join(', ') || 'none'})`);
  process.exit(1);
}
const ourWheel = join(universalDir, ourWheels[0]);
const pending = [...requested];
const failed = [];
const workers = Array.from({ length: Math.min(4, pending.length) }, async () => {
  for (let target = pending.shift(); target; target = pending.shift()) {
    const code = await runAsync(repoPython(), [
      join(root, 'scripts', 'bundle_wheels.py'), '--target', target, '--out', join(bundles, target), '--wheel', ourWheel,
    ]);
    if (code !== 0) failed.push(target);
  }
});
await Promise.all(workers);
if (failed.length > 0) {
  console.error(`package: FAILED to gather wheels for ${failed.join(', ')}`);
  process.exit(1);
}

// 2. The sample workspace the walkthrough opens (a copy of the repository's), and the production bundle.
rmSync(join(root, 'sample-workspace'), { recursive: true, force: true });
cpSync(join(repo, 'examples', 'workspace'), join(root, 'sample-workspace'), { recursive: true });
rmSync(join(root, 'dist'), { recursive: true, force: true });
run(process.execPath, [join(root, 'scripts', 'build.mjs'), '--production']);

// 3. The .vsix files. Dependencies are bundled by esbuild, so vsce must not collect node_modules.
const { name, version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
function vsce(target) {
  rmSync(wheelDir, { recursive: true, force: true });
  cpSync(join(bundles, target ?? 'universal'), wheelDir, { recursive: true });
  const wheels = readdirSync(wheelDir).filter((f) => f.endsWith('.whl'));
  if (!target && (wheels.length !== 1 || !wheels[0].startsWith('astra_ls-'))) {
    console.error(`package: FAILED (expected the astra-ls wheel alone in ${wheelDir}, found ${wheels.join(', ')})`);
    process.exit(1);
  }
  const vsix = join(root, target ? `${name}-${target}-${version}.vsix` : `${name}-${version}.vsix`);
  rmSync(vsix, { force: true });
  run(process.execPath, [
    join(root, 'node_modules', '@vscode', 'vsce', 'vsce'),
    'package',
    '--no-dependencies',
    ...(target ? ['--target', target] : []),
    '--out',
    vsix,
  ]);
  console.log(`package: built ${vsix} (${(statSync(vsix).size / 1024 / 1024).toFixed(1)} MiB, ${wheels.length} wheels)`);
}
if (universal) vsce(undefined);
for (const target of requested) vsce(target);
