/**
 * End-to-end check of a multi-root workspace whose two folders name different interpreters in their
 * own settings: two servers start, one per folder, and each folder's store gets its diagnostics,
 * its status bar counts and its commands from its own server.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Browser } from 'playwright-core';
import { type CodeServer, filesUnder, installExtension, startCodeServer, writeUserSettings } from './codeServer';
import { ARTIFACTS, serverPython } from './paths';
import { launchBrowser, LONG, openWorkbench, type Workbench } from './workbench';

const T0 = Date.UTC(2025, 0, 1, 10, 0, 0);

/** One folder per interpreter; each store has a malformed line, on a different line. */
const FOLDERS = [
  { name: 'alpha', store: 'mr-alpha', good: 2, malformed: 3 },
  { name: 'beta', store: 'mr-beta', good: 1, malformed: 2 },
] as const;

function storeLines(good: number): string[] {
  const lines = Array.from({ length: good }, (_, i) => JSON.stringify({ type: 'Note', timestamp: T0 + i * 1000, text: `note ${i}` }));
  return [...lines, '{"type": "Note", "timestamp": 1, "text": "cut short'];
}

/**
 * Two paths to the same virtual environment (`python` and `python3` in its bin folder): different
 * interpreters as far as the extension can tell, so each folder gets its own server.
 */
function interpreters(): [string, string] {
  const python = serverPython();
  const sibling = join(dirname(python), 'python3');
  return [python, existsSync(sibling) && sibling !== python ? sibling : join(dirname(python), 'python3.11')];
}

function makeWorkspace(dir: string): string {
  const [first, second] = interpreters();
  FOLDERS.forEach((folder, i) => {
    const root = join(dir, folder.name);
    mkdirSync(join(root, '.astra'), { recursive: true });
    mkdirSync(join(root, '.vscode'), { recursive: true });
    writeFileSync(join(root, '.astra', `${folder.store}.jsonl`), `${storeLines(folder.good).join('\n')}\n`);
    // A folder's own setting: read with the folder as scope.
    writeFileSync(join(root, '.vscode', 'settings.json'), JSON.stringify({ 'astra.server.python': i === 0 ? first : second }));
  });
  const file = join(dir, 'two-folders.code-workspace');
  writeFileSync(file, JSON.stringify({ folders: FOLDERS.map((f) => ({ path: f.name })) }));
  return file;
}

/** The Astra output channel's lines, from code-server's logs. */
function astraLog(userDataDir: string): string {
  return filesUnder(join(userDataDir, 'logs'), (n) => n.includes('Astra')).map((p) => readFileSync(p, 'utf8')).join('\n');
}

/** Runs the multi-root checks with `vsix` installed; prints one line per check and returns the counts. */
export async function multiRootChecks(vsix: string, settings: Record<string, unknown>): Promise<{ passed: number; failed: number }> {
  const scratch = mkdtempSync(join(tmpdir(), 'astra-e2e-mr-'));
  const workspaceFile = makeWorkspace(join(scratch, 'workspace'));
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let passed = 0;
  let failed = 0;
  const check = async (name: string, run: () => Promise<void>, wb?: Workbench): Promise<void> => {
    const t0 = Date.now();
    try {
      await run();
      passed += 1;
      console.log(`  ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    } catch (e) {
      failed += 1;
      const shot = join(ARTIFACTS, `multi-root-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-FAILED.png`);
      await wb?.screenshot(shot).catch(() => undefined);
      console.log(`  FAIL ${name} (${((Date.now() - t0) / 1000).toFixed(1)}s)\n       ${(e instanceof Error ? e.message : String(e)).split('\n').slice(0, 6).join('\n       ')}`);
    }
  };
  try {
    installExtension(scratch, vsix);
    writeUserSettings(scratch, settings);
    server = await startCodeServer(scratch, workspaceFile, join(ARTIFACTS, 'code-server-multi-root.log'));
    browser = await launchBrowser();
    const wb = await openWorkbench(browser, `${server.url}/?workspace=${encodeURIComponent(workspaceFile)}`);

    await check('multi-root: each folder\'s store gets its diagnostics from its own server', async () => {
      await wb.runCommand('View: Focus Problems (Errors, Warnings, Infos)');
      await wb.page.locator('.viewpane-filter input, .markers-panel-action-filter input').first().fill('mr-');
      const panel = wb.page.locator('.markers-panel');
      for (const folder of FOLDERS) await panel.filter({ hasText: `${folder.store}.jsonl` }).waitFor({ timeout: 2 * LONG });
      const text = await panel.innerText();
      for (const folder of FOLDERS) {
        if (!new RegExp(`Ln ${folder.malformed}\\b`).test(text)) throw new Error(`no problem on line ${folder.malformed} of ${folder.store}:\n${text}`);
      }
    }, wb);

    for (const folder of FOLDERS) {
      await check(`multi-root: the status bar counts ${folder.name}'s store`, async () => {
        await wb.openFile(`${folder.store}.jsonl`);
        await wb.page.locator('.statusbar-item', { hasText: new RegExp(`${folder.store}: ${folder.good} events?`) }).first()
          .waitFor({ timeout: LONG });
      }, wb);
    }

    await check('multi-root: a command on a store runs on the server of its folder', async () => {
      await wb.openFile(`${FOLDERS[1].store}.jsonl`);
      await wb.runCommand('Astra: Count Events');
      // The palette asks which store: the listing joins both servers' stores.
      await wb.pick(FOLDERS[1].store);
      await wb.notification(new RegExp(`${FOLDERS[1].store}.*${FOLDERS[1].good} event`));
    }, wb);

    await check('multi-root: another interpreter for one folder restarts only that folder\'s server', async () => {
      const log = (): string => astraLog(server?.userDataDir ?? '');
      const other = join(dirname(serverPython()), 'python3.11');
      writeFileSync(join(dirname(workspaceFile), FOLDERS[1].name, '.vscode', 'settings.json'), JSON.stringify({ 'astra.server.python': other }));
      const deadline = Date.now() + LONG;
      while (!log().includes(`Starting ${other} -m astra_ls serve for ${FOLDERS[1].name} `)) {
        if (Date.now() > deadline) throw new Error(`no server started on ${other} for ${FOLDERS[1].name}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const text = log();
      if (!text.includes(`Server stopped (${FOLDERS[1].name})`)) throw new Error(`the old server of ${FOLDERS[1].name} was not stopped`);
      if (text.includes(`Server stopped (${FOLDERS[0].name})`)) throw new Error(`the server of ${FOLDERS[0].name} was stopped too`);
      // The new server serves the folder: its store's problem is listed again.
      await wb.runCommand('View: Focus Problems (Errors, Warnings, Infos)');
      await wb.page.locator('.markers-panel').filter({ hasText: `${FOLDERS[1].store}.jsonl` }).waitFor({ timeout: LONG });
    }, wb);
  } catch (e) {
    failed += 1;
    console.log(`  FAIL multi-root: setting up VS Code: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.stop();
  }
  const log = astraLog(join(scratch, 'data'));
  await check('multi-root: one server per interpreter, each for its folder', () => {
    const starts = log.split('\n').filter((l) => / Starting .* -m astra_ls serve/.test(l));
    for (const folder of FOLDERS) {
      if (!starts.some((l) => l.includes(` for ${folder.name} `))) {
        return Promise.reject(new Error(`no server started for ${folder.name}; starts:\n${starts.join('\n')}`));
      }
    }
    return Promise.resolve();
  });
  writeFileSync(join(ARTIFACTS, 'astra-multi-root.log'), log);
  rmSync(scratch, { recursive: true, force: true });
  return { passed, failed };
}
