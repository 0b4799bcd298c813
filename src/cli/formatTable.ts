export interface Column {
  readonly header: string;
  /** Numbers and sizes read better right-aligned. */
  readonly align?: 'left' | 'right';
}

/**
 * A plain-text table: a header row, then one row per entry, columns padded to their widest cell
 * and separated by two spaces; no trailing spaces. Pure; the caller adds the final newline.
 */
export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        const width = widths[i] ?? 0;
        return c.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n');
}
