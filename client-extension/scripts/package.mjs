// Builds the .vsix: the server wheel it ships, the production bundle, then @vscode/vsce.
//   ASTRA_PYTHON  interpreter used to build the wheel (default: <repo>/.venv/bin/python, else python3)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const repo = join(root, '..');

function run(command, args, options = {}) {
  console.log(`$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, encoding: 'utf8', ...options });
  if (result.status !== 0) {
    if (options.stdio === 'pipe') console.error(`${result.stdout}${result.stderr}`);
    console.error(`package: FAILED (${command} exited with ${result.status ?? result.signal})`);
    process.exit(1);
  }
}

export function repoPython() {
  if (process.env.ASTRA_PYTHON) return process.env.ASTRA_PYTHON;
  const venv = join(repo, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}

// 1. The server wheel, installed by the extension into a private environment on request.
const wheelDir = join(root, 'server-wheel');
rmSync(wheelDir, { recursive: true, force: true });
mkdirSync(wheelDir);
// pip's build backend is chatty (deprecation banners); its output is shown only if it fails.
run(repoPython(), ['-m', 'pip', 'wheel', repo, '--no-deps', '--disable-pip-version-check', '-q', '-w', wheelDir], { stdio: 'pipe' });
const wheels = readdirSync(wheelDir).filter((f) => f.endsWith('.whl'));
if (wheels.length !== 1) {
  console.error(`package: FAILED (expected one wheel in ${wheelDir}, found ${wheels.length})`);
  process.exit(1);
}

// 2. The production bundle.
rmSync(join(root, 'dist'), { recursive: true, force: true });
run(process.execPath, [join(root, 'scripts', 'build.mjs'), '--production']);

// 3. The .vsix. Dependencies are bundled, so vsce must not collect node_modules.
const { name, version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const vsix = join(root, `${name}-${version}.vsix`);
rmSync(vsix, { force: true });
run(process.execPath, [
  join(root, 'node_modules', '@vscode', 'vsce', 'vsce'),
  'package',
  '--no-dependencies',
  '--allow-missing-repository',
  '--out',
  vsix,
]);
console.log(`package: built ${vsix} (${(statSync(vsix).size / 1024).toFixed(1)} KiB, wheel ${wheels[0]})`);
