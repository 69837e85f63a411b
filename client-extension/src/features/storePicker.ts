/**
 * Asks which store a command applies to. The active store is offered first; with one store in
 * the workspace there is nothing to ask.
 */
import * as vscode from 'vscode';
import { type ListStoresAnswer, ServerCommand } from '../core/protocol';
import { storeNameOf } from '../core/stores';
import type { ServerSession } from '../server/session';
import type { ActiveStore, StoreRef } from './activeStore';
import { sameUri, storeRefOf } from './activeStore';

/**
 * The store named in a command argument (`{store: uri}`), as the server's code lenses and hover
 * links pass it; undefined when the command came from the palette.
 */
export function givenStore(argument: unknown): StoreRef | undefined {
  if (typeof argument !== 'object' || argument === null) return undefined;
  const store = (argument as { store?: unknown }).store;
  if (typeof store !== 'string' || store === '') return undefined;
  const uri = vscode.Uri.parse(store);
  return storeRefOf(uri) ?? { uri: store, name: storeNameOf(uri.fsPath) };
}

export async function pickStore(
  session: ServerSession,
  active: ActiveStore,
  purpose: string,
  argument?: unknown,
): Promise<StoreRef | undefined> {
  const given = givenStore(argument);
  if (given) return given;
  const answer = await session.execute<ListStoresAnswer>(ServerCommand.listStores, {});
  const stores = answer.stores;
  if (stores.length === 0) {
    void vscode.window.showInformationMessage('Astra: this workspace has no stores (.astra/*.jsonl files).');
    return undefined;
  }
  if (stores.length === 1 && stores[0]) {
    return { uri: stores[0].uri, name: stores[0].name };
  }
  const current = active.store;
  const items = stores
    .map((s) => ({
      label: s.name,
      description: current && sameUri(current.uri, s.uri) ? 'active' : '',
      detail: `${s.events} events, ${s.problems} problems — ${vscode.workspace.asRelativePath(vscode.Uri.parse(s.uri))}`,
      ref: { uri: s.uri, name: s.name },
    }))
    .sort((a, b) => Number(b.description === 'active') - Number(a.description === 'active'));
  const picked = await vscode.window.showQuickPick(items, { title: `Astra: ${purpose}`, placeHolder: 'Store', matchOnDetail: true });
  return picked?.ref;
}
