/**
 * A private code-server: its own user data, extensions and config in a scratch folder, bound to
 * a free loopback port, stopped with its whole process group.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CODE_SERVER, NODE24_BIN } from './paths';

export interface CodeServer {
  readonly url: string;
  readonly userDataDir: string;
  stop(): Promise<void>;
}

function env(scratch: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // code-server needs Node 24; the machine's default Node may be older.
    PATH: `${NODE24_BIN}:${process.env.PATH ?? ''}`,
    XDG_DATA_HOME: join(scratch, 'xdg-data'),
    XDG_CONFIG_HOME: join(scratch, 'xdg-config'),
  };
}

function dirs(scratch: string): string[] {
  return ['--user-data-dir', join(scratch, 'data'), '--extensions-dir', join(scratch, 'extensions')];
}

export function installExtension(scratch: string, vsix: string): void {
  const result = spawnSync(CODE_SERVER, [...dirs(scratch), '--install-extension', vsix, '--force'], {
    env: env(scratch),
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`code-server --install-extension failed: ${result.stderr || result.stdout}`);
  }
}

export function writeUserSettings(scratch: string, settings: Record<string, unknown>): void {
  const dir = join(scratch, 'data', 'User');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'settings.json'), JSON.stringify(settings, null, 2));
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function waitHealthy(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`code-server exited early with code ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer ${url}/healthz within ${timeoutMs / 1000}s`);
}

export async function startCodeServer(scratch: string, workspace: string, logFile: string): Promise<CodeServer> {
  const port = await freePort();
  const config = join(scratch, 'config.yaml');
  writeFileSync(config, 'auth: none\n');
  const log = createWriteStream(logFile);
  const child = spawn(
    CODE_SERVER,
    [
      '--config', config, ...dirs(scratch),
      '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none',
      '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
      '--disable-getting-started-override', workspace,
    ],
    { env: env(scratch), detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const group = -child.pid;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      process.kill(group, 'SIGTERM');
    } catch {
      return;
    }
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000));
    if ((await Promise.race([exited, timer])) === 'timeout') {
      try {
        process.kill(group, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  try {
    await waitHealthy(url, child, 60_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, userDataDir: join(scratch, 'data'), stop };
}

/** Files under `dir` (code-server's logs) whose names `match`, at any depth. */
export function filesUnder(dir: string, match: (name: string) => boolean): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (match(entry.name)) found.push(p);
    }
  };
  walk(dir);
  return found;
}
