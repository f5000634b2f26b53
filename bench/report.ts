// Medians and the printed table. Figures are server CPU milliseconds per operation unless named otherwise.
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export interface Row {
  figure: string;
  value: string;
  target?: string;
  verdict?: 'met' | 'MISSED' | '';
  detail?: string;
}

export function printTable(title: string, rows: Row[]): void {
  const w = [
    Math.max(6, ...rows.map((r) => r.figure.length)),
    Math.max(5, ...rows.map((r) => r.value.length)),
    Math.max(6, ...rows.map((r) => (r.target ?? '').length)),
    6,
  ];
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(w[i] ?? 0))
      .join('  ')
      .trimEnd();
  console.log(`\n${title}`);
  console.log(line(['figure', 'value', 'target', 'result', 'detail']));
  console.log(line(w.map((n) => '-'.repeat(n)).concat('------')));
  for (const r of rows) console.log(line([r.figure, r.value, r.target ?? '', r.verdict ?? '', r.detail ?? '']));
}

export const ms = (seconds: number) => `${(seconds * 1000).toFixed(3)} ms`;
export const x = (ratio: number) => `${ratio.toFixed(2)}×`;

/** The p-th percentile (0–100) by nearest rank; NaN for no samples. */
export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Milliseconds given in milliseconds (latencies), 2 decimals. */
export const msOf = (milliseconds: number) => `${milliseconds.toFixed(2)} ms`;
export const us = (seconds: number) => `${(seconds * 1e6).toFixed(1)} µs`;
export const pct = (fraction: number) => `${(fraction * 100).toFixed(1)} %`;
