/**
 * Shapes of the server's `workspace/executeCommand` answers (docs/protocol.md).
 *
 * The client only reads these; it never computes them. Fields the client does not use are left
 * out on purpose so that additions on the server side do not need a client release.
 */

/** Server command ids. The language client registers these itself; the extension must not. */
export const ServerCommand = {
  listStores: 'astra.listStores',
  append: 'astra.append',
  count: 'astra.count',
  project: 'astra.project',
  projectAt: 'astra.projectAt',
  query: 'astra.query',
  traceDecision: 'astra.traceDecision',
  quarantine: 'astra.quarantine',
  compact: 'astra.compact',
  schemaFor: 'astra.schemaFor',
  timeline: 'astra.timeline',
} as const;
export type ServerCommandId = (typeof ServerCommand)[keyof typeof ServerCommand];

/** Every ordinary failure has this shape; `ok: false` is how it is told apart. */
export interface Failure {
  ok: false;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface StoreInfo {
  name: string;
  uri: string;
  path: string;
  events: number;
  problems: number;
  schema?: string | null;
  projector?: string | null;
}

export interface ListStoresAnswer { ok: true; stores: StoreInfo[] }

export interface AppendAnswer { ok: true; path: string; line: number; count: number }

/** One field-level validation error of a refused append. `path` locates the field. */
export interface FieldError {
  path: string | (string | number)[];
  message: string;
  type?: string;
}

export interface CountAnswer { ok: true; count: number; byType: Record<string, number> }

export interface ProjectAnswer { ok: true; state: unknown; line: number | null; events: number; timestamp?: unknown }

/** `line` is null for an event compaction archived: `archive` and `archiveLine` say where it is. */
export interface QueriedEvent { line: number | null; event: Record<string, unknown>; store?: string; text?: string; archive?: string; archiveLine?: number }
export interface QueryAnswer { ok: true; total: number; events: QueriedEvent[] }

/** `astra.traceDecision` with `markdown: true`; the other fields are left out (see docs/protocol.md). */
export interface TraceAnswer { ok: true; markdown: string }

export interface QuarantineAnswer { ok: true; moved: number; quarantinePath: string; remaining: number }

export interface CompactAnswer {
  ok: true;
  archivePath: string;
  compactedEvents: number;
  keptEvents: number;
  path: string;
}

export interface SchemaField { name: string; type: string; required: boolean; description?: string | null }
export interface EventTypeSchema { name: string; fields: SchemaField[]; skeleton?: Record<string, unknown> | null }
export interface SchemaAnswer { ok: true; family: string; types: EventTypeSchema[] }

export interface TimelineBucket { start: number; end: number; byType: Record<string, number> }
export interface TimelineAnswer { ok: true; start: number | null; end: number | null; types: string[]; buckets: TimelineBucket[] }

/** Payload of the server's `astra/storeChanged` notification. */
export interface StoreChanged { uri: string; events: number; problems: number }
export const STORE_CHANGED_NOTIFICATION = 'astra/storeChanged';

export function isFailure(answer: unknown): answer is Failure {
  return typeof answer === 'object' && answer !== null && (answer as { ok?: unknown }).ok === false;
}
