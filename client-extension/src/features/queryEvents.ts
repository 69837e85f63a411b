/**
 * Query Events: filter a store by type and field values; pick a result to jump to its line.
 */
import * as vscode from 'vscode';
import { type QueryAnswer, type SchemaAnswer, ServerCommand } from '../core/protocol';
import { parseWhere, queryPickItem } from '../core/summaries';
import type { ServerSession } from '../server/session';
import type { ActiveStore } from './activeStore';
import { pickStore } from './storePicker';

/** Enough to browse; the title says when there are more. */
const RESULT_LIMIT = 1000;

export async function queryEvents(session: ServerSession, active: ActiveStore, argument?: unknown): Promise<void> {
  const store = await pickStore(session, active, 'Query Events', argument);
  if (!store) return;
  let types: string[] = [];
  try {
    types = (await session.execute<SchemaAnswer>(ServerCommand.schemaFor, { store: store.uri })).types.map((t) => t.name);
  } catch {
    // A store without a schema can still be queried by field values.
  }
  const anyType = '$(list-flat) Any type';
  const typePick = await vscode.window.showQuickPick([anyType, ...types], { title: `Astra: Query ${store.name}`, placeHolder: 'Event type' });
  if (typePick === undefined) return;
  const whereText = await vscode.window.showInputBox({
    title: `Astra: Query ${store.name}`,
    prompt: 'Optional filters as path=value (e.g. payload.role=user, ok=false); leave empty for all events',
    validateInput: (v) => (typeof parseWhere(v) === 'string' ? (parseWhere(v) as string) : undefined),
  });
  if (whereText === undefined) return;
  const where = parseWhere(whereText);
  const request: Record<string, unknown> = { store: store.uri, limit: RESULT_LIMIT };
  if (typePick !== anyType) request.type = typePick;
  if (typeof where === 'object' && Object.keys(where).length > 0) request.where = where;
  const answer = await session.execute<QueryAnswer>(ServerCommand.query, request);
  if (answer.events.length === 0) {
    void vscode.window.showInformationMessage(`Astra: no events in ${store.name} match.`);
    return;
  }
  const shown = answer.total > answer.events.length ? `first ${answer.events.length} of ${answer.total}` : `${answer.total}`;
  const picked = await vscode.window.showQuickPick(answer.events.map(queryPickItem), {
    title: `Astra: ${shown} events in ${store.name}`,
    placeHolder: 'Pick an event to go to its line',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (!picked) return;
  const editor = await vscode.window.showTextDocument(vscode.Uri.parse(store.uri));
  const line = editor.document.lineAt(Math.min(picked.line - 1, editor.document.lineCount - 1));
  editor.selection = new vscode.Selection(line.range.start, line.range.end);
  editor.revealRange(line.range, vscode.TextEditorRevealType.InCenter);
}
