import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changedPaths, childPointer, MAX_LIST_ITEMS, renderTree } from '../../core/stateTree';

describe('debugger state tree', () => {
  it('marks changed paths and their ancestors', () => {
    const { changed, within, appended } = changedPaths([{ op: 'replace', path: '/a/b' }, { op: 'add', path: '/list/-' }]);
    assert.deepEqual([...changed].sort(), ['/a/b']);
    assert.ok(within.has('/a') && within.has('') && within.has('/list'));
    assert.equal(appended.get('/list'), 1);
  });

  it('highlights an appended item itself, open, not only its list', () => {
    const html = renderTree({ messages: [{ role: 'user', text: 'old' }, { role: 'user', text: 'new one' }] },
      [{ op: 'add', path: '/messages/-' }]);
    assert.match(html, /<li class="node changed" data-path="\/messages\/1"><details open>/);
    assert.match(html, /<li class="node within" data-path="\/messages"><details open>/);
    assert.ok(!html.includes('class="node changed" data-path="/messages/0"'));
  });

  it('escapes pointer tokens as RFC 6901 says', () => {
    assert.equal(childPointer('/x', 'a/b~c'), '/x/a~1b~0c');
  });

  it('highlights what the step changed, labelled for screen readers, and escapes everything', () => {
    const html = renderTree({ a: { b: 2, c: '<script>' }, untouched: 1 }, [{ op: 'replace', path: '/a/b' }]);
    assert.match(html, /<li class="leaf changed" data-path="\/a\/b" aria-label="b \(changed by this step\)">/);
    assert.match(html, /<li class="node within" data-path="\/a"><details open>/);
    assert.ok(!html.includes('<script>') && html.includes('&lt;script&gt;'));
    assert.match(html, /<li class="leaf" data-path="\/untouched"/);
  });

  it('shows the latest items of a long list and says how many came before', () => {
    const html = renderTree({ messages: Array.from({ length: MAX_LIST_ITEMS + 7 }, (_, i) => i) }, []);
    assert.match(html, /… 7 earlier items/);
    assert.ok(html.includes(`data-path="/messages/${MAX_LIST_ITEMS + 6}"`) && !html.includes('data-path="/messages/0"'));
  });

  it('numbers the items of a list the server sent only the tail of by its full length', () => {
    const html = renderTree({ messages: ['x', 'y'] }, [{ op: 'add', path: '/messages/-' }], { '/messages': 1000 });
    assert.ok(html.includes('data-path="/messages/999"') && html.includes('data-path="/messages/998"'));
    assert.match(html, /\[1000\]/);
    assert.match(html, /… 998 earlier items/);
  });

  it('draws a deep state without recursion', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = { a: deep };
    assert.match(renderTree(deep, []), /more of the state/);
  });
});
