/**
 * Multi-root workspaces: which server serves which workspace folder.
 *
 * Each folder gets the interpreter its own settings choose; folders that end up on the same
 * interpreter share one server, so the common case stays one process for the whole window.
 * Kept free of the `vscode` module so the rules are unit-tested without an editor.
 */

/** One folder and the server key chosen for it (interpreter and arguments); undefined when none can run. */
export interface FolderChoice {
  /** The folder's URI in canonical form (`vscode.Uri#toString()`). */
  readonly folder: string;
  readonly key: string | undefined;
}

/**
 * One server to run. `folders` is `'all'` when a single server serves the whole window (every
 * folder resolved to the same interpreter, or none is open): it is then told about folders as they
 * come and go, exactly as a single-folder window is. Otherwise it lists the folders it serves, in
 * workspace order.
 */
export interface ServerGroup {
  readonly key: string;
  readonly folders: 'all' | readonly string[];
}

/** The servers for these folders, in the order their first folder appears; folders without an interpreter get none. */
export function groupFolders(choices: readonly FolderChoice[]): ServerGroup[] {
  const byKey = new Map<string, string[]>();
  for (const { folder, key } of choices) {
    if (key === undefined) continue;
    const folders = byKey.get(key) ?? [];
    folders.push(folder);
    byKey.set(key, folders);
  }
  const everyFolderServed = choices.every((c) => c.key !== undefined);
  if (byKey.size === 1 && everyFolderServed) {
    const [key] = byKey.keys();
    return key === undefined ? [] : [{ key, folders: 'all' }];
  }
  return [...byKey].map(([key, folders]) => ({ key, folders }));
}

/** What identifies a running server: a change of interpreter, arguments or folders means another server. */
export function groupIdentity(group: ServerGroup): string {
  return JSON.stringify([group.key, group.folders]);
}

/** Servers to stop and groups to start so that `wanted` runs; servers already matching are left alone. */
export function reconcileServers(running: readonly string[], wanted: readonly ServerGroup[]): { stop: string[]; start: ServerGroup[] } {
  const wantedIds = new Set(wanted.map(groupIdentity));
  const runningIds = new Set(running);
  return {
    stop: running.filter((id) => !wantedIds.has(id)),
    start: wanted.filter((g) => !runningIds.has(groupIdentity(g))),
  };
}

/**
 * The workspace folder that contains `uri`, or undefined. The innermost folder wins when folders
 * nest, as in VS Code. `caseInsensitive` for file systems that ignore case (Windows, macOS).
 */
export function folderOf(uri: string, folders: readonly string[], caseInsensitive = false): string | undefined {
  const fold = (s: string): string => (caseInsensitive ? s.toLowerCase() : s);
  const target = fold(uri);
  let best: string | undefined;
  for (const folder of folders) {
    const base = fold(folder.endsWith('/') ? folder.slice(0, -1) : folder);
    if ((target === base || target.startsWith(`${base}/`)) && (best === undefined || folder.length > best.length)) {
      best = folder;
    }
  }
  return best;
}

/**
 * The group that serves `uri`: the group listing its folder, else the one serving the whole window,
 * else (a file outside every folder, a remote store) the group of the first folder.
 */
export function groupFor<G extends ServerGroup>(uri: string | undefined, groups: readonly G[], caseInsensitive = false): G | undefined {
  const whole = groups.find((g) => g.folders === 'all');
  if (whole) return whole;
  if (uri !== undefined) {
    const all = groups.flatMap((g) => (g.folders === 'all' ? [] : [...g.folders]));
    const folder = folderOf(uri, all, caseInsensitive);
    const owner = folder === undefined ? undefined : groups.find((g) => g.folders !== 'all' && g.folders.includes(folder));
    if (owner) return owner;
  }
  return groups[0];
}

/**
 * A glob matching the stores under one folder, for a document selector: the folder's path with `/`
 * separators (VS Code's globs accept either separator in the document's path) and glob characters
 * of the path taken literally.
 */
export function storeGlob(folderFsPath: string): string {
  const base = folderFsPath.replace(/\\/g, '/').replace(/\/+$/, '');
  const literal = base.replace(/[*?{}[]/g, (c) => `[${c}]`);
  return `${literal}/**/.astra/*.jsonl`;
}
