/**
 * Driving the VS Code workbench in the page like a person would: the command palette, quick
 * picks, notifications, editors and the Problems panel. Every wait is for a visible condition.
 */
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { CHROMIUM } from './paths';

/** Waits are generous: the machine is small and shared; a condition ends them early. */
export const LONG = 90_000;
export const SHORT = 20_000;

/** The machine's Chromium, headless, with the flags that keep it off the network. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page showing the workbench at `url`, once it is ready. */
export async function openWorkbench(browser: Browser, url: string): Promise<Workbench> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  // Actions (fill, click) wait as long as conditions do: a busy machine is slow, not wrong.
  page.setDefaultTimeout(LONG);
  await page.goto(url);
  const wb = new Workbench(page);
  await wb.waitReady();
  return wb;
}

export class Workbench {
  constructor(readonly page: Page) {}

  get quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  async waitReady(): Promise<void> {
    await this.page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: LONG });
    await this.page.locator('.explorer-folders-view, .explorer-viewlet').first().waitFor({ timeout: LONG });
  }

  /** Opens the palette and runs the command whose label is `title` (e.g. "Astra: Count Events"). */
  async runCommand(title: string): Promise<void> {
    await this.openQuickInput(`>${title}`);
    const row = this.quickRow(title, true);
    await row.waitFor({ state: 'visible', timeout: LONG });
    await this.page.keyboard.press('Enter');
  }

  /** Opens a workspace file through Quick Open by its file name. */
  async openFile(fileName: string): Promise<void> {
    await this.openQuickInput(fileName);
    await this.quickRow(fileName, false).waitFor({ state: 'visible', timeout: LONG });
    await this.page.keyboard.press('Enter');
    await this.page.locator(`.tab[aria-label^="${fileName}"]`).first().waitFor({ timeout: LONG });
  }

  /** Waits for a quick pick that offers `label`, filters to it and accepts it. */
  async pick(label: string): Promise<void> {
    await this.quickInput.waitFor({ state: 'visible', timeout: LONG });
    const input = this.quickInput.locator('input').first();
    await input.fill(label);
    await this.quickRow(label, false).waitFor({ state: 'visible', timeout: LONG });
    await this.page.keyboard.press('Enter');
  }

  /** A toast whose text matches; returns its text. */
  async notification(pattern: RegExp, timeout = LONG): Promise<string> {
    const toast = this.page.locator('.notifications-toasts .notification-toast', { hasText: pattern }).first();
    await toast.waitFor({ state: 'visible', timeout });
    return (await toast.innerText()).trim();
  }

  async clearNotifications(): Promise<void> {
    await this.runCommand('Notifications: Clear All Notifications');
  }

  /** Replaces the whole text of the focused editor. Typing avoids the clipboard, which headless Chromium lacks. */
  async replaceEditorText(text: string): Promise<void> {
    const editor = this.page.locator('.editor-group-container.active .monaco-editor').first();
    await editor.locator('.view-lines').click();
    await this.page.keyboard.press('Control+A');
    await this.page.keyboard.press('Delete');
    await this.page.keyboard.insertText(text);
  }

  /** The visible text of the active editor's rendered lines. */
  async activeEditorText(): Promise<string> {
    const lines = this.page.locator('.editor-group-container.active .monaco-editor .view-lines').first();
    return (await lines.innerText()).replace(/\u00a0/g, ' ');
  }

  /** Polls the rendered text (spaces render as no-break spaces, which selectors would not match). */
  async waitForActiveEditorText(pattern: RegExp, timeout = LONG): Promise<string> {
    const deadline = Date.now() + timeout;
    let text = '';
    while (Date.now() < deadline) {
      text = await this.activeEditorText().catch(() => '');
      if (pattern.test(text)) return text;
      await this.page.waitForTimeout(250);
    }
    throw new Error(`the active editor never showed ${String(pattern)}; it shows:\n${text.slice(0, 1500)}`);
  }

  async escape(times = 2): Promise<void> {
    for (let i = 0; i < times; i++) await this.page.keyboard.press('Escape');
  }

  /** What blocks or shows in the page, for failure messages: dialogs, quick input, toasts. */
  async describe(): Promise<string> {
    const texts = async (selector: string): Promise<string[]> =>
      this.page.locator(selector).evaluateAll((els) => els.map((el) => (el as HTMLElement).innerText.replace(/\s+/g, ' ').trim()).filter((t) => t !== ''));
    const parts = [
      ...(await texts('.monaco-dialog-box')).map((t) => `dialog "${t}"`),
      ...(await texts('.quick-input-widget:visible')).map((t) => `quick input "${t.slice(0, 200)}"`),
      ...(await texts('.notifications-toasts .notification-toast')).map((t) => `toast "${t.slice(0, 200)}"`),
    ];
    return parts.join('; ');
  }

  async screenshot(path: string): Promise<void> {
    // Notifications and hovers fade in; let them settle so the picture shows what was checked.
    await this.page.waitForTimeout(400);
    await this.page.screenshot({ path });
  }

  private async openQuickInput(text: string): Promise<void> {
    await this.escape();
    const input = this.quickInput.locator('input').first();
    const deadline = Date.now() + LONG;
    // F1 is lost when focus sits inside a webview's frame: focus the active tab and press again.
    for (;;) {
      await this.page.keyboard.press('F1');
      try {
        await input.waitFor({ state: 'visible', timeout: 5_000 });
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await this.page.locator('.editor-group-container.active .tab.active').first().click({ timeout: 5_000 }).catch(() => undefined);
      }
    }
    await input.fill(text);
  }

  /** A quick pick row by its label; `exact` for command titles, which other commands may extend. */
  private quickRow(label: string, exact: boolean): Locator {
    const rows = this.quickInput.locator('.monaco-list-row');
    if (!exact) return rows.filter({ hasText: label }).first();
    return rows.filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(label)}$`) }) }).first();
  }
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
