/**
 * Store maintenance that rewrites files: quarantining malformed lines and compacting. Both ask
 * first, because they move data out of the store.
 */
import * as vscode from 'vscode';
import { type CompactAnswer, type QuarantineAnswer, ServerCommand } from '../core/protocol';
import type { ServerSession } from '../server/session';
import type { ActiveStore } from './activeStore';
import { pickStore } from './storePicker';

export async function quarantine(session: ServerSession, active: ActiveStore, argument?: unknown): Promise<void> {
  const store = await pickStore(session, active, 'Quarantine Malformed Lines', argument);
  if (!store) return;
  const go = 'Quarantine';
  const ok = await vscode.window.showWarningMessage(
    `Move the malformed lines of "${store.name}" into a quarantine file next to it?`,
    { modal: true, detail: 'Valid events stay in place; the moved lines are kept, not deleted.' },
    go,
  );
  if (ok !== go) return;
  const answer = await session.execute<QuarantineAnswer>(ServerCommand.quarantine, { store: store.uri });
  void vscode.window.showInformationMessage(
    answer.moved === 0
      ? `Astra: ${store.name} has no malformed lines.`
      : `Astra: moved ${answer.moved} line(s) of ${store.name} to ${vscode.workspace.asRelativePath(answer.quarantinePath)}; ${answer.remaining} remain.`,
  );
}

export async function compact(session: ServerSession, active: ActiveStore, argument?: unknown): Promise<void> {
  const store = await pickStore(session, active, 'Compact Store', argument);
  if (!store) return;
  const go = 'Compact';
  const ok = await vscode.window.showWarningMessage(
    `Compact "${store.name}"?`,
    { modal: true, detail: 'Older events move to an archive file and the store keeps a snapshot plus the recent events.' },
    go,
  );
  if (ok !== go) return;
  const answer = await session.execute<CompactAnswer>(ServerCommand.compact, { store: store.uri });
  void vscode.window.showInformationMessage(
    `Astra: compacted ${answer.compactedEvents} event(s) of ${store.name} into ${vscode.workspace.asRelativePath(answer.archivePath)}; ${answer.keptEvents} kept.`,
  );
}
