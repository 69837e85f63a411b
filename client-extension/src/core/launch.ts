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
  /** Arguments that come before ours, e.g. `-3` for Windows' `py` launcher. */
  readonly prefix?: readonly string[];
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
  /** Decides the fallbacks: Windows rarely has `python3`, but has the `py` launcher. */
  readonly platform?: NodeJS.Platform;
}

export const SERVER_MODULE_ARGS: readonly string[] = ['-m', 'astra_ls', 'serve'];
/** Checks the interpreter's version and imports what the server needs; prints one JSON line (see astra_ls/probe.py). */
export const PROBE_ARGS: readonly string[] = ['-m', 'astra_ls.probe'];

/** Interpreters on PATH worth trying when nothing better is known, best first. */
export function defaultInterpreters(platform: NodeJS.Platform): InterpreterCandidate[] {
  return platform === 'win32'
    ? [{ command: 'py', prefix: ['-3'], source: 'default' }, { command: 'python', source: 'default' }]
    : [{ command: 'python3', source: 'default' }, { command: 'python', source: 'default' }];
}

/** How a candidate is shown to the user: `py -3`, `/usr/bin/python3`. */
export function commandLine(candidate: InterpreterCandidate): string {
  return [candidate.command, ...(candidate.prefix ?? [])].join(' ');
}

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
 * first (it is what the user picked for this workspace), then the extension's private environment,
 * then what is on PATH (`py -3` and `python` on Windows, `python3` and `python` elsewhere).
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
  found.push(...defaultInterpreters(inputs.platform ?? 'linux'));
  return found.filter((c, i) => found.findIndex((o) => commandLine(o) === commandLine(c)) === i);
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
  /** What the server writes to the Astra output channel: error, warning, info or debug. */
  readonly logLevel?: LogLevel;
}

export type LogLevel = 'error' | 'warning' | 'info' | 'debug';
const LOG_LEVELS: readonly string[] = ['error', 'warning', 'info', 'debug'];

/** `indexCache` is the hand-editable setting: only an explicit `false` turns the cache off. `settings` is sent as
 * JSON, exactly as `workspace/configuration` would answer; anything but an object is left out; so is a log
 * level the server would not know. */
export function initializationOptions(trusted: boolean, indexCache: unknown, storagePath: string | undefined,
  settings?: unknown, logLevel?: unknown): InitializationOptions {
  const enabled = indexCache !== false;
  const base: InitializationOptions = storagePath ? { trusted, indexCache: enabled, cacheDir: storagePath } : { trusted, indexCache: enabled };
  const level = typeof logLevel === 'string' && LOG_LEVELS.includes(logLevel) ? { logLevel: logLevel as LogLevel } : {};
  const json: unknown = settings === undefined ? undefined : JSON.parse(JSON.stringify(settings));
  return json !== null && typeof json === 'object' && !Array.isArray(json)
    ? { ...base, ...level, settings: json as Record<string, unknown> }
    : { ...base, ...level };
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
      return 'the PATH';
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

/** What a platform VSIX ships in `server-wheel/bundle.json`: wheels for every dependency, per Python. */
export interface WheelBundle {
  readonly dir: string;
  readonly target: string;
  readonly pythons: readonly string[];
  /** pip's own wheel, run as `python pip.whl/pip`: no pip (or python3-venv) needed on the machine. */
  readonly pipWheel: string;
}

/**
 * The commands that build the private environment. With a platform bundle that serves the base
 * interpreter's version: a venv without pip, then pip from the bundled wheel installs astra-ls with
 * `--no-index` (no network). Otherwise: a venv, then pip installs the shipped astra-ls wheel or
 * `astra-ls` from the package index (dependencies from the index).
 */
export function installSteps(
  base: InterpreterCandidate,
  venvDir: string,
  platform: NodeJS.Platform,
  source: { bundle: WheelBundle } | { wheel: string | undefined },
): [InstallStep, InstallStep] {
  const python = venvPython(venvDir, platform);
  const prefix = [...(base.prefix ?? [])];
  if ('bundle' in source) {
    const { bundle } = source;
    return [
      { command: base.command, args: [...prefix, '-m', 'venv', '--without-pip', '--clear', venvDir], title: 'Creating a private environment' },
      {
        command: python,
        args: [path.join(bundle.pipWheel, 'pip'), 'install', '--disable-pip-version-check', '--no-index', '--find-links', bundle.dir, 'astra-ls'],
        title: 'Installing astra-ls from the wheels shipped with the extension',
      },
    ];
  }
  return [
    { command: base.command, args: [...prefix, '-m', 'venv', '--clear', venvDir], title: 'Creating a private environment' },
    {
      command: python,
      args: ['-m', 'pip', 'install', '--disable-pip-version-check', '--upgrade', source.wheel ?? 'astra-ls'],
      title: source.wheel ? 'Installing the bundled astra-ls wheel' : 'Installing astra-ls from the package index',
    },
  ];
}

/** The bundle described by `bundle.json` and its folder listing, if it is complete enough to use. */
export function parseBundle(dir: string, manifest: unknown, fileNames: readonly string[]): WheelBundle | undefined {
  if (manifest === null || typeof manifest !== 'object') return undefined;
  const { target, pythons } = manifest as { target?: unknown; pythons?: unknown };
  const pip = fileNames.find((f) => /^pip-[^-]+-py3-none-any\.whl$/.test(f));
  if (typeof target !== 'string' || !Array.isArray(pythons) || !pip || !pickWheel(fileNames)) return undefined;
  return { dir, target, pythons: pythons.filter((p): p is string => typeof p === 'string'), pipWheel: path.join(dir, pip) };
}

/** Prints `major.minor` of an interpreter: whether the bundle serves it. */
export const VERSION_ARGS: readonly string[] = ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'];

/** What the probe (`python -m astra_ls.probe`) printed, or why it could not run. */
export type ProbeOutcome =
  | { ok: true; python: string }
  | { ok: false; reason: 'not-found' | 'not-installed' | 'unsupported' | 'failed'; detail: string };

/** Reads the probe's JSON line; anything else (an old astra-ls without the probe, a crash) is explained from stderr. */
export function parseProbe(exitCode: number | null, stdout: string, stderr: string): ProbeOutcome {
  const line = stdout.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.startsWith('{')).pop();
  if (line) {
    try {
      const answer = JSON.parse(line) as { ok?: unknown; python?: unknown; problems?: unknown };
      const python = typeof answer.python === 'string' ? answer.python : '?';
      if (answer.ok === true) return { ok: true, python };
      const problems = Array.isArray(answer.problems) ? answer.problems.filter((p): p is string => typeof p === 'string') : [];
      return { ok: false, reason: 'unsupported', detail: problems.join('; ') || `Python ${python} cannot run the server` };
    } catch {
      // fall through to stderr
    }
  }
  const last = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '').pop() ?? '';
  if (/No module named ['"]?astra_ls/.test(stderr)) return { ok: false, reason: 'not-installed', detail: 'astra-ls is not installed for it' };
  return { ok: false, reason: 'failed', detail: last || `exited with code ${exitCode ?? '?'}` };
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
