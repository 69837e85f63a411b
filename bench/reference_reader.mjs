// Reference reader the engine is measured against: the plainest possible JSONL reader with no
// schema at all. Read the whole file as UTF-8, split on "\n", JSON.parse each line, keep objects
// whose `id` is a string. Prints {"events", "lines", "elapsedMs"} as one JSON line.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const path = process.argv[2];
if (!path) {
  console.error('usage: node reference_reader.mjs FILE.jsonl');
  process.exit(2);
}

const started = performance.now();
const text = readFileSync(path, 'utf8');
const lines = text.split('\n');
const events = [];
for (const line of lines) {
  let e;
  try {
    e = JSON.parse(line);
  } catch {
    continue;
  }
  if (e !== null && typeof e === 'object' && typeof e.id === 'string') {
    events.push(e);
  }
}
const elapsedMs = performance.now() - started;
console.log(JSON.stringify({ events: events.length, lines: lines.length, elapsedMs }));
