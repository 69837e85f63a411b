import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { folderOf, groupFolders, groupFor, groupIdentity, reconcileServers, storeGlob } from '../../core/folders';

const A = 'file:///ws/a';
const B = 'file:///ws/b';
const C = 'file:///ws/c';

describe('grouping folders by interpreter', () => {
  it('runs one server for the whole window when every folder chose the same interpreter', () => {
    assert.deepEqual(groupFolders([{ folder: A, key: 'py' }, { folder: B, key: 'py' }]), [{ key: 'py', folders: 'all' }]);
  });

  it('keeps a single folder, or a window without folders, on one whole-window server', () => {
    assert.deepEqual(groupFolders([{ folder: A, key: 'py' }]), [{ key: 'py', folders: 'all' }]);
    assert.deepEqual(groupFolders([{ folder: '', key: 'py' }]), [{ key: 'py', folders: 'all' }]);
  });

  it('runs one server per distinct interpreter, folders that share one sharing its server', () => {
    assert.deepEqual(groupFolders([{ folder: A, key: 'py1' }, { folder: B, key: 'py2' }, { folder: C, key: 'py1' }]), [
      { key: 'py1', folders: [A, C] },
      { key: 'py2', folders: [B] },
    ]);
  });

  it('gives a folder without a usable interpreter no server, and does not hand it to another', () => {
    assert.deepEqual(groupFolders([{ folder: A, key: 'py' }, { folder: B, key: undefined }]), [{ key: 'py', folders: [A] }]);
    assert.deepEqual(groupFolders([{ folder: A, key: undefined }]), []);
  });
});

describe('reconciling running servers with a new plan', () => {
  const whole = { key: 'py', folders: 'all' as const };
  const a1 = { key: 'py1', folders: [A] };
  const b2 = { key: 'py2', folders: [B] };

  it('leaves servers whose interpreter and folders did not change alone', () => {
    assert.deepEqual(reconcileServers([groupIdentity(a1), groupIdentity(b2)], [a1, { key: 'py3', folders: [B] }]), {
      stop: [groupIdentity(b2)],
      start: [{ key: 'py3', folders: [B] }],
    });
  });

  it('keeps the whole-window server when a folder with the same interpreter is added', () => {
    assert.deepEqual(reconcileServers([groupIdentity(whole)], [whole]), { stop: [], start: [] });
  });

  it('splits the whole-window server when a folder chooses another interpreter', () => {
    assert.deepEqual(reconcileServers([groupIdentity(whole)], [a1, b2]), { stop: [groupIdentity(whole)], start: [a1, b2] });
  });
});

describe('routing a URI to its server', () => {
  it('finds the folder that contains a store, the innermost when folders nest, never a mere name prefix', () => {
    assert.equal(folderOf(`${A}/.astra/x.jsonl`, [A, B]), A);
    assert.equal(folderOf(`${A}/sub/.astra/x.jsonl`, [A, `${A}/sub`]), `${A}/sub`);
    assert.equal(folderOf('file:///ws/ab/.astra/x.jsonl', [A]), undefined);
    assert.equal(folderOf(A, [`${A}/`]), `${A}/`);
  });

  it('ignores case only where the file system does', () => {
    assert.equal(folderOf('file:///WS/A/.astra/x.jsonl', [A]), undefined);
    assert.equal(folderOf('file:///WS/A/.astra/x.jsonl', [A], true), A);
    assert.equal(folderOf('file:///c%3A/Work/A/.astra/x.jsonl', ['file:///c%3A/work/a'], true), 'file:///c%3A/work/a');
  });

  it('sends a store to the server of its folder, anything else to the first folder\'s server', () => {
    const groups = [{ key: 'py1', folders: [A, C] }, { key: 'py2', folders: [B] }];
    assert.equal(groupFor(`${B}/.astra/s.jsonl`, groups)?.key, 'py2');
    assert.equal(groupFor(`${C}/.astra/s.jsonl`, groups)?.key, 'py1');
    assert.equal(groupFor('astra-remote://nats/orders', groups)?.key, 'py1');
    assert.equal(groupFor('file:///elsewhere/.astra/s.jsonl', groups)?.key, 'py1');
    assert.equal(groupFor(undefined, groups)?.key, 'py1');
  });

  it('sends everything to the whole-window server when there is one', () => {
    assert.equal(groupFor(`${B}/.astra/s.jsonl`, [{ key: 'py', folders: 'all' }])?.key, 'py');
    const none: { key: string; folders: 'all' }[] = [];
    assert.equal(groupFor(undefined, none), undefined);
  });
});

describe('document selector globs for a folder', () => {
  it('matches the stores under the folder with / separators on every platform', () => {
    assert.equal(storeGlob('/ws/a'), '/ws/a/**/.astra/*.jsonl');
    assert.equal(storeGlob('c:\\Users\\me\\proj\\'), 'c:/Users/me/proj/**/.astra/*.jsonl');
  });

  it('takes glob characters in a folder name literally', () => {
    assert.equal(storeGlob('/ws/a [1] {x}*?'), '/ws/a [[]1] [{]x[}][*][?]/**/.astra/*.jsonl');
  });
});
