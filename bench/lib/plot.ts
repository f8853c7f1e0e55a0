/**
 * A horizontal bar chart of ratios as a standalone SVG string, written by
 * hand so the benchmark needs no plotting dependency. One group of bars per
 * measure, one bar per tool compared against; a solid line marks 1.0 (as
 * fast or as small as the other tool) and a dashed one 0.5 (twice as good),
 * the thresholds most targets are stated in.
 */

/** One group of bars: a measure and a ratio against each other tool (NaN: not measured). */
export interface RatioGroup {
  readonly label: string;
  readonly ratios: readonly { readonly against: string; readonly value: number }[];
}

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1'] as const;
const WIDTH = 780;
const LABEL_W = 230;
const VALUE_W = 70;
const BAR_H = 12;
const BAR_GAP = 3;
const GROUP_GAP = 12;
const TOP = 64;
const AXIS_H = 28;
const FONT = 'font-family="system-ui, sans-serif"';

const esc = (s: string): string => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
const n = (v: number): string => (Math.round(v * 10) / 10).toString();

/**
 * The axis ends at the next half step above the largest ratio, at least 1.5
 * so the 1.0 line always has room on both sides, and at most 4: a tool that
 * is ten times slower on one measure must not squash every other bar.
 * Longer bars are cut at the edge and keep their value as text.
 */
function axisMax(groups: readonly RatioGroup[]): number {
  const finite = groups.flatMap((g) => g.ratios.map((r) => r.value)).filter(Number.isFinite);
  const top = Math.ceil(Math.max(0, ...finite) * 1.05 * 2) / 2;
  return Math.min(4, Math.max(1.5, top));
}

export function ratioChartSvg(title: string, groups: readonly RatioGroup[]): string {
  const series = [...new Set(groups.flatMap((g) => g.ratios.map((r) => r.against)))];
  const color = (against: string): string => COLORS[series.indexOf(against) % COLORS.length] ?? COLORS[0];
  const max = axisMax(groups);
  const x0 = LABEL_W;
  const x1 = WIDTH - VALUE_W;
  const xs = (v: number): number => x0 + (Math.min(v, max) / max) * (x1 - x0);
  const groupH = series.length * (BAR_H + BAR_GAP) - BAR_GAP;
  const plotH = groups.length * (groupH + GROUP_GAP) + GROUP_GAP;
  const height = TOP + plotH + AXIS_H + 8;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT} font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];

  let lx = x0;
  for (const s of series) {
    out.push(`<rect x="${n(lx)}" y="34" width="12" height="12" fill="${color(s)}"/>`);
    out.push(`<text x="${n(lx + 17)}" y="44">Ferry / ${esc(s)}</text>`);
    lx += 40 + 7 * (`Ferry / ${s}`.length + 2);
  }

  // Grid every half step; 0.5 dashed and 1.0 solid drawn over it.
  const bottom = TOP + plotH;
  for (let v = 0; v <= max + 1e-9; v += 0.5) {
    const gx = n(xs(v));
    const strong = v === 1 ? 'stroke="#222" stroke-width="1.5"' : v === 0.5 ? 'stroke="#555" stroke-dasharray="4 3"' : 'stroke="#ddd"';
    out.push(`<line x1="${gx}" y1="${TOP}" x2="${gx}" y2="${bottom}" ${strong}/>`);
    out.push(`<text x="${gx}" y="${bottom + 16}" text-anchor="middle">${v.toFixed(1)}×</text>`);
  }
  out.push(`<text x="${n(xs(0.5))}" y="${TOP - 4}" text-anchor="middle" fill="#555">0.5×</text>`);
  out.push(`<text x="${n(xs(1))}" y="${TOP - 4}" text-anchor="middle" fill="#222">1.0×</text>`);
  out.push(`<text x="${n((x0 + x1) / 2)}" y="${bottom + AXIS_H + 4}" text-anchor="middle" fill="#555">Ferry / other tool, median (lower is better)</text>`);

  let y = TOP + GROUP_GAP;
  for (const g of groups) {
    out.push(`<text x="${x0 - 8}" y="${n(y + groupH / 2 + 4)}" text-anchor="end">${esc(g.label)}</text>`);
    for (const s of series) {
      const v = g.ratios.find((r) => r.against === s)?.value ?? NaN;
      if (Number.isFinite(v)) {
        const w = Math.max(1, xs(v) - x0);
        out.push(`<rect x="${x0}" y="${y}" width="${n(w)}" height="${BAR_H}" fill="${color(s)}"><title>${esc(`${g.label}: Ferry / ${s} = ${v.toFixed(2)}`)}</title></rect>`);
        const cut = v > max ? '▸ ' : '';
        out.push(`<text x="${n(x0 + w + 4)}" y="${y + BAR_H - 2}" font-size="11">${cut}${v.toFixed(2)}×</text>`);
      } else {
        out.push(`<text x="${x0 + 4}" y="${y + BAR_H - 2}" font-size="11" fill="#888">n/a</text>`);
      }
      y += BAR_H + BAR_GAP;
    }
    y += GROUP_GAP - BAR_GAP;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
