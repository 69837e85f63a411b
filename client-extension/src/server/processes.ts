/**
 * Child processes the client runs itself: the import probe and the installer steps.
 */
import { execFile, spawn } from 'node:child_process';
import * as os from 'node:os';
import { type InterpreterCandidate, parseProbe, PROBE_ARGS, type ProbeOutcome, VERSION_ARGS } from '../core/launch';

/**
 * Environment for every Python process we start. PYTHONSAFEPATH keeps the working directory off
 * `sys.path`, so a folder in an (untrusted) workspace can never shadow the server's own package.
 */
export function pythonEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PYTHONSAFEPATH: '1', PYTHONIOENCODING: 'utf-8' };
}

/** Can this interpreter run the server? Runs from the home folder for the same reason as above. */
export function probe(candidate: InterpreterCandidate): Promise<ProbeOutcome> {
  return capture(candidate, PROBE_ARGS).then((r) =>
    'missing' in r ? { ok: false, reason: 'not-found', detail: r.missing } : parseProbe(r.code, r.stdout, r.stderr));
}

/** `major.minor` of an interpreter, or undefined when it cannot run. */
export async function pythonVersion(candidate: InterpreterCandidate): Promise<string | undefined> {
  const r = await capture(candidate, VERSION_ARGS);
  return 'missing' in r || r.code !== 0 ? undefined : r.stdout.trim();
}

type Captured = { code: number | null; stdout: string; stderr: string } | { missing: string };

function capture(candidate: InterpreterCandidate, args: readonly string[]): Promise<Captured> {
  return new Promise((resolve) => {
    execFile(candidate.command, [...(candidate.prefix ?? []), ...args], { timeout: 60_000, cwd: os.homedir(), env: pythonEnv() },
      (error, stdout, stderr) => {
        const code = (error as NodeJS.ErrnoException | null)?.code;
        if (code === 'ENOENT' || code === 'EACCES') {
          resolve({ missing: code === 'ENOENT' ? 'not found' : 'not executable' });
          return;
        }
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      });
  });
}

/** Runs a command to completion, streaming its output to `log`; resolves with the exit code. */
export function run(command: string, args: readonly string[], log: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    log(`$ ${command} ${args.join(' ')}`);
    const child = spawn(command, [...args], { cwd: os.homedir(), env: pythonEnv() });
    child.stdout.on('data', (d: Buffer) => log(d.toString().trimEnd()));
    child.stderr.on('data', (d: Buffer) => log(d.toString().trimEnd()));
    child.on('error', (e) => {
      log(e.message);
      resolve(-1);
    });
    child.on('close', (code) => resolve(code ?? -1));
  });
}
