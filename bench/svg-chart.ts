/**
 * Plain SVG charts written as text (no dependencies): a completion-time CDF
 * (share of hosts finished over time), one step line per series, with
 * labelled vertical markers such as the fluid lower bound.
 */

export interface CdfSeries {
  readonly label: string;
  readonly color: string;
  /** Completion times in seconds, one per host. */
  readonly values: readonly number[];
}

export interface ChartMarker {
  readonly label: string;
  readonly x: number;
  readonly color?: string;
}

export interface CdfChartOptions {
  readonly title: string;
  readonly subtitle?: string;
  readonly series: readonly CdfSeries[];
  readonly markers?: readonly ChartMarker[];
  readonly width?: number;
  readonly height?: number;
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= raw) return factor * power;
  return 10 * power;
}

export function cdfChart(options: CdfChartOptions): string {
  const width = options.width ?? 720;
  const height = options.height ?? 360;
  const left = 60;
  const right = 20;
  const top = options.subtitle ? 56 : 40;
  const bottom = 50;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const allX = [...options.series.flatMap((s) => s.values), ...(options.markers ?? []).map((m) => m.x)];
  const step = niceStep(Math.max(1, ...allX), 8);
  const xMax = Math.ceil((Math.max(1, ...allX) * 1.02) / step) * step;
  const sx = (x: number) => left + (x / xMax) * plotW;
  const sy = (y: number) => top + plotH - y * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">${escape(options.title)}</text>`);
  if (options.subtitle) out.push(`<text x="${left}" y="40" fill="#555">${escape(options.subtitle)}</text>`);
  // Grid and axes.
  for (let x = 0; x <= xMax + 1e-9; x += step) {
    out.push(`<line x1="${sx(x)}" y1="${top}" x2="${sx(x)}" y2="${top + plotH}" stroke="#eee"/>`);
    out.push(`<text x="${sx(x)}" y="${top + plotH + 16}" text-anchor="middle">${Number(x.toFixed(6))}</text>`);
  }
  for (let y = 0; y <= 1.0001; y += 0.25) {
    out.push(`<line x1="${left}" y1="${sy(y)}" x2="${left + plotW}" y2="${sy(y)}" stroke="#eee"/>`);
    out.push(`<text x="${left - 6}" y="${sy(y) + 4}" text-anchor="end">${Math.round(y * 100)}%</text>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  out.push(`<text x="${left + plotW / 2}" y="${height - 12}" text-anchor="middle">seconds since all hosts started pulling</text>`);
  out.push(`<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">hosts finished</text>`);
  // Markers.
  for (const marker of options.markers ?? []) {
    const color = marker.color ?? '#888';
    out.push(`<line x1="${sx(marker.x)}" y1="${top}" x2="${sx(marker.x)}" y2="${top + plotH}" stroke="${color}" stroke-dasharray="5 4"/>`);
    out.push(`<text x="${sx(marker.x) + 4}" y="${top + 14}" fill="${color}">${escape(marker.label)}</text>`);
  }
  // One step line per series.
  options.series.forEach((series, index) => {
    const sorted = [...series.values].sort((a, b) => a - b);
    const n = sorted.length;
    let path = `M ${sx(0)} ${sy(0)}`;
    sorted.forEach((x, i) => {
      path += ` H ${sx(x).toFixed(1)} V ${sy((i + 1) / n).toFixed(1)}`;
    });
    path += ` H ${sx(xMax)}`;
    out.push(`<path d="${path}" fill="none" stroke="${series.color}" stroke-width="2.5"/>`);
    const ly = top + plotH - 14 - index * 18;
    out.push(`<line x1="${left + plotW - 230}" y1="${ly - 4}" x2="${left + plotW - 210}" y2="${ly - 4}" stroke="${series.color}" stroke-width="2.5"/>`);
    out.push(`<text x="${left + plotW - 204}" y="${ly}">${escape(series.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
