// Reads the tab-separated label files of a facedata-style folder (header row, UTF-8) into objects.
import fs from 'node:fs';
import path from 'node:path';

export type Row = Record<string, string>;

/** The rows of DIR/name, or undefined when the file does not exist (the metric is then omitted). */
export function readTsv(dir: string, name: string): Row[] | undefined {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) return undefined;
  const [header, ...lines] = fs.readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.length > 0);
  const keys = header.split('\t');
  return lines.map((line) => {
    const cells = line.split('\t');
    return Object.fromEntries(keys.map((k, i) => [k, cells[i] ?? '']));
  });
}
