/**
 * Trace Decision: the server's trace of an agent decision (context, decision, outcomes, state before and
 * after) as a read-only Markdown document (`astra-trace:` URIs). Opened from the server's code lens.
 */
import * as vscode from 'vscode';
import { ServerCommand, type TraceAnswer } from '../core/protocol';
import { errorText, type ServerSession } from '../server/session';
import { givenStore } from './storePicker';

export const TRACE_SCHEME = 'astra-trace';

export class TraceDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly registration: vscode.Disposable;

  constructor(private readonly session: ServerSession) {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(TRACE_SCHEME, this);
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const query = new URLSearchParams(uri.query);
    const store = query.get('store');
    const line = Number(query.get('line'));
    if (!store || !Number.isInteger(line)) return 'Not an Astra trace address.\n';
    try {
      const answer = await this.session.execute<TraceAnswer>(ServerCommand.traceDecision, { store, line, markdown: true });
      return answer.markdown ?? 'The server answered no document.\n';
    } catch (e) {
      return `The trace could not be computed: ${errorText(e)}\n`;
    }
  }

  /** Code lens from the server: `{store, line}` with a 1-based line. */
  async show(argument?: unknown): Promise<void> {
    const store = givenStore(argument);
    const line = (argument as { line?: unknown } | undefined)?.line;
    if (!store || typeof line !== 'number') {
      void vscode.window.showInformationMessage('Astra: use the "Trace decision" lens on a decision of an agent store.');
      return;
    }
    const query = new URLSearchParams({ store: store.uri, line: String(line) });
    const uri = vscode.Uri.from({ scheme: TRACE_SCHEME, path: `/${store.name}@line-${line}.trace.md`, query: query.toString() });
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
  }

  dispose(): void {
    this.registration.dispose();
  }
}
