/**
 * How the server process is found and started: pure functions from settings to argv.
 *
 * Kept free of the `vscode` module so the rules are unit-tested without an editor.
 */
import * as path from 'node:path';

/** Where an interpreter came from; shown to the user when it cannot run the server. */
export type InterpreterSource = 'setting' | 'python-extension' | 'private-environment' | 'default';

export interface InterpreterCandidate {
  readonly command: string;
  readonly source: InterpreterSource;
}

export interface LaunchInputs {
  /** `astra.server.python` as the user wrote it; blank means unset. */
  readonly configuredPython: string | undefined;
  /** The interpreter selected in the Python extension, when that extension is installed. */
  readonly pythonExtensionInterpreter: string | undefined;
  /** The private environment's interpreter, only if that environment exists. */
  readonly privateEnvironmentPython: string | undefined;
  readonly home: string;
  readonly workspaceFolder: string | undefined;
}

export const DEFAULT_PYTHON = 'python3';
export const SERVER_MODULE_ARGS: readonly string[] = ['-m', 'astra_ls', 'serve'];
/** Imports the package and nothing else: the cheapest proof that `-m astra_ls` will work. */
export const PROBE_ARGS: readonly string[] = ['-c', 'import astra_ls'];

/** Expands `~`, `${userHome}` and `${workspaceFolder}` the way users write paths in settings. */
export function expandPath(raw: string, home: string, workspaceFolder: string | undefined): string {
  let out = raw.trim();
  if (out === '~' || out.startsWith('~/')) {
    out = home + out.slice(1);
  }
  out = out.split('${userHome}').join(home);
  if (workspaceFolder !== undefined) {
    out = out.split('${workspaceFolder}').join(workspaceFolder);
  }
  return out;
}

/**
 * Interpreters to try, best first.
 *
 * An explicit setting is the only candidate: silently falling back would run a different
 * interpreter than the one the user asked for. Otherwise the Python extension's choice comes
 * first (it is what the user picked for this workspace), then an environment the user asked us
 * to install, then `python3`.
 */
export function interpreterCandidates(inputs: LaunchInputs): InterpreterCandidate[] {
  const configured = inputs.configuredPython?.trim() ?? '';
  if (configured !== '') {
    return [{ command: expandPath(configured, inputs.home, inputs.workspaceFolder), source: 'setting' }];
  }
  const found: InterpreterCandidate[] = [];
  if (inputs.pythonExtensionInterpreter) {
    found.push({ command: inputs.pythonExtensionInterpreter, source: 'python-extension' });
  }
  if (inputs.privateEnvironmentPython) {
    found.push({ command: inputs.privateEnvironmentPython, source: 'private-environment' });
  }
  found.push({ command: DEFAULT_PYTHON, source: 'default' });
  return found.filter((c, i) => found.findIndex((o) => o.command === c.command) === i);
}

/** The server's argv after the interpreter; non-string entries of a hand-edited setting are dropped. */
export function serverArgs(extra: readonly unknown[] | undefined): string[] {
  const strings = (extra ?? []).filter((a): a is string => typeof a === 'string');
  return [...SERVER_MODULE_ARGS, ...strings];
}

/** What the server is told at `initialize`: workspace trust, whether and where it keeps its index cache, and the
 * `astra` settings as it would pull them (so a restart can publish the diagnostics saved for those settings at once). */
export interface InitializationOptions {
  readonly trusted: boolean;
  readonly indexCache: boolean;
  /** The editor's storage folder for this extension; the server never writes its cache into the workspace. */
  readonly cacheDir?: string;
  readonly settings?: Record<string, unknown>;
}

/** `indexCache` is the hand-editable setting: only an explicit `false` turns the cache off. `settings` is sent as
 * JSON, exactly as `workspace/configuration` would answer; anything but an object is left out. */
export function initializationOptions(trusted: boolean, indexCache: unknown, storagePath: string | undefined,
  settings?: unknown): InitializationOptions {
  const enabled = indexCache !== false;
  const base = storagePath ? { trusted, indexCache: enabled, cacheDir: storagePath } : { trusted, indexCache: enabled };
  const json: unknown = settings === undefined ? undefined : JSON.parse(JSON.stringify(settings));
  return json !== null && typeof json === 'object' && !Array.isArray(json)
    ? { ...base, settings: json as Record<string, unknown> }
    : base;
}

export function describeSource(source: InterpreterSource): string {
  switch (source) {
    case 'setting':
      return 'the `astra.server.python` setting';
    case 'python-extension':
      return 'the interpreter selected in the Python extension';
    case 'private-environment':
      return "the extension's private environment";
    case 'default':
      return 'python3 on PATH';
  }
}

/** The interpreter inside a virtual environment folder. */
export function venvPython(venvDir: string, platform: NodeJS.Platform): string {
  return platform === 'win32' ? path.join(venvDir, 'Scripts', 'python.exe') : path.join(venvDir, 'bin', 'python');
}

export interface InstallStep {
  readonly command: string;
  readonly args: string[];
  readonly title: string;
}

/**
 * The commands that build the private environment: a fresh venv, then pip installs either the
 * wheel shipped in the extension or `astra-ls` from the package index (dependencies always
 * come from the index: the wheel is built without them).
 */
export function installSteps(
  basePython: string,
  venvDir: string,
  wheel: string | undefined,
  platform: NodeJS.Platform,
): [InstallStep, InstallStep] {
  const python = venvPython(venvDir, platform);
  return [
    { command: basePython, args: ['-m', 'venv', '--clear', venvDir], title: 'Creating a private environment' },
    {
      command: python,
      args: ['-m', 'pip', 'install', '--disable-pip-version-check', '--upgrade', wheel ?? 'astra-ls'],
      title: wheel ? 'Installing the bundled astra-ls wheel' : 'Installing astra-ls from the package index',
    },
  ];
}

/** The newest `astra_ls-*.whl` in a listing (versions compare as dotted numbers). */
export function pickWheel(fileNames: readonly string[]): string | undefined {
  const wheels = fileNames.filter((f) => /^astra_ls-[^-]+-.*\.whl$/.test(f));
  const version = (f: string): number[] => (f.split('-')[1] ?? '').split('.').map((p) => parseInt(p, 10) || 0);
  const newer = (a: number[], b: number[]): number => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = (a[i] ?? 0) - (b[i] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  };
  return [...wheels].sort((a, b) => newer(version(b), version(a)))[0];
}
