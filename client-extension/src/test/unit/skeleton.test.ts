import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { draftText, parseDraft, placeholderFor, skeletonFor } from '../../core/skeleton';
import type { EventTypeSchema } from '../../core/protocol';

const message: EventTypeSchema = {
  name: 'MessageAdded',
  fields: [
    { name: 'ts', type: 'datetime', required: true, description: 'When it happened' },
    { name: 'tokens', type: 'integer', required: false },
    { name: 'text', type: 'string', required: true },
  ],
};

describe('event skeletons', () => {
  it("uses the server's skeleton verbatim when it sends one", () => {
    const skeleton = { type: 'X', payload: { a: 1 } };
    const result = skeletonFor({ ...message, skeleton });
    assert.deepEqual(result, skeleton);
    assert.notEqual(result, skeleton, 'a copy, so editing a draft never alters the cached schema');
  });

  it('builds one from the fields otherwise: type first, required fields before optional ones', () => {
    assert.deepEqual(Object.keys(skeletonFor(message)), ['type', 'ts', 'text', 'tokens']);
    assert.equal(skeletonFor(message).type, 'MessageAdded');
  });

  it('gives each declared type a neutral placeholder', () => {
    const p = (type: string): unknown => placeholderFor({ name: 'f', type, required: true });
    assert.equal(p('integer'), 0);
    assert.equal(p('boolean'), false);
    assert.deepEqual(p('array'), []);
    assert.deepEqual(p('object'), {});
    assert.equal(p('string'), '');
  });

  it('writes a draft whose comments explain the next step and which parses back to the skeleton', () => {
    const text = draftText('conversation', message);
    assert.match(text, /^\/\/ MessageAdded event for conversation\n/, 'the first line names the untitled tab');
    assert.match(text, /Ctrl\+Enter/);
    assert.match(text, /ts: When it happened/);
    const parsed = parseDraft(text);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.event, skeletonFor(message));
  });
});

describe('reading a draft back', () => {
  it('reports a syntax error with its position and sends nothing', () => {
    const parsed = parseDraft('{"type": "A",, }');
    assert.ok(!parsed.ok);
    assert.match(parsed.message, /JSON syntax/);
    assert.equal(parsed.offset, 13);
  });

  it('refuses anything but an object', () => {
    assert.equal(parseDraft('[1, 2]').ok, false);
    assert.equal(parseDraft('42').ok, false);
  });
});
