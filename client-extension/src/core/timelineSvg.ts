/**
 * Draws the timeline answer as a stacked bar chart in plain SVG: one bar per time bucket, one
 * colour per event type. No chart library: the chart is small and a library would dwarf the
 * extension.
 */
import type { TimelineAnswer } from './protocol';

/** Distinct hues that stay readable on both light and dark editor themes. */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function colourFor(index: number): string {
  return PALETTE[index % PALETTE.length] ?? '#888888';
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `2025-03-01 14:05:09` in UTC: timestamps in stores are UTC, and so is the axis. */
export function formatTime(epochMs: number): string {
  if (!Number.isFinite(epochMs)) return '';
  return new Date(epochMs).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export interface ChartSize { width: number; height: number }

export function timelineSvg(answer: Pick<TimelineAnswer, 'types' | 'buckets' | 'start' | 'end'>, size: ChartSize = { width: 800, height: 320 }): string {
  const { width, height } = size;
  const margin = { top: 16, right: 16, bottom: 48, left: 48 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const types = answer.types;
  const totals = answer.buckets.map((b) => Object.values(b.byType).reduce((s, n) => s + n, 0));
  const max = Math.max(1, ...totals);
  const n = Math.max(1, answer.buckets.length);
  const slot = plotW / n;
  const barW = Math.max(1, slot * 0.8);
  const parts: string[] = [];

  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="Events over time by type">`);
  parts.push(`<g class="axis" font-size="11" fill="currentColor" stroke="currentColor">`);
  parts.push(`<line x1="${margin.left}" y1="${margin.top + plotH}" x2="${margin.left + plotW}" y2="${margin.top + plotH}" />`);
  parts.push(`<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${margin.top + plotH}" />`);
  parts.push(`<text x="${margin.left - 6}" y="${margin.top + 4}" text-anchor="end" stroke="none">${max}</text>`);
  parts.push(`<text x="${margin.left - 6}" y="${margin.top + plotH}" text-anchor="end" stroke="none">0</text>`);
  if (answer.start !== null) {
    parts.push(`<text x="${margin.left}" y="${height - 28}" stroke="none">${escapeXml(formatTime(answer.start))}</text>`);
  }
  if (answer.end !== null) {
    parts.push(`<text x="${margin.left + plotW}" y="${height - 28}" text-anchor="end" stroke="none">${escapeXml(formatTime(answer.end))}</text>`);
  }
  parts.push('</g>');

  answer.buckets.forEach((bucket, i) => {
    const x = margin.left + i * slot + (slot - barW) / 2;
    let y = margin.top + plotH;
    types.forEach((type, t) => {
      const count = bucket.byType[type] ?? 0;
      if (count <= 0) return;
      const h = (count / max) * plotH;
      y -= h;
      const tip = `${type}: ${count} (${formatTime(bucket.start)} – ${formatTime(bucket.end)})`;
      parts.push(
        `<rect class="bar" data-type="${escapeXml(type)}" data-start="${bucket.start}" tabindex="0" role="button" aria-label="${escapeXml(tip)}: open the debugger here" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${colourFor(t)}"><title>${escapeXml(tip)}</title></rect>`,
      );
    });
  });

  // Legend along the bottom edge, one swatch per type in the server's order.
  let lx = margin.left;
  types.forEach((type, t) => {
    parts.push(`<rect x="${lx}" y="${height - 14}" width="10" height="10" fill="${colourFor(t)}" />`);
    parts.push(`<text x="${lx + 14}" y="${height - 5}" font-size="11" fill="currentColor">${escapeXml(type)}</text>`);
    lx += 24 + type.length * 7;
  });
  parts.push('</svg>');
  return parts.join('\n');
}
