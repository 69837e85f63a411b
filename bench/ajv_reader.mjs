// Node + ajv peer: what a user would write instead of astra-ls. Reads the store line by line
// (a stream, so any size fits), JSON.parses each line, validates it with the ajv-compiled JSON
// Schema of its `type` (exported from the engine's own models by `probes.py json-schema`), and
// checks duplicate ids and time order. Prints {"lines", "events", "problems", "byKind", "elapsedMs"}.
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import Ajv2020 from 'ajv/dist/2020.js';

const [schemaPath, path] = process.argv.slice(2);
if (!schemaPath || !path) {
  console.error('usage: node ajv_reader.mjs SCHEMA.json FILE.jsonl');
  process.exit(2);
}

const started = performance.now();
// {"idField", "timeField", "typeField", "events": {TYPE: JSON Schema}}
const family = JSON.parse(readFileSync(schemaPath, 'utf8'));
const ajv = new Ajv2020({ allErrors: false, strict: false });
const validators = new Map();
for (const [type, schema] of Object.entries(family.events)) {
  validators.set(type, ajv.compile(schema));
}

const byKind = {};
const problem = (kind) => { byKind[kind] = (byKind[kind] ?? 0) + 1; };
const seen = new Set();
let lastTime = -Infinity;
let lines = 0;
let events = 0;

const input = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
for await (const line of input) {
  lines += 1;
  if (line.trim() === '') { problem('blank'); continue; }
  let event;
  try {
    event = JSON.parse(line);
  } catch {
    problem('json'); continue;
  }
  if (event === null || typeof event !== 'object' || Array.isArray(event)) { problem('not-object'); continue; }
  const validate = validators.get(event[family.typeField]);
  if (validate === undefined) { problem('unknown-type'); continue; }
  if (!validate(event)) { problem('schema'); continue; }
  events += 1;
  const id = event[family.idField];
  if (typeof id !== 'string') {
    problem('id');
  } else if (seen.has(id)) {
    problem('duplicate-id');
  } else {
    seen.add(id);
  }
  const time = event[family.timeField];
  if (time < lastTime) problem('time-order'); else lastTime = time;
}
const problems = Object.values(byKind).reduce((a, b) => a + b, 0);
const elapsedMs = performance.now() - started;
console.log(JSON.stringify({ lines, events, problems, byKind, elapsedMs }));
