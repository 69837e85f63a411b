/**
 * The debugger's state view: a projected state as a collapsible tree (HTML `<details>`, which keyboards
 * and screen readers already know), with the paths one step changed highlighted. Pure functions, no
 * `vscode` import, so they are unit-tested.
 */

/** One RFC 6902 operation as the server's `astra.diff` answers it. */
export interface PatchOperation {
  readonly op: string;
  readonly path: string;
}

/** Bounds that keep a huge state (a million-message conversation) a page a browser can draw quickly. */
export const MAX_NODES = 2_000;
export const MAX_LIST_ITEMS = 50;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** JSON Pointer of a child: `~` and `/` escaped (RFC 6901). */
export function childPointer(parent: string, key: string | number): string {
  return `${parent}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/**
 * The changed pointers, every ancestor of one (shown open, marked as holding a change), and for each list
 * that `/list/-` operations appended to, how many items they appended (its last items are the new ones).
 */
export function changedPaths(patch: readonly PatchOperation[]): { changed: Set<string>; within: Set<string>; appended: Map<string, number> } {
  const changed = new Set<string>();
  const within = new Set<string>();
  const appended = new Map<string, number>();
  for (const op of patch) {
    const appends = op.path.endsWith('/-');
    const path = appends ? op.path.slice(0, -2) : op.path;
    if (appends) {
      // the list holds the change; its new last items are what changed
      appended.set(path, (appended.get(path) ?? 0) + 1);
      within.add(path);
    } else changed.add(path);
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) within.add(parts.slice(0, i).join('/'));
  }
  return { changed, within, appended };
}

function leaf(value: unknown): string {
  if (typeof value === 'string') return `<span class="string">${escapeHtml(JSON.stringify(value))}</span>`;
  if (value === null) return '<span class="null">null</span>';
  return `<span class="${typeof value}">${escapeHtml(typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value))}</span>`;
}

/**
 * HTML for a state. Containers on a changed path start open, others from depth 2 on start closed;
 * lists show their last MAX_LIST_ITEMS items (a projection appends); past MAX_NODES nodes, the rest is
 * summarised. `trimmed` ({pointer: full length}) says which lists the server sent only the tail of, so sizes
 * and item numbers stay true. Built with an explicit stack: a state's depth comes from events.
 */
export function renderTree(state: unknown, patch: readonly PatchOperation[], trimmed: Readonly<Record<string, number>> = {}): string {
  const { changed, within, appended } = changedPaths(patch);
  let nodes = 0;
  const out: string[] = [];
  type Frame = { kind: 'open'; label: string; value: unknown; path: string; depth: number } | { kind: 'close'; tag: string };
  const stack: Frame[] = [{ kind: 'open', label: 'state', value: state, path: '', depth: 0 }];
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    if (frame.kind === 'close') {
      out.push(frame.tag);
      continue;
    }
    nodes += 1;
    if (nodes > MAX_NODES) {
      out.push('<li class="more">… (more of the state: open Show State at Cursor for all of it)</li>');
      // drop what remains at this level and below; closing tags stay in order
      for (let i = stack.length - 1; i >= 0; i--) if (stack[i]?.kind === 'open') stack.splice(i, 1);
      continue;
    }
    const { label, value, path, depth } = frame;
    const mark = changed.has(path) ? ' changed' : within.has(path) ? ' within' : '';
    const aria = changed.has(path) ? ' (changed by this step)' : within.has(path) ? ' (holds a change)' : '';
    const key = `<span class="key">${escapeHtml(label)}</span>`;
    if (value !== null && typeof value === 'object') {
      // a list the server cut to its tail: its items are the last of `length`
      const length = Array.isArray(value) ? Math.max(trimmed[path] ?? value.length, value.length) : 0;
      const offset = Array.isArray(value) ? length - value.length : 0;
      const entries: [string | number, unknown][] = Array.isArray(value)
        ? value.map((v, i) => [offset + i, v] as [number, unknown]).slice(-MAX_LIST_ITEMS)
        : Object.entries(value as Record<string, unknown>);
      const size = Array.isArray(value) ? `[${length}]` : `{${entries.length}}`;
      const skipped = Array.isArray(value) ? length - entries.length : 0;
      const open = depth < 2 || mark !== '' ? ' open' : '';
      out.push(`<li class="node${mark}" data-path="${escapeHtml(path)}"><details${open}><summary aria-label="${escapeHtml(label)} ${size}${aria}">${key} <span class="size">${size}</span></summary><ul>`);
      if (skipped > 0) out.push(`<li class="more">… ${skipped} earlier items</li>`);
      stack.push({ kind: 'close', tag: '</ul></details></li>' });
      const added = Array.isArray(value) ? (appended.get(path) ?? 0) : 0;
      for (const [k] of entries) if (typeof k === 'number' && k >= length - added) changed.add(childPointer(path, k));
      for (const [k, v] of [...entries].reverse()) {
        stack.push({ kind: 'open', label: String(k), value: v, path: childPointer(path, k), depth: depth + 1 });
      }
    } else {
      out.push(`<li class="leaf${mark}" data-path="${escapeHtml(path)}" aria-label="${escapeHtml(label)}${aria}">${key}: ${leaf(value)}</li>`);
    }
  }
  return `<ul class="tree">${out.join('')}</ul>`;
}
