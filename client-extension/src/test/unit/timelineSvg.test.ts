import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TimelineAnswer } from '../../core/protocol';
import { colourFor, escapeXml, formatTime, timelineSvg } from '../../core/timelineSvg';

const answer: Pick<TimelineAnswer, 'start' | 'end' | 'types' | 'buckets'> = {
  start: Date.UTC(2025, 0, 1, 10),
  end: Date.UTC(2025, 0, 1, 12),
  types: ['Message', 'ToolFailed'],
  buckets: [
    { start: Date.UTC(2025, 0, 1, 10), end: Date.UTC(2025, 0, 1, 11), byType: { Message: 4 } },
    { start: Date.UTC(2025, 0, 1, 11), end: Date.UTC(2025, 0, 1, 12), byType: { Message: 1, ToolFailed: 3 } },
  ],
};

describe('timeline chart', () => {
  it('draws one rectangle per non-empty (bucket, type) with a tooltip', () => {
    const svg = timelineSvg(answer);
    assert.equal((svg.match(/class="bar"/g) ?? []).length, 3);
    assert.match(svg, /<title>ToolFailed: 3 \(2025-01-01 11:00:00Z – 2025-01-01 12:00:00Z\)<\/title>/);
  });

  it('scales the tallest stack to the plot height', () => {
    const svg = timelineSvg(answer, { width: 400, height: 264 });
    // plot height = 264 - 16 - 48 = 200; both buckets total 4, so each stack is 200 high.
    const heights = [...svg.matchAll(/class="bar"[^>]*height="([\d.]+)"/g)].map((m) => Number(m[1]));
    assert.deepEqual(heights, [200, 50, 150]);
  });

  it('gives each type its own colour in the legend', () => {
    const svg = timelineSvg(answer);
    assert.ok(svg.includes(`fill="${colourFor(0)}"`) && svg.includes(`fill="${colourFor(1)}"`));
    assert.notEqual(colourFor(0), colourFor(1));
  });

  it('escapes type names', () => {
    assert.equal(escapeXml('<a&"b">'), '&#60;a&#38;&#34;b&#34;&#62;');
    assert.ok(!timelineSvg({ ...answer, types: ['<x>'] }).includes('<x>'));
  });

  it('survives an empty store', () => {
    assert.match(timelineSvg({ start: null, end: null, types: [], buckets: [] }), /^<svg/);
    assert.equal(formatTime(Number.NaN), '');
  });
});
