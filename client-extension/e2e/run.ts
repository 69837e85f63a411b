/**
 * End-to-end test in a real VS Code (code-server) driven by Chromium: installs the built .vsix,
 * opens a copy of the example workspace, and checks what a user sees. Prints one line per check
 * and a final "N passed, N failed" line; exits non-zero if any check failed.
 */
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, FrameLocator, Locator } from 'playwright-core';
import { type CodeServer, filesUnder, installExtension, startCodeServer, writeUserSettings } from './codeServer';
import {
  EXTERNAL_CONTENT, EXTERNAL_EVENT, HOVER_TEXT, INVALID_EVENT, LINKS_STORE, makeWorkspace, MALFORMED_LINE, readLines,
  STORE, STORE_LINES, UNOPENED_STORE, VALID_CONTENT, VALID_EVENT,
} from './fixture';
import { multiRootChecks } from './multiRoot';
import { ARTIFACTS, SCREENSHOTS, EXTENSION_ROOT, missingTools, serverPython } from './paths';
import { escapeRegExp, launchBrowser, LONG, openWorkbench, SHORT, type Workbench } from './workbench';

interface Check {
  name: string;
  run: (wb: Workbench) => Promise<void>;
  /** When a gate fails the later checks cannot mean anything: they are skipped, not waited out. */
  gate?: boolean;
}

function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Polls a condition on disk (the store file) until it holds or the time is up. */
async function eventually(what: string, test: () => boolean, timeout = LONG): Promise<void> {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (test()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

/** The page of the one webview shown (the debugger, the timeline): an iframe holding the extension's page in its own frame. */
function webviewPage(wb: Workbench): FrameLocator {
  return wb.page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
}

/** Polls a value read from the page until it satisfies `test`; the error says what was last seen. */
async function until<T>(what: string, read: () => Promise<T>, test: (value: T) => boolean, timeout = LONG): Promise<T> {
  const deadline = Date.now() + timeout;
  let value: T | undefined;
  for (;;) {
    value = await read().catch(() => undefined);
    if (value !== undefined && test(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    await sleep(250);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The status bar's cursor position ("Ln 4, Col 1"). */
function cursorLine(wb: Workbench, line: number): Locator {
  return wb.page.locator('.statusbar-item', { hasText: new RegExp(`Ln ${line},`) }).first();
}

/** The highlighted line number of the store's editor: where its cursor is, also while a panel has focus. */
function activeLineNumber(wb: Workbench, line: number): Locator {
  return wb.page.locator('.monaco-editor .line-numbers.active-line-number', { hasText: new RegExp(`^${line}$`) }).first();
}

/** For the README's pictures: the bottom panel hidden (Ctrl+J toggles it), the editor at the line's start. */
async function framedForPicture(wb: Workbench): Promise<void> {
  if (await wb.page.locator('.part.panel.bottom').isVisible().catch(() => false)) await wb.page.keyboard.press('Control+J');
  await wb.page.waitForTimeout(800);
}

function checks(storePath: string): Check[] {
  return [
    {
      name: TARGET
        ? `the ${TARGET} VSIX installs its server offline, starts it and underlines the malformed line`
        : 'server starts and underlines the malformed line in the editor',
      gate: true,
      run: async (wb) => {
        await wb.openFile(`${STORE}.jsonl`);
        // Installing from the shipped wheels (numpy, pydantic-core, ...) comes first with a platform VSIX.
        await wb.page.locator('.editor-group-container.active .monaco-editor .squiggly-error').first()
          .waitFor({ state: 'attached', timeout: TARGET ? 4 * LONG : LONG });
      },
    },
    {
      name: 'Problems panel lists the open store and the unopened one',
      run: async (wb) => {
        await wb.runCommand('View: Focus Problems (Errors, Warnings, Infos)');
        // Narrow the list to the test's stores: the example stores have problems of their own.
        await wb.page.locator('.viewpane-filter input, .markers-panel-action-filter input').first().fill('e2e');
        const panel = wb.page.locator('.markers-panel');
        await panel.filter({ hasText: `${STORE}.jsonl` }).waitFor({ timeout: LONG });
        await panel.filter({ hasText: `${UNOPENED_STORE}.jsonl` }).waitFor({ timeout: LONG });
        const text = await panel.innerText();
        expect(new RegExp(`Ln ${MALFORMED_LINE}\\b`).test(text), `no problem on line ${MALFORMED_LINE} in the Problems panel:\n${text}`);
      },
    },
    {
      name: 'status bar shows the active store',
      run: async (wb) => {
        await wb.openFile(`${STORE}.jsonl`);
        await wb.page.locator('.statusbar-item', { hasText: new RegExp(`${STORE}: 3 events`) }).first().waitFor({ timeout: LONG });
      },
    },
    {
      name: 'hover previews the projected state',
      run: async (wb) => {
        await wb.openFile(`${STORE}.jsonl`);
        // The value's own token: the line's centre may fall on an inlay hint, which has no state hover.
        const target = wb.page.locator('.editor-group-container.active .view-line span[class*="mtk"]', { hasText: HOVER_TEXT }).first();
        const hover = wb.page.locator('.monaco-hover:visible', { hasText: 'u-e2e' }).first();
        const deadline = Date.now() + LONG;
        // The first hover may come before the server has read the store: move away and back until it shows.
        for (;;) {
          await wb.page.mouse.move(5, 5);
          await target.hover();
          try {
            await hover.waitFor({ state: 'visible', timeout: 5_000 });
            return;
          } catch (e) {
            if (Date.now() > deadline) {
              const hovers = await wb.page.locator('.monaco-hover').evaluateAll((els) => els.map((el) => `${el.getAttribute('class') ?? ""}: ${(el as HTMLElement).innerText.slice(0, 300)}`));
              throw new Error(`${e instanceof Error ? e.message.split('\n')[0] : String(e)}; hovers in the page: ${JSON.stringify(hovers)}`);
            }
          }
        }
      },
    },
    {
      name: 'Append Event refuses an invalid event and writes nothing',
      run: async (wb) => {
        await wb.runCommand('Astra: Append Event');
        await wb.pick(STORE);
        await wb.pick('UserMessageSent');
        await wb.waitForActiveEditorText(/UserMessageSent event for conversation-e2e/);
        await wb.replaceEditorText(INVALID_EVENT);
        await wb.runCommand('Astra: Append This Event Draft');
        await wb.notification(/event refused, nothing was written/);
        await wb.page.locator('.editor-group-container.active .monaco-editor .squiggly-error').first().waitFor({ state: 'attached', timeout: SHORT });
        expect(readLines(storePath).length === STORE_LINES.length, 'the store changed although the event was refused');
      },
    },
    {
      name: 'Append Event writes a valid event',
      run: async (wb) => {
        await wb.replaceEditorText(VALID_EVENT);
        await wb.runCommand('Astra: Append This Event Draft');
        await wb.notification(new RegExp(`appended UserMessageSent to ${STORE} at line ${STORE_LINES.length + 1}`));
        await eventually('the valid event on disk', () => {
          const lines = readLines(storePath);
          return lines.length === STORE_LINES.length + 1 && (lines.at(-1) ?? '').includes(VALID_CONTENT);
        });
      },
    },
    {
      name: 'Count Events reports counts per type',
      run: async (wb) => {
        await wb.clearNotifications();
        await wb.runCommand('Astra: Count Events');
        await wb.pick(STORE);
        const text = await wb.notification(new RegExp(`${STORE}: 4 events`));
        expect(text.includes('UserMessageSent 2'), `unexpected counts: ${text}`);
      },
    },
    {
      name: 'Show Projection opens the projected state',
      run: async (wb) => {
        await wb.runCommand('Astra: Show Projection');
        await wb.pick(STORE);
        await wb.page.locator(`.tab[aria-label^="${STORE}.projection.jsonc"]`).first().waitFor({ timeout: LONG });
        const text = await wb.waitForActiveEditorText(/u-e2e/);
        expect(text.includes(VALID_CONTENT), `the projection lacks the appended event:\n${text}`);
      },
    },
    {
      name: 'projection refreshes when the store changes on disk',
      run: async (wb) => {
        appendFileSync(storePath, `${EXTERNAL_EVENT}\n`);
        await wb.waitForActiveEditorText(new RegExp(escapeRegExp(EXTERNAL_CONTENT)));
      },
    },
    {
      name: 'Show State at Cursor travels back to the cursor line',
      run: async (wb) => {
        await wb.openFile(`${STORE}.jsonl`);
        await wb.page.locator('.editor-group-container.active .view-line span[class*="mtk"]', { hasText: HOVER_TEXT }).first().click();
        await wb.runCommand('Astra: Show State at Cursor');
        await wb.page.locator(`.tab[aria-label^="${STORE}@line-2.projection.jsonc"]`).first().waitFor({ timeout: LONG });
        const text = await wb.waitForActiveEditorText(new RegExp(escapeRegExp(HOVER_TEXT)));
        expect(!text.includes(VALID_CONTENT), `the state at line 2 contains a later event:\n${text}`);
      },
    },
    {
      name: 'Query Events lists matches and jumps to the chosen line',
      run: async (wb) => {
        await wb.runCommand('Astra: Query Events');
        await wb.pick(STORE);
        await wb.pick('UserMessageSent');
        await wb.quickInput.filter({ hasText: 'Optional conditions' }).waitFor({ timeout: LONG });
        await wb.page.keyboard.press('Enter');
        await wb.quickInput.filter({ hasText: 'Optional time range' }).waitFor({ timeout: LONG });
        await wb.page.keyboard.press('Enter');
        await wb.quickInput.filter({ hasText: `3 events in ${STORE}` }).waitFor({ timeout: LONG });
        await wb.pick(`line ${STORE_LINES.length + 1}`);
        await wb.page.locator('.statusbar-item', { hasText: new RegExp(`Ln ${STORE_LINES.length + 1},`) }).first().waitFor({ timeout: LONG });
      },
    },
    {
      name: 'Show Timeline draws the events by type',
      run: async (wb) => {
        await wb.runCommand('View: Close All Editor Groups');
        await wb.openFile(`${STORE}.jsonl`);
        await wb.runCommand('Astra: Show Timeline');
        await wb.page.locator('.tab', { hasText: `Timeline: ${STORE}` }).first().waitFor({ timeout: LONG });
        const view = wb.page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
        await view.locator('svg rect.bar').first().waitFor({ timeout: LONG });
        const types = await view.locator('svg rect.bar').evaluateAll((els) => [...new Set(els.map((e) => e.getAttribute('data-type')))]);
        expect(types.includes('UserMessageSent') && types.includes('ConversationStarted'), `bars for ${JSON.stringify(types)}`);
      },
    },
    {
      name: 'Quarantine moves the malformed line out of the store',
      run: async (wb) => {
        // The timeline's webview can keep keyboard focus inside its frame; close it before typing into pickers.
        await wb.runCommand('View: Close All Editor Groups');
        await wb.runCommand('Astra: Quarantine Malformed Lines');
        await wb.pick(STORE);
        await wb.page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Quarantine' }).first().click({ timeout: LONG });
        await wb.notification(/moved 1 line/);
        await eventually('the malformed line gone from the store', () => !readLines(storePath).some((l) => l.includes('cut short')));
        // The server's astra/storeChanged notification updates the status bar.
        const item = wb.page.locator('.statusbar-item', { hasText: `${STORE}:` }).first();
        try {
          await item.filter({ hasText: new RegExp(`${STORE}: 5 events\\s*$`) }).waitFor({ timeout: LONG });
        } catch {
          const shown = (await item.innerText().catch(() => '')).replace(/\s+/g, ' ').trim();
          throw new Error(`the status bar still shows "${shown}": no astra/storeChanged with the new counts arrived after astra.quarantine`);
        }
      },
    },
    {
      name: 'Restart Server brings the server back',
      run: async (wb) => {
        await wb.clearNotifications();
        await wb.runCommand('Astra: Restart Server');
        await wb.runCommand('Astra: Count Events');
        await wb.pick(STORE);
        await wb.notification(new RegExp(`${STORE}: 5 events`));
      },
    },
    {
      name: 'the time-travel debugger opens at the cursor and steps with its Next button and the keyboard',
      run: async (wb) => {
        await wb.clearNotifications();
        await wb.runCommand('View: Close All Editor Groups');
        await wb.openFile(`${STORE}.jsonl`);
        await wb.page.locator('.editor-group-container.active .view-line', { hasText: 'ConversationStarted' }).first().click();
        await wb.runCommand('Astra: Open Time-Travel Debugger');
        const view = webviewPage(wb);
        await view.locator('#status').filter({ hasText: `${STORE}: line 1 of 5` }).waitFor({ timeout: LONG });
        await view.locator('#next').click();
        await view.locator('#status').filter({ hasText: `${STORE}: line 2 of 5` }).waitFor({ timeout: LONG });
        // The step added a message: the tree marks what changed, and that holds the message's text.
        const changed = view.locator('#state li.changed');
        await changed.first().waitFor({ timeout: LONG });
        const texts = await changed.evaluateAll((els) => els.map((e) => (e as HTMLElement).innerText));
        expect(texts.some((t) => t.includes(HOVER_TEXT)), `no highlighted change holds the new message: ${JSON.stringify(texts)}`);
        expect((await view.locator('#changes').innerText()).includes('change'), 'the heading does not count the changes');
        expect((await view.locator('#event').innerText()).includes(HOVER_TEXT), 'the event pane does not show the event at line 2');
        // Moving the scrubber moves the editor's cursor to the line (the status bar hides Ln/Col while the
        // panel has focus: read the editor's active line number).
        await activeLineNumber(wb, 2).waitFor({ timeout: LONG });
        // The keyboard steps too (focus is in the page after the click).
        await wb.page.keyboard.press('ArrowRight');
        await view.locator('#status').filter({ hasText: `${STORE}: line 3 of 5` }).waitFor({ timeout: LONG });
        await wb.page.keyboard.press('End');
        await view.locator('#status').filter({ hasText: `${STORE}: line 5 of 5` }).waitFor({ timeout: LONG });
        await wb.page.keyboard.press('Home');
        await view.locator('#status').filter({ hasText: `${STORE}: line 1 of 5` }).waitFor({ timeout: LONG });
      },
    },
    {
      name: 'the debugger follows the editor cursor',
      run: async (wb) => {
        await wb.page.locator('.monaco-editor .view-line', { hasText: VALID_CONTENT }).first().click();
        await wb.page.keyboard.press('Home');
        const view = webviewPage(wb);
        await until('the scrubber at line 4', () => view.locator('#scrubber').inputValue(), (v) => v === '4');
        await view.locator('#status').filter({ hasText: `${STORE}: line 4 of 5` }).waitFor({ timeout: LONG });
        await framedForPicture(wb);
        await wb.page.screenshot({ path: join(SCREENSHOTS, 'debugger.png') });
      },
    },
    {
      name: 'Go to Definition on a parentUuid lands on the parent event',
      run: async (wb) => {
        await wb.runCommand('View: Close All Editor Groups');
        await wb.openFile(`${LINKS_STORE}.jsonl`);
        // Line 3 ("act") names its parent evt-plan-e2e, which is line 2.
        const line = wb.page.locator('.editor-group-container.active .view-line', { hasText: '"act"' }).first();
        await line.locator('span[class*="mtk"]', { hasText: 'evt-plan-e2e' }).first().click();
        await cursorLine(wb, 3).waitFor({ timeout: LONG });
        const deadline = Date.now() + LONG;
        // The server may still be reading the new store: press again until the cursor moves.
        for (;;) {
          await wb.page.keyboard.press('F12');
          try {
            await cursorLine(wb, 2).waitFor({ timeout: 5_000 });
            break;
          } catch (e) {
            if (Date.now() > deadline) throw e;
            await line.locator('span[class*="mtk"]', { hasText: 'evt-plan-e2e' }).first().click();
          }
        }
      },
    },
    {
      name: 'Compare States… opens a diff of two states',
      run: async (wb) => {
        await wb.runCommand('View: Close All Editor Groups');
        await wb.openFile(`${STORE}.jsonl`);
        await wb.runCommand('Astra: Compare States…');
        await wb.pick(STORE);
        for (const point of ['1', '4']) {
          const input = wb.quickInput.locator('input').first();
          await wb.quickInput.filter({ hasText: point === '1' ? 'the earlier state' : 'the later state' }).waitFor({ timeout: LONG });
          await input.fill(point);
          await wb.page.keyboard.press('Enter');
        }
        await wb.page.locator('.tab', { hasText: '↔' }).first().waitFor({ timeout: LONG });
        const diff = wb.page.locator('.editor-group-container.active .monaco-diff-editor').first();
        await diff.waitFor({ timeout: LONG });
        await until('the diff to show the later message', () => diff.innerText(), (t) => t.replace(/\u00a0/g, ' ').includes(VALID_CONTENT));
        await framedForPicture(wb);
        await wb.page.screenshot({ path: join(SCREENSHOTS, 'compare-states.png') });
      },
    },
    {
      name: 'clicking a timeline bar opens the debugger at that time',
      run: async (wb) => {
        await wb.runCommand('View: Close All Editor Groups');
        await wb.openFile(`${STORE}.jsonl`);
        await wb.page.locator('.editor-group-container.active .view-line', { hasText: 'ConversationStarted' }).first().click();
        await wb.runCommand('Astra: Show Timeline');
        const timeline = webviewPage(wb);
        // The last bucket starts after the event at line 4 and before the one at line 5.
        await timeline.locator('svg rect.bar').last().click();
        await wb.page.locator('.tab', { hasText: `Debugger: ${STORE}` }).first().waitFor({ timeout: LONG });
        await activeLineNumber(wb, 4).waitFor({ timeout: LONG });
      },
    },
    {
      name: 'Show Event opens the event under the cursor pretty-printed',
      run: async (wb) => {
        await wb.runCommand('View: Close All Editor Groups');
        await wb.openFile(`${STORE}.jsonl`);
        await wb.page.locator('.editor-group-container.active .view-line', { hasText: HOVER_TEXT }).first().click();
        await wb.runCommand('Astra: Show Event');
        await wb.page.locator(`.tab[aria-label^="${STORE}@line-2.jsonc"]`).first().waitFor({ timeout: LONG });
        await wb.waitForActiveEditorText(new RegExp(`"content": "${escapeRegExp(HOVER_TEXT)}"`));
      },
    },
  ];
}

/** ASTRA_E2E_TARGET=linux-x64 tests that platform's VSIX, whose server installs itself from the shipped wheels. */
const TARGET = process.env.ASTRA_E2E_TARGET;
/** ASTRA_E2E_ONLY=multi-root runs only the multi-root window (e.g. while working on it). */
const ONLY = process.env.ASTRA_E2E_ONLY;

function findVsix(): string {
  const pattern = TARGET ? new RegExp(`^astra-ls-${escapeRegExp(TARGET)}-\\d.*\\.vsix$`) : /^astra-ls-\d.*\.vsix$/;
  const name = readdirSync(EXTENSION_ROOT).find((f) => pattern.test(f));
  if (!name) throw new Error(`no ${TARGET ?? 'universal'} .vsix in client-extension/: run \`npm run package${TARGET ? ` -- --target ${TARGET}` : ''}\` first`);
  return join(EXTENSION_ROOT, name);
}

/** Keeps code-server's logs (the extension host and the Astra output channel) for diagnosis. */
function keepLogs(userDataDir: string): void {
  const logs = join(userDataDir, 'logs');
  if (existsSync(logs)) cpSync(logs, join(ARTIFACTS, 'logs'), { recursive: true });
}

/** Playwright's errors carry a long call log; the first lines say what was expected. */
function firstLines(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const lines = text.split('\n');
  const cut = lines.findIndex((l) => l.startsWith('Call log:'));
  return (cut >= 0 ? lines.slice(0, cut) : lines.slice(0, 12)).join('\n       ');
}

function logFiles(match: (name: string) => boolean): string[] {
  return filesUnder(join(ARTIFACTS, 'logs'), match);
}

/** Activation errors of the extension, as the extension host logged them. */
function extensionHostErrors(): string {
  const out: string[] = [];
  for (const file of logFiles((n) => n === 'remoteexthost.log')) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.includes('[error]') && /astra/i.test(line)) out.push(...lines.slice(i, i + 3));
    });
  }
  return out.join('\n');
}

function astraLog(): string {
  return logFiles((n) => n.includes('Astra'))
    .map((p) => readFileSync(p, 'utf8'))
    .join('\n');
}

/** The settings every run writes for the user: a quiet window, typed text kept as typed. */
function userSettings(): Record<string, unknown> {
  return {
    // A platform VSIX is tested as a user gets it: no interpreter named, so it sets its server up offline.
    ...(TARGET ? {} : { 'astra.server.python': serverPython() }),
    // The protocol trace lands in the kept logs: a failed check can be traced to a request.
    'astra.trace.server': 'verbose',
    'workbench.startupEditor': 'none',
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.ignoreRecommendations': true,
    'workbench.tips.enabled': false,
    'editor.hover.delay': 200,
    // Typed drafts must arrive as typed: no auto-closing, no suggestions accepted by Enter.
    'editor.autoClosingBrackets': 'never',
    'editor.autoClosingQuotes': 'never',
    'editor.autoSurround': 'never',
    'editor.quickSuggestions': { other: false, comments: false, strings: false },
    'editor.suggestOnTriggerCharacters': false,
    'editor.acceptSuggestionOnEnter': 'off',
    'editor.minimap.enabled': false,
    'workbench.editor.enablePreview': false,
    'security.workspace.trust.enabled': false,
    // Keep the window to the editor and panels the checks read.
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
  };
}

async function main(): Promise<number> {
  const started = Date.now();
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
  const missing = missingTools();
  if (missing.length > 0) {
    console.error(`e2e: missing ${missing.join(', ')}. Run: bash scripts/e2e-setup.sh (and provide the server's venv)`);
    console.log('e2e: 0 passed, 1 failed');
    return 1;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'astra-e2e-'));
  const workspace = join(scratch, 'workspace');
  const { storePath } = makeWorkspace(workspace);
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  try {
    installExtension(scratch, findVsix());
    writeUserSettings(scratch, userSettings());
    server = await startCodeServer(scratch, workspace, join(ARTIFACTS, 'code-server.log'));
    browser = await launchBrowser();
    const wb = await openWorkbench(browser, `${server.url}/?folder=${encodeURIComponent(workspace)}`);
    let n = 0;
    let gateFailed = false;
    for (const check of ONLY === 'multi-root' ? [] : checks(storePath)) {
      n += 1;
      if (gateFailed) {
        skipped += 1;
        console.log(`  SKIP ${check.name}`);
        continue;
      }
      const shot = join(ARTIFACTS, `${String(n).padStart(2, '0')}-${check.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`);
      const t0 = Date.now();
      try {
        await check.run(wb);
        await wb.screenshot(`${shot}.png`);
        passed += 1;
        console.log(`  ok   ${check.name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
      } catch (e) {
        failed += 1;
        gateFailed = check.gate === true;
        await wb.screenshot(`${shot}-FAILED.png`).catch(() => undefined);
        console.log(`  FAIL ${check.name} (${((Date.now() - t0) / 1000).toFixed(1)}s)\n       ${firstLines(e)}`);
        const state = await wb.describe().catch(() => '');
        if (state) console.log(`       page: ${state}`);
      }
    }
  } catch (e) {
    failed += 1;
    console.log(`  FAIL setting up VS Code: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    keepLogs(join(scratch, 'data'));
    rmSync(scratch, { recursive: true, force: true });
  }
  if (failed > 0) {
    const errors = extensionHostErrors();
    if (errors) console.log(`--- extension host errors about astra ---\n${errors}`);
    // The protocol trace is in the kept logs; here only the extension's own lines and errors.
    const log = astraLog().split('\n').filter((l) => /^\d{4}-\d\d-\d\d /.test(l) && !l.includes('[Trace') && !/\] (Params|Result): /.test(l));
    if (log.length > 0) console.log(`--- Astra output channel (last 20 entries) ---\n${log.slice(-20).join('\n')}`);
  }
  // A second window: a two-folder workspace whose folders name different interpreters.
  if (!ONLY || ONLY === 'multi-root') {
    const counts = await multiRootChecks(findVsix(), userSettings()).catch((e: unknown) => {
      console.log(`  FAIL multi-root: ${e instanceof Error ? e.message : String(e)}`);
      return { passed: 0, failed: 1 };
    });
    passed += counts.passed;
    failed += counts.failed;
  }
  console.log(`e2e: screenshots and logs in ${ARTIFACTS}; took ${((Date.now() - started) / 1000).toFixed(1)}s`);
  console.log(`e2e: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
  return failed > 0 ? 1 : 0;
}

process.exit(await main());
