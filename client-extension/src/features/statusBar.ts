/**
 * Status bar item for the active store: its event and problem counts, kept current by the
 * server's `astra/storeChanged` notifications.
 */
import * as vscode from 'vscode';
import { type ListStoresAnswer, ServerCommand } from '../core/protocol';
import { formatStatus } from '../core/summaries';
import type { ServerSession } from '../server/session';
import type { ActiveStore } from './activeStore';

interface Counts { events: number; problems: number }

export class StoreStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('astra.store', vscode.StatusBarAlignment.Left, 50);
  /** Counts by canonical store URI. */
  private readonly counts = new Map<string, Counts>();
  private readonly disposables: { dispose(): unknown }[];

  constructor(
    private readonly session: ServerSession,
    private readonly active: ActiveStore,
  ) {
    this.item.name = 'Astra Store';
    this.item.command = 'astra-ls.showTimeline';
    this.disposables = [
      this.item,
      active.onDidChange(() => this.render()),
      session.onStoreChanged((e) => {
        this.counts.set(canonical(e.uri), { events: e.events, problems: e.problems });
        this.render();
      }),
      session.onDidStart(() => void this.reload()),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('astra.statusBar') && this.render()),
    ];
  }

  /** Fills the cache from `astra.listStores`; notifications keep it current afterwards. */
  async reload(): Promise<void> {
    try {
      const answer = await this.session.execute<ListStoresAnswer>(ServerCommand.listStores, {});
      for (const s of answer.stores) this.counts.set(canonical(s.uri), { events: s.events, problems: s.problems });
    } catch {
      // The status bar is a convenience: a failed listing leaves it as it was.
    }
    this.render();
  }

  private render(): void {
    const store = this.active.store;
    const enabled = vscode.workspace.getConfiguration('astra.statusBar').get<boolean>('enabled', true);
    const counts = store && this.counts.get(canonical(store.uri));
    if (!enabled || !store || !counts) {
      this.item.hide();
      return;
    }
    this.item.text = formatStatus(store.name, counts.events, counts.problems);
    this.item.tooltip = `Astra store ${store.name}: ${counts.events} events, ${counts.problems} problems. Click for its timeline.`;
    this.item.backgroundColor = counts.problems > 0 ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function canonical(uri: string): string {
  return vscode.Uri.parse(uri).toString();
}
