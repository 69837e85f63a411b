/**
 * Query Events: filter a store by type, time range and field conditions; pick a result to jump to its line.
 */
import * as vscode from 'vscode';
import { type QueryAnswer, type SchemaAnswer, ServerCommand } from '../core/protocol';
import { parseTimeRange, queryPickItem, splitConditions } from '../core/summaries';
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
    prompt: 'Optional conditions separated by ";": path=value, path!=value, path>=3, path exists, path in a,b '
      + '(a key with dots in quotes: metadata."a.b/c"=x); leave empty for all events',
  });
  if (whereText === undefined) return;
  const rangeText = await vscode.window.showInputBox({
    title: `Astra: Query ${store.name}`,
    prompt: 'Optional time range FROM..TO (ISO 8601 or epoch ms, inclusive; a side may be empty)',
    placeHolder: '2026-03-04T22:00Z..2026-03-04T23:00Z',
    validateInput: (v) => (typeof parseTimeRange(v) === 'string' ? (parseTimeRange(v) as string) : undefined),
  });
  if (rangeText === undefined) return;
  const range = parseTimeRange(rangeText);
  const request: Record<string, unknown> = { store: store.uri, limit: RESULT_LIMIT };
  if (typePick !== anyType) request.type = typePick;
  const where = splitConditions(whereText);
  if (where.length > 0) request.where = where;
  if (typeof range === 'object') Object.assign(request, range);
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
  if (picked.line === null) {
    void vscode.window.showInformationMessage(`Astra: this event was compacted away; it is kept in .astra/${picked.description.replace('archived: ', '')}.`);
    return;
  }
  const editor = await vscode.window.showTextDocument(vscode.Uri.parse(store.uri));
  const line = editor.document.lineAt(Math.min(picked.line - 1, editor.document.lineCount - 1));
  editor.selection = new vscode.Selection(line.range.start, line.range.end);
  editor.revealRange(line.range, vscode.TextEditorRevealType.InCenter);
}
