/**
 * Show Event: the event under the cursor pretty-printed in a read-only document (`astra-event:` URIs),
 * its problems listed above it. The store's line is not touched: problems keep pointing at its exact bytes.
 */
import * as vscode from 'vscode';
import { ServerCommand, type ShowEventAnswer } from '../core/protocol';
import { errorText, type ServerSession } from '../server/session';
import { storeAtCursor } from './activeStore';

export const EVENT_SCHEME = 'astra-event';

export class EventDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly registration: vscode.Disposable;

  constructor(private readonly session: ServerSession) {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(EVENT_SCHEME, this);
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const query = new URLSearchParams(uri.query);
    const store = query.get('store');
    const line = Number(query.get('line'));
    if (!store || !Number.isInteger(line)) return '// Not an Astra event address.\n';
    try {
      const shown = await this.session.execute<ShowEventAnswer>(ServerCommand.showEvent, { store, line });
      const header = [`// Line ${line} of ${vscode.workspace.asRelativePath(vscode.Uri.parse(store))} (read-only)`];
      for (const problem of shown.problems) header.push(`// ${String(problem.code)}: ${String(problem.message)}`);
      const body = shown.event === null ? `// Not a JSON object; the line as stored:\n${shown.text}` : JSON.stringify(shown.event, null, 2);
      return `${header.join('\n')}\n${body}\n`;
    } catch (e) {
      return `// The event could not be read: ${errorText(e)}\n`;
    }
  }

  async showAtCursor(): Promise<void> {
    const at = storeAtCursor();
    if (!at) return;
    const { store, line } = at;
    const uri = vscode.Uri.from({ scheme: EVENT_SCHEME, path: `/${store.name}@line-${line}.jsonc`,
      query: new URLSearchParams({ store: store.uri, line: String(line) }).toString() });
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
  }

  dispose(): void {
    this.registration.dispose();
  }
}
