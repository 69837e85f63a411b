import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventType, formatCount, formatStatus, oneLine, parseTimeRange, queryPickItem, splitConditions } from '../../core/summaries';
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
    const archived = queryPickItem({ line: null, archive: 'archive/c.jsonl.gz', archiveLine: 3, event: { type: 'A' } });
    assert.deepEqual([archived.description, archived.line], ['archived: archive/c.jsonl.gz line 3', null]);
    assert.equal(eventType({}), '(untyped)');
    assert.equal(oneLine('x'.repeat(500), 10).length, 10);
  });
});

describe('query filters', () => {
  it('splits conditions at semicolons outside quotes', () => {
    assert.deepEqual(splitConditions('verb in get,list; metadata."a;b"=x ;code>=400; '), ['verb in get,list', 'metadata."a;b"=x', 'code>=400']);
    assert.deepEqual(splitConditions('  '), []);
  });

  it('reads a time range with open sides', () => {
    assert.deepEqual(parseTimeRange('2026-03-04T22:00Z..1772665200000'), { from: '2026-03-04T22:00Z', to: 1772665200000 });
    assert.deepEqual(parseTimeRange('..2026-03-04T23:00Z'), { to: '2026-03-04T23:00Z' });
    assert.deepEqual(parseTimeRange(''), {});
    assert.equal(typeof parseTimeRange('yesterday'), 'string');
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
