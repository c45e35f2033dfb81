import type { LogLine } from '../../../shared';

/** Lines of `next` that come after the last line of `previous` (the overlap of two polled tails). */
export function newLogLines(previous: LogLine[], next: LogLine[]): LogLine[] {
  if (previous.length === 0) return next;
  const same = (a: LogLine, b: LogLine) => a.text === b.text && a.ts === b.ts && a.stream === b.stream;
  for (let overlap = Math.min(previous.length, next.length); overlap > 0; overlap--) {
    let match = true;
    for (let i = 0; i < overlap; i++) {
      if (!same(previous[previous.length - overlap + i], next[i])) {
        match = false;
        break;
      }
    }
    if (match) return next.slice(overlap);
  }
  return next;
}
