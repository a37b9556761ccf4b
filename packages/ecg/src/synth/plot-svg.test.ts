import { describe, expect, it } from 'vitest';
import { plotEcgSvg } from './plot-svg.js';
import { synthesizeEcg } from './synthesize.js';

describe('plotEcgSvg', () => {
  const ecg = synthesizeEcg({ seed: 42 });

  it('draws 12 lead cells and a rhythm strip on a millimetre grid at 25 mm/s and 10 mm/mV', () => {
    const svg = plotEcgSvg(ecg, { title: 'Synthetic <test>' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(13);
    for (const label of ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6']) {
      expect(svg).toContain(`>${label}</text>`);
    }
    expect(svg).toContain('Synthetic &lt;test&gt;');
    expect(svg).toContain('25 mm/s, 10 mm/mV, 500 Hz');
    // The rhythm strip spans 10 s = 250 mm; each cell 2.5 s = 62.5 mm.
    const strips = [...svg.matchAll(/points="([^"]+)"/g)].map((m) => (m[1] as string).split(' '));
    const xs = (pts: string[]): number[] => pts.map((p) => Number(p.split(',')[0]));
    const rhythm = xs(strips[12] as string[]);
    expect(Math.max(...rhythm) - Math.min(...rhythm)).toBeCloseTo(250, 0);
    const cell = xs(strips[0] as string[]);
    expect(Math.max(...cell) - Math.min(...cell)).toBeCloseTo(62.5, 0);
  });

  it('places 1 mV at 10 mm', () => {
    const rhythmY = (uv: number): number => {
      const svg = plotEcgSvg({ ...ecg, leads: { ...ecg.leads, II: new Float32Array(5000).fill(uv) } });
      const strips = [...svg.matchAll(/points="([^"]+)"/g)].map((m) => m[1] as string);
      const ys = new Set((strips[12] as string).split(' ').map((p) => Number(p.split(',')[1])));
      expect(ys.size).toBe(1);
      return [...ys][0] as number;
    };
    // SVG y grows downwards: +1 mV is 10 mm up.
    expect(rhythmY(0) - rhythmY(1000)).toBeCloseTo(10, 5);
    expect(rhythmY(0) - rhythmY(-500)).toBeCloseTo(-5, 5);
  });
});
