import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldErrors, locateField, pathLabel, pathSegments } from '../../core/errorPaths';

const draft = `// comment
{
  "type": "MessageAdded",
  "payload": { "role": "user", "parts": [ { "text": 1 } ] }
}`;

const spanText = (segments: (string | number)[]): string => {
  const s = locateField(draft, segments);
  return draft.slice(s.offset, s.offset + s.length);
};

describe('error paths', () => {
  it('reads arrays, JSON pointers and dotted paths alike', () => {
    const expected = ['payload', 'parts', 0, 'text'];
    assert.deepEqual(pathSegments(['payload', 'parts', 0, 'text']), expected);
    assert.deepEqual(pathSegments(['payload', 'parts', '0', 'text']), expected);
    assert.deepEqual(pathSegments('/payload/parts/0/text'), expected);
    assert.deepEqual(pathSegments('payload.parts[0].text'), expected);
    assert.deepEqual(pathSegments('payload.parts.0.text'), expected);
    assert.deepEqual(pathSegments('$.payload.parts[0].text'), expected);
    assert.deepEqual(pathSegments(''), []);
  });

  it('labels paths in one spelling for messages', () => {
    assert.equal(pathLabel('/payload/parts/0/text'), 'payload.parts[0].text');
    assert.equal(pathLabel([]), '(event)');
  });
});

describe('placing an error on the draft', () => {
  it("underlines the field's key", () => {
    assert.equal(spanText(['payload', 'role']), '"role"');
    assert.equal(spanText(['payload', 'parts', 0, 'text']), '"text"');
  });

  it('puts a missing field on its nearest existing parent', () => {
    assert.equal(spanText(['payload', 'ts']), '"payload"');
  });

  it('ignores an "event." prefix relative to the command argument', () => {
    assert.equal(spanText(['event', 'type']), '"type"');
  });

  it('falls back to the opening brace for errors about the whole event', () => {
    assert.equal(spanText([]), '{');
  });
});

describe('field errors of a refused append', () => {
  it('keeps well-formed entries and drops the rest', () => {
    const errors = fieldErrors({ errors: [{ path: 'a', message: 'm', type: 'missing' }, { path: 3, message: 'x' }, 'junk', { path: ['b'], message: 'n' }] });
    assert.deepEqual(errors.map((e) => e.path), ['a', ['b']]);
    assert.deepEqual(fieldErrors(undefined), []);
    assert.deepEqual(fieldErrors({ errors: 'no' }), []);
  });
});
