import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { debounce } from '../../core/debounce';

describe('debounce', () => {
  it('runs once with the last arguments after a burst', async () => {
    const calls: number[] = [];
    const f = debounce((n: number) => calls.push(n), 20);
    f(1);
    f(2);
    f(3);
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(calls, [3]);
  });

  it('can be cancelled', async () => {
    const calls: number[] = [];
    const f = debounce((n: number) => calls.push(n), 10);
    f(1);
    f.cancel();
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(calls, []);
  });
});
