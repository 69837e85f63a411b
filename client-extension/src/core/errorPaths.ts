/**
 * Places a server-reported field error on the draft text, so each error underlines its own field.
 */
import { findNodeAtLocation, parseTree, type Node } from 'jsonc-parser';
import type { FieldError } from './protocol';

export type Segment = string | number;

/**
 * Accepts the path spellings validators produce: an array of keys, a JSON pointer
 * (`/payload/items/0`), or a dotted path with optional brackets (`payload.items[0].name`).
 */
export function pathSegments(path: FieldError['path']): Segment[] {
  if (Array.isArray(path)) {
    return path.map((p) => (typeof p === 'number' ? p : /^\d+$/.test(p) ? Number(p) : p));
  }
  const raw = path.trim();
  if (raw === '' || raw === '/' || raw === '$') return [];
  const parts = raw.startsWith('/')
    ? raw.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    : raw.replace(/^\$\.?/, '').replace(/\[(\d+)\]/g, '.$1').split('.').filter((p) => p !== '');
  return parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

export interface TextSpan { offset: number; length: number }

/**
 * The span to underline for an error at `segments`: the key of the field if it exists, else the
 * key of its deepest existing parent (a missing required field is reported on its parent), else
 * the opening brace of the event.
 */
export function locateField(text: string, segments: Segment[]): TextSpan {
  const root = parseTree(text);
  if (!root) return { offset: 0, length: 0 };
  let path = segments;
  // Errors may be reported relative to the command argument ({store, event}); the draft is the event.
  if (path[0] === 'event' && !findNodeAtLocation(root, ['event'])) {
    path = path.slice(1);
  }
  for (let depth = path.length; depth >= 0; depth--) {
    const node = findNodeAtLocation(root, path.slice(0, depth));
    if (node) return spanOf(node, root);
  }
  return spanOf(root, root);
}

function spanOf(node: Node, root: Node): TextSpan {
  if (node === root) return { offset: root.offset, length: 1 };
  const parent = node.parent;
  if (parent?.type === 'property' && parent.children?.[0]) {
    const key = parent.children[0];
    return { offset: key.offset, length: key.length };
  }
  return { offset: node.offset, length: node.length };
}

/** `payload.text` style label for messages, whatever spelling the server used. */
export function pathLabel(path: FieldError['path']): string {
  const segments = pathSegments(path);
  if (segments.length === 0) return '(event)';
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/** The field errors of a refused append, tolerating servers that omit or misshape them. */
export function fieldErrors(details: Record<string, unknown> | undefined): FieldError[] {
  const raw = details?.errors;
  if (!Array.isArray(raw)) return [];
  return raw.filter((e: unknown): e is FieldError => {
    if (typeof e !== 'object' || e === null) return false;
    const { message, path } = e as Partial<FieldError>;
    return typeof message === 'string' && (typeof path === 'string' || Array.isArray(path));
  });
}
