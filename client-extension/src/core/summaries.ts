/**
 * Human wording for server answers, kept apart from the UI calls so it can be tested.
 */
import type { CountAnswer, QueriedEvent } from './protocol';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `conversation: 42 events — Message 30, ToolCall 12` (types by descending count, then name). */
export function formatCount(storeName: string, answer: Pick<CountAnswer, 'count' | 'byType'>): string {
  const parts = Object.entries(answer.byType)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([type, n]) => `${type} ${n}`);
  const head = `${storeName}: ${plural(answer.count, 'event')}`;
  return parts.length > 0 ? `${head} — ${parts.join(', ')}` : head;
}

export function formatStatus(storeName: string, events: number, problems: number): string {
  const problemText = problems > 0 ? ` $(warning) ${plural(problems, 'problem')}` : '';
  return `$(database) ${storeName}: ${plural(events, 'event')}${problemText}`;
}

/** The event's type as stores usually spell it; stores without a type field still list. */
export function eventType(event: Record<string, unknown>): string {
  for (const key of ['type', 'event_type', 'eventType', 'kind']) {
    const value = event[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return '(untyped)';
}

/** One line of JSON for a QuickPick detail, cut to a readable width. */
export function oneLine(value: unknown, width = 160): string {
  let text: string;
  try {
    // JSON.stringify answers undefined for undefined and functions, whatever its declared type says.
    const json = JSON.stringify(value) as string | undefined;
    text = json ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

export interface QueryPickItem {
  label: string;
  description: string;
  detail: string;
  line: number;
}

export function queryPickItem(hit: QueriedEvent): QueryPickItem {
  return {
    label: eventType(hit.event),
    description: `line ${hit.line}`,
    detail: oneLine(hit.event),
    line: hit.line,
  };
}

/**
 * Parses the optional filter typed in the Query Events box: `path=value` pairs separated by
 * commas or spaces. Values are JSON when they parse (`n=3`, `ok=true`, `"a b"`), else strings.
 */
export function parseWhere(input: string): Record<string, unknown> | string {
  const out: Record<string, unknown> = {};
  const trimmed = input.trim();
  if (trimmed === '') return out;
  const pairs = trimmed.match(/[^\s,=]+\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]+)/g);
  const leftover = trimmed.replace(/[^\s,=]+\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]+)/g, '').replace(/[\s,]/g, '');
  if (!pairs || leftover !== '') return 'Write filters as path=value, for example payload.role=user';
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq).trim();
    const raw = pair.slice(eq + 1).trim();
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // Not JSON: a bare word is meant as a string.
    }
    out[key] = value;
  }
  return out;
}
