/**
 * Count Events: the number of events per type in one store, as a notification.
 */
import * as vscode from 'vscode';
import { type CountAnswer, ServerCommand } from '../core/protocol';
import { formatCount } from '../core/summaries';
import type { ServerSession } from '../server/session';
import type { ActiveStore } from './activeStore';
import { pickStore } from './storePicker';

export async function countEvents(
  session: ServerSession,
  active: ActiveStore,
  output: vscode.LogOutputChannel,
  argument?: unknown,
): Promise<void> {
  const store = await pickStore(session, active, 'Count Events', argument);
  if (!store) return;
  const answer = await session.execute<CountAnswer>(ServerCommand.count, { store: store.uri });
  const text = formatCount(store.name, answer);
  output.info(text);
  void vscode.window.showInformationMessage(`Astra: ${text}`);
}
