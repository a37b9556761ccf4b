import { describe, expect, it } from 'vitest';
import { escapeHtml, fixed, formatPValue, percent } from './html.js';
import { lineChart, niceTicks } from './svg.js';

describe('niceTicks', () => {
  it('chooses round steps of 1, 2 or 5 x 10^k', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 0.6, 5)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    expect(niceTicks(0, 1825, 5)).toEqual([0, 500, 1000, 1500]);
    expect(niceTicks(-0.05, 0.25, 5)).toEqual([-0.05, 0, 0.05, 0.1, 0.15, 0.2, 0.25]);
    expect(niceTicks(1, 1)).toEqual([1]);
  });
});

describe('lineChart', () => {
  const svg = lineChart({
    id: 'c1',
    title: 'A & B',
    desc: 'test chart',
    xLabel: 'x axis',
    yLabel: 'y axis',
    xDomain: [0, 1],
    yDomain: [0, 1],
    diagonal: true,
    series: [
      {
        label: 'line',
        color: '#0072B2',
        points: [
          { x: 0, y: 0 },
          { x: 0.5, y: 0.7 },
          { x: 1, y: 1 },
        ],
      },
      {
        label: 'steps',
        color: '#D55E00',
        step: true,
        points: [
          { x: 0, y: 1 },
          { x: 0.5, y: 0.5 },
        ],
      },
      {
        label: 'dots',
        color: '#009E73',
        noLine: true,
        markers: true,
        points: [{ x: 0.2, y: 0.3 }],
        errorBars: [{ lo: 0.1, hi: 0.5 }],
      },
    ],
  });

  it('is an accessible SVG with escaped title, axis labels, ticks and a legend', () => {
    expect(svg).toMatch(/^<svg [^>]*role="img" aria-labelledby="c1-title c1-desc"/);
    expect(svg).toContain('<title id="c1-title">A &amp; B</title>');
    expect(svg).toContain('>x axis</text>');
    expect(svg).toContain('>y axis</text>');
    expect(svg.match(/class="tick-label"/g)).toHaveLength(12);
    expect(svg.match(/class="legend"/g)).toHaveLength(3);
    expect(svg).toContain('class="diagonal"');
  });

  it('draws lines, steps, markers and error bars in plot coordinates', () => {
    // Plot area x 58..426, y 246..34 (212 px high): (0.5, 0.7) -> (242, 246 - 0.7 x 212 = 97.6).
    expect(svg).toContain('data-series="line" data-points="3" d="M58.0,246.0L242.0,97.6L426.0,34.0"');
    expect(svg).toMatch(/data-series="steps" data-points="2" d="M58\.0,[\d.]+H242\.0V[\d.]+"/);
    expect(svg).toContain('<g class="markers" data-series="dots" data-points="1"><circle');
    expect(svg).toContain('class="error-bar"');
    expect(svg.startsWith('<svg') && svg.endsWith('</svg>')).toBe(true);
  });
});

describe('html helpers', () => {
  it('escape and format', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(fixed(0.12345)).toBe('0.123');
    expect(fixed(null)).toBe('–');
    expect(percent(0.9123)).toBe('91.2');
    expect(percent(undefined)).toBe('–');
    expect(formatPValue(0.04567)).toBe('0.046');
    expect(formatPValue(0.000226)).toBe('2.3e-4');
  });
});
