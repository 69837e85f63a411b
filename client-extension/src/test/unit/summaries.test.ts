import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventType, formatCount, formatStatus, oneLine, parseWhere, queryPickItem } from '../../core/summaries';
import { isStorePath, storeNameOf } from '../../core/stores';

describe('wording of answers', () => {
  it('counts per type, most frequent first', () => {
    assert.equal(formatCount('conv', { count: 5, byType: { B: 1, A: 4 } }), 'conv: 5 events — A 4, B 1');
    assert.equal(formatCount('conv', { count: 1, byType: {} }), 'conv: 1 event');
  });

  it('mentions problems in the status bar only when there are some', () => {
    assert.equal(formatStatus('conv', 3, 0), '$(database) conv: 3 events');
    assert.equal(formatStatus('conv', 3, 1), '$(database) conv: 3 events $(warning) 1 problem');
  });

  it('turns a query hit into a pick item that remembers its line', () => {
    const item = queryPickItem({ line: 7, event: { type: 'ToolFailed', payload: { tool: 'x' } } });
    assert.deepEqual([item.label, item.description, item.line], ['ToolFailed', 'line 7', 7]);
    assert.equal(eventType({}), '(untyped)');
    assert.equal(oneLine('x'.repeat(500), 10).length, 10);
  });
});

describe('query filters', () => {
  it('parses path=value pairs with JSON values', () => {
    assert.deepEqual(parseWhere('payload.role=user, ok=false n=3 name="a b"'), { 'payload.role': 'user', ok: false, n: 3, name: 'a b' });
    assert.deepEqual(parseWhere('  '), {});
  });

  it('explains the format when the input is not pairs', () => {
    assert.equal(typeof parseWhere('just words'), 'string');
  });
});

describe('store paths', () => {
  it('recognises .astra/*.jsonl files only', () => {
    assert.ok(isStorePath('/ws/.astra/conversation.jsonl'));
    assert.ok(isStorePath('C:\\ws\\.astra\\conversation.jsonl'));
    assert.ok(!isStorePath('/ws/.astra/sub/conversation.jsonl'));
    assert.ok(!isStorePath('/ws/data/conversation.jsonl'));
    assert.equal(storeNameOf('/ws/.astra/conversation.jsonl'), 'conversation');
  });
});
