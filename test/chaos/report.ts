/** Plain-text tables for the chaos run's report (CI logs have no colours to rely on). */

export function table (title: string, headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()
  const rule = widths.map((w) => '-'.repeat(w)).join('  ')
  return [`\n${title}`, line(headers), rule, ...rows.map(line)].join('\n')
}

export const seconds = (ms: number): string => (ms / 1000).toFixed(1)
