import Table from 'cli-table3';

/** No borders: columns two spaces apart, as `ls -l` or `ps` print them. */
const NO_BORDERS = { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' };

/**
 * `rows` (the first one the head) as lines of plain columns, each as wide as its widest cell and
 * two spaces apart, without trailing blanks: the tables of `stats` and `locks`. Columns are
 * left-aligned unless `align` says otherwise (numbers read best right-aligned).
 */
export function plainTable(rows: readonly (readonly string[])[], align: readonly ('left' | 'right')[] = []): string[] {
  const width = rows[0]?.length ?? 0;
  const table = new Table({
    chars: NO_BORDERS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    colAligns: Array.from({ length: width }, (_, i) => align[i] ?? 'left'),
  });
  table.push(...rows.map((r) => [...r]));
  return table.toString().split('\n').map((line) => line.trimEnd());
}
