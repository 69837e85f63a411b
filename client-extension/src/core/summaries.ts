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
  line: number | null;
}

export function queryPickItem(hit: QueriedEvent): QueryPickItem {
  return {
    label: eventType(hit.event),
    description: hit.line === null ? `archived: ${hit.archive ?? '?'} line ${hit.archiveLine ?? '?'}` : `line ${hit.line}`,
    detail: oneLine(hit.event),
    line: hit.line,
  };
}

/**
 * Splits the conditions typed in the Query Events box at `;` outside double quotes. Each condition
 * (`path OP value`) is parsed by the server, which says what is wrong and where.
 */
export function splitConditions(input: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < input.length; i++) {
    const c = input.charAt(i);
    if (c === '\\' && quoted) {
      current += c + input.charAt(i + 1);
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ';' && !quoted) {
      out.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  out.push(current);
  return out.map((part) => part.trim()).filter((part) => part !== '');
}

/** A time range typed as `FROM..TO` (ISO 8601 or epoch ms; either side may be left empty). */
export function parseTimeRange(input: string): { from?: string | number; to?: string | number } | string {
  const trimmed = input.trim();
  if (trimmed === '') return {};
  const parts = trimmed.split('..');
  if (parts.length !== 2) return 'Write the range as FROM..TO, e.g. 2026-03-04T22:00Z..2026-03-04T23:00Z (a side may be empty)';
  const side = (text: string): string | number | undefined => {
    const t = text.trim();
    if (t === '') return undefined;
    return /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : t;
  };
  const range: { from?: string | number; to?: string | number } = {};
  const from = side(parts[0] ?? '');
  const to = side(parts[1] ?? '');
  if (from !== undefined) range.from = from;
  if (to !== undefined) range.to = to;
  return range;
}
