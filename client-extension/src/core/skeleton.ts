/**
 * The text of an event draft: a prefilled JSON skeleton the user edits before appending.
 *
 * The server owns the schema and normally sends a skeleton per event type; building one from the
 * field list is only a fallback for servers that omit it. The draft is JSONC so the header comment
 * can say what to do next without the user leaving the editor.
 */
import type { EventTypeSchema, SchemaField } from './protocol';
import { parse, type ParseError, printParseErrorCode } from 'jsonc-parser';

/** A neutral placeholder per declared field type; the server decides whether it is acceptable. */
export function placeholderFor(field: SchemaField): unknown {
  const t = field.type.toLowerCase();
  if (t.includes('int') || t.includes('number') || t.includes('float')) return 0;
  if (t.includes('bool')) return false;
  if (t.includes('list') || t.includes('array')) return [];
  if (t.includes('dict') || t.includes('object') || t.includes('map')) return {};
  if (t.includes('null') || t === 'none') return null;
  return '';
}

/** The event object a draft starts from. */
export function skeletonFor(schema: EventTypeSchema): Record<string, unknown> {
  if (schema.skeleton && typeof schema.skeleton === 'object') {
    return structuredClone(schema.skeleton);
  }
  const out: Record<string, unknown> = {};
  if (!schema.fields.some((f) => f.name === 'type')) {
    out.type = schema.name;
  }
  // Required fields first: they are the ones the user must fill in.
  const ordered = [...schema.fields.filter((f) => f.required), ...schema.fields.filter((f) => !f.required)];
  for (const field of ordered) {
    out[field.name] = field.name === 'type' ? schema.name : placeholderFor(field);
  }
  return out;
}

/** Full draft text: a short header comment, then the skeleton pretty-printed. */
export function draftText(storeName: string, schema: EventTypeSchema): string {
  const header = [
    `// ${schema.name} event for ${storeName}`,
    '// Edit the fields, then run "Astra: Append This Event Draft" (Ctrl+Enter).',
    '// Nothing is written until the server accepts the event.',
  ];
  const described = schema.fields.filter((f) => f.description);
  for (const f of described) {
    header.push(`//   ${f.name}${f.required ? '' : ' (optional)'}: ${f.description ?? ''}`);
  }
  return `${header.join('\n')}\n${JSON.stringify(skeletonFor(schema), null, 2)}\n`;
}

export type DraftParse =
  | { ok: true; event: Record<string, unknown> }
  | { ok: false; message: string; offset: number; length: number };

/** Reads the draft back. Only syntax is checked here; every rule about the event is the server's. */
export function parseDraft(text: string): DraftParse {
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: false, disallowComments: false });
  const first = errors[0];
  if (first) {
    return { ok: false, message: `JSON syntax: ${printParseErrorCode(first.error)}`, offset: first.offset, length: first.length };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, message: 'An event is a JSON object: { ... }', offset: 0, length: text.length };
  }
  return { ok: true, event: value as Record<string, unknown> };
}
