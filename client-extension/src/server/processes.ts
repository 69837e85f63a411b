/**
 * Child processes the client runs itself: the import probe and the installer steps.
 */
import { execFile, spawn } from 'node:child_process';
import * as os from 'node:os';
import { PROBE_ARGS } from '../core/launch';

export type ProbeResult =
  | { ok: true }
  | { ok: false; reason: 'not-found' | 'not-importable' | 'failed'; detail: string };

/**
 * Environment for every Python process we start. PYTHONSAFEPATH keeps the working directory off
 * `sys.path`, so a folder in an (untrusted) workspace can never shadow the server's own package.
 */
export function pythonEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PYTHONSAFEPATH: '1', PYTHONIOENCODING: 'utf-8' };
}

/** Can `command` import astra_ls? Runs from the home folder for the same reason as above. */
export function probe(command: string): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(command, [...PROBE_ARGS], { timeout: 60_000, cwd: os.homedir(), env: pythonEnv() }, (error, _stdout, stderr) => {
      if (!error) {
        resolve({ ok: true });
        return;
      }
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EACCES') {
        resolve({ ok: false, reason: 'not-found', detail: `${command}: ${code === 'ENOENT' ? 'no such program' : 'not executable'}` });
      } else if (/ModuleNotFoundError|No module named/.test(stderr)) {
        resolve({ ok: false, reason: 'not-importable', detail: lastLine(stderr) });
      } else {
        resolve({ ok: false, reason: 'failed', detail: lastLine(stderr) || error.message });
      }
    });
  });
}

/** The last non-empty line of a traceback: the exception, without the stack. */
export function lastLine(text: string): string {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '').pop() ?? '';
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
