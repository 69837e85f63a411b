/**
 * Timeline: a webview with a chart of the active store's events over time, by type. It follows
 * the active store and redraws when the store changes. Clicking a bar (or Enter on it) opens the time-travel
 * debugger at that bucket's start; the page's one script only reports which bar was chosen.
 */
import * as vscode from 'vscode';
import { debounce } from '../core/debounce';
import { ServerCommand, type TimelineAnswer } from '../core/protocol';
import { escapeXml, formatTime, timelineSvg } from '../core/timelineSvg';
import { errorText, type ServerSession } from '../server/session';
import { type ActiveStore, sameUri, type StoreRef } from './activeStore';
import { givenStore, pickStore } from './storePicker';

export class TimelinePanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private store: StoreRef | undefined;
  private readonly disposables: { dispose(): unknown }[];
  private readonly redrawSoon = debounce(() => void this.redraw(), 300);

  constructor(
    private readonly session: ServerSession,
    private readonly active: ActiveStore,
  ) {
    this.disposables = [
      session.onStoreChanged((e) => {
        if (this.store && sameUri(this.store.uri, e.uri)) this.redrawSoon();
      }),
      active.onDidChange((store) => {
        if (this.panel && store && !(this.store && sameUri(this.store.uri, store.uri))) {
          this.store = store;
          void this.redraw();
        }
      }),
    ];
  }

  async show(argument?: unknown): Promise<void> {
    const store = givenStore(argument) ?? this.active.store ?? (await pickStore(this.session, this.active, 'Show Timeline'));
    if (!store) return;
    this.store = store;
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel('astra.timeline', 'Astra Timeline', vscode.ViewColumn.Beside, {
        enableScripts: true,
        retainContextWhenHidden: false,
      });
      this.panel.webview.onDidReceiveMessage((message: { kind?: unknown; timestamp?: unknown }) => {
        if (message.kind === 'open' && typeof message.timestamp === 'number' && Number.isFinite(message.timestamp) && this.store) {
          void vscode.commands.executeCommand('astra-ls.openDebugger', { store: this.store.uri, timestamp: message.timestamp });
        }
      });
      this.panel.onDidDispose(() => {
        this.panel = undefined;
        this.redrawSoon.cancel();
      });
    } else {
      this.panel.reveal(vscode.ViewColumn.Beside, true);
    }
    await this.redraw();
  }

  private async redraw(): Promise<void> {
    const panel = this.panel;
    const store = this.store;
    if (!panel || !store) return;
    panel.title = `Timeline: ${store.name}`;
    const buckets = vscode.workspace.getConfiguration('astra.timeline').get<number>('buckets', 40);
    try {
      const answer = await this.session.execute<TimelineAnswer>(ServerCommand.timeline, { store: store.uri, buckets });
      panel.webview.html = page(store.name, body(answer), nonce());
    } catch (e) {
      panel.webview.html = page(store.name, `<p class="error">The timeline could not be computed: ${escapeXml(errorText(e))}</p>`, nonce());
    }
  }

  dispose(): void {
    this.redrawSoon.cancel();
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

function body(answer: TimelineAnswer): string {
  const total = answer.buckets.reduce((s, b) => s + Object.values(b.byType).reduce((x, n) => x + n, 0), 0);
  if (total === 0 || answer.start === null) {
    return '<p>No timestamped events in this store yet.</p>';
  }
  const span = `${escapeXml(formatTime(answer.start))} – ${escapeXml(formatTime(answer.end ?? answer.start))}`;
  return `<p>${total} events, ${answer.buckets.length} buckets, ${span}. Hover a bar for its counts; click it (or Enter) to open the debugger at its start.</p>\n${timelineSvg(answer)}`;
}

function nonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: 32 }, () => chars.charAt(Math.floor(Math.random() * chars.length))).join('');
}

function page(storeName: string, content: string, scriptNonce: string): string {
  // No remote content; the one script (by nonce) reports the chosen bar.
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'nonce-${scriptNonce}';">
<title>Timeline: ${escapeXml(storeName)}</title>
<style>
  body { color: var(--vscode-foreground); font-family: var(--vscode-font-family); padding: 8px 16px; }
  svg { max-width: 100%; height: auto; }
  .error { color: var(--vscode-errorForeground); }
  rect.bar { cursor: pointer; }
  rect.bar:focus { outline: 1px solid var(--vscode-focusBorder); }
</style></head>
<body><h2>${escapeXml(storeName)}: events over time</h2>
${content}
<script nonce="${scriptNonce}">
  const vscode = acquireVsCodeApi();
  const open = (bar) => vscode.postMessage({ kind: 'open', timestamp: Number(bar.getAttribute('data-start')) });
  document.addEventListener('click', (e) => { const bar = e.target.closest && e.target.closest('rect.bar'); if (bar) open(bar); });
  document.addEventListener('keydown', (e) => {
    const bar = e.target.closest && e.target.closest('rect.bar');
    if (bar && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); open(bar); }
  });
</script>
</body></html>`;
}
