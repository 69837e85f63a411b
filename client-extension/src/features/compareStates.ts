/**
 * Compare States…: VS Code's diff view of the projected state at two points of a store (lines, or
 * times resolved to the line the state is after), through the read-only projection documents.
 */
import * as vscode from 'vscode';
import { type ProjectAnswer, ServerCommand } from '../core/protocol';
import type { ServerSession } from '../server/session';
import type { ActiveStore, StoreRef } from './activeStore';
import { projectionUri } from './projection';
import { pickStore } from './storePicker';

/** A point typed by the user: a line number, or a time (ISO 8601) resolved to the line the state is after. */
async function resolvePoint(session: ServerSession, store: StoreRef, typed: string): Promise<number> {
  const text = typed.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const answer = await session.execute<ProjectAnswer>(ServerCommand.projectAt, { store: store.uri, timestamp: text });
  return answer.line ?? 0; // null: the state's last event is archived (compacted away)
}

function ask(prompt: string, value: string): Thenable<string | undefined> {
  return vscode.window.showInputBox({
    prompt,
    value,
    placeHolder: 'a line number, or a time such as 2026-01-05T10:00:00Z',
    validateInput: (v) => (v.trim() === '' ? 'A line number or a time' : undefined),
  });
}

export async function compareStates(session: ServerSession, active: ActiveStore, argument?: unknown): Promise<void> {
  const store = await pickStore(session, active, 'Compare States', argument);
  if (!store) return;
  const editor = vscode.window.activeTextEditor;
  const cursor = editor ? editor.selection.active.line + 1 : 1;
  const from = await ask(`${store.name}: the earlier state, after which line (or at which time)?`, String(Math.max(1, cursor - 1)));
  if (from === undefined) return;
  const to = await ask(`${store.name}: the later state, after which line (or at which time)?`, String(cursor));
  if (to === undefined) return;
  const [a, b] = [await resolvePoint(session, store, from), await resolvePoint(session, store, to)];
  await vscode.commands.executeCommand('vscode.diff', projectionUri(store, Math.max(1, a)), projectionUri(store, Math.max(1, b)),
    `${store.name}: state after line ${a} ↔ after line ${b}`);
}
