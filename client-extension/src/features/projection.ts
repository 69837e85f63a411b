/**
 * Projections as read-only virtual documents (`astra-projection:` URIs): the state after the
 * last event, or after a given line (time travel). Open documents refresh when their store
 * changes.
 */
import * as vscode from 'vscode';
import { type ProjectAnswer, ServerCommand } from '../core/protocol';
import { errorText, type ServerSession } from '../server/session';
import { type ActiveStore, sameUri, storeAtCursor, type StoreRef } from './activeStore';
import { givenStore, pickStore } from './storePicker';

export const PROJECTION_SCHEME = 'astra-projection';

/** `astra-projection:/conversation.projection.jsonc?store=<uri>[&line=N]`. */
export function projectionUri(store: StoreRef, line?: number): vscode.Uri {
  const query = new URLSearchParams({ store: store.uri });
  if (line !== undefined) query.set('line', String(line));
  const name = line === undefined ? `${store.name}.projection.jsonc` : `${store.name}@line-${line}.projection.jsonc`;
  return vscode.Uri.from({ scheme: PROJECTION_SCHEME, path: `/${name}`, query: query.toString() });
}

function parseProjectionUri(uri: vscode.Uri): { store: string; line: number | undefined } | undefined {
  const query = new URLSearchParams(uri.query);
  const store = query.get('store');
  if (!store) return undefined;
  const line = query.get('line');
  return { store, line: line === null ? undefined : Number(line) };
}

export class ProjectionDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: { dispose(): unknown }[];

  constructor(
    private readonly session: ServerSession,
    private readonly active: ActiveStore,
  ) {
    this.disposables = [
      this.changed,
      vscode.workspace.registerTextDocumentContentProvider(PROJECTION_SCHEME, this),
      session.onStoreChanged((e) => this.refresh(e.uri)),
      // A restarted server may see different data (e.g. after trust was granted): reload everything.
      session.onDidStart(() => this.refresh(undefined)),
    ];
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const target = parseProjectionUri(uri);
    if (!target) return '// Not an Astra projection address.\n';
    try {
      const answer =
        target.line === undefined
          ? await this.session.execute<ProjectAnswer>(ServerCommand.project, { store: target.store })
          : await this.session.execute<ProjectAnswer>(ServerCommand.projectAt, { store: target.store, line: target.line });
      const where = target.line === undefined ? 'after the last event' : `after line ${answer.line}`;
      const header = `// Projected state of ${vscode.workspace.asRelativePath(vscode.Uri.parse(target.store))} ${where} (${answer.events} events). Read-only; refreshes when the store changes.\n`;
      return header + JSON.stringify(answer.state, null, 2) + '\n';
    } catch (e) {
      return `// The projection could not be computed: ${errorText(e)}\n`;
    }
  }

  /** Palette command: the live projection of a store, beside the editor. */
  async show(argument?: unknown): Promise<void> {
    const store = await pickStore(this.session, this.active, 'Show Projection', argument);
    if (!store) return;
    await this.open(projectionUri(store));
  }

  /** Palette command: the state after the cursor's line of the active store. */
  async showAtCursor(): Promise<void> {
    const at = storeAtCursor();
    if (at) await this.open(projectionUri(at.store, at.line));
  }

  /** Hover link from the server: `{store, line}` with a 1-based line. */
  async showAtLine(argument?: unknown): Promise<void> {
    const store = givenStore(argument);
    const line = (argument as { line?: unknown } | undefined)?.line;
    if (!store || typeof line !== 'number') {
      await this.showAtCursor();
      return;
    }
    await this.open(projectionUri(store, line));
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  private async open(uri: vscode.Uri): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: false });
  }

  private refresh(storeUri: string | undefined): void {
    for (const doc of vscode.workspace.textDocuments) {
      if (doc.uri.scheme !== PROJECTION_SCHEME) continue;
      const target = parseProjectionUri(doc.uri);
      if (target && (storeUri === undefined || sameUri(target.store, storeUri))) {
        this.changed.fire(doc.uri);
      }
    }
  }
}
