/**
 * What counts as a store on the client side: a `.jsonl` file directly inside a `.astra/` folder.
 * Used only to decide which editor is "the active store"; the server does its own resolution.
 */
const STORE_PATH = /[\\/]\.astra[\\/]([^\\/]+)\.jsonl$/;

export function isStorePath(fsPath: string): boolean {
  return STORE_PATH.test(fsPath);
}

/** `/ws/.astra/conversation.jsonl` → `conversation`. */
export function storeNameOf(fsPath: string): string {
  const m = STORE_PATH.exec(fsPath);
  if (m?.[1]) return m[1];
  const base = fsPath.split(/[\\/]/).pop() ?? fsPath;
  return base.replace(/\.jsonl$/, '');
}
