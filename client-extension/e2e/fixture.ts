/**
 * The workspace the test opens: a copy of examples/workspace plus two small stores whose
 * contents the checks know line by line.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXAMPLE_WORKSPACE } from './paths';

/** Opened in the editor: a conversation with one malformed line (line 3). */
export const STORE = 'conversation-e2e';
/** Never opened: its malformed line must still reach the Problems panel. */
export const UNOPENED_STORE = 'e2e-unopened';

const T0 = Date.UTC(2025, 0, 1, 10, 0, 0);

export const STORE_LINES = [
  JSON.stringify({ type: 'ConversationStarted', timestamp: T0, userId: 'u-e2e', sessionId: 's-e2e', model: 'e2e-model' }),
  JSON.stringify({ type: 'UserMessageSent', timestamp: T0 + 1000, content: 'hello from the e2e test' }),
  '{"type": "UserMessageSent", "timestamp": 1735725602000, "content": "cut short',
  JSON.stringify({ type: 'AssistantStreamStarted', timestamp: T0 + 3000, model: 'e2e-model', promptTokens: 12 }),
];
export const MALFORMED_LINE = 3;
/** Text on line 2, where the hover is checked. */
export const HOVER_TEXT = 'hello from the e2e test';

/** Refused by the server: UserMessageSent requires `content`. */
export const INVALID_EVENT = `{"type": "UserMessageSent", "timestamp": ${T0 + 4000}}`;
export const VALID_CONTENT = 'appended from the palette';
export const VALID_EVENT = `{"type": "UserMessageSent", "timestamp": ${T0 + 5000}, "content": "${VALID_CONTENT}"}`;
/** Written to disk behind the editor's back, to see the projection refresh. */
export const EXTERNAL_CONTENT = 'written by another process';
export const EXTERNAL_EVENT = JSON.stringify({ type: 'UserMessageSent', timestamp: T0 + 6000, content: EXTERNAL_CONTENT });

/** A run whose events name their parent by `parentUuid` (the default link field): definition follows it. */
export const LINKS_STORE = 'links-e2e';
export const LINKS_LINES = [
  JSON.stringify({ type: 'RunStarted', id: 'evt-root-e2e', timestamp: T0, goal: 'link the steps' }),
  JSON.stringify({ type: 'StepTaken', id: 'evt-plan-e2e', parentUuid: 'evt-root-e2e', timestamp: T0 + 1000, step: 'plan' }),
  JSON.stringify({ type: 'StepTaken', id: 'evt-act-e2e', parentUuid: 'evt-plan-e2e', timestamp: T0 + 2000, step: 'act' }),
];

export function makeWorkspace(dir: string): { storePath: string; unopenedPath: string } {
  if (existsSync(EXAMPLE_WORKSPACE)) cpSync(EXAMPLE_WORKSPACE, dir, { recursive: true });
  const astra = join(dir, '.astra');
  mkdirSync(astra, { recursive: true });
  const storePath = join(astra, `${STORE}.jsonl`);
  writeFileSync(storePath, STORE_LINES.join('\n') + '\n');
  const unopenedPath = join(astra, `${UNOPENED_STORE}.jsonl`);
  writeFileSync(unopenedPath, `${JSON.stringify({ type: 'Note', timestamp: T0, text: 'fine' })}\nnot json at all\n`);
  writeFileSync(join(astra, `${LINKS_STORE}.jsonl`), LINKS_LINES.join('\n') + '\n');
  return { storePath, unopenedPath };
}

export function readLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
}
