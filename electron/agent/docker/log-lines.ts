// Docker multiplexes stdout and stderr of a non-TTY container into frames: 8-byte header
// (stream type, 3 zero bytes, big-endian length) then the payload. This turns frames into LogLines.
import type { LogLine } from '../../../shared';

const TS = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z) (.*)$/s;

function toLine(stream: 'stdout' | 'stderr', raw: string): LogLine {
  const m = TS.exec(raw);
  return m ? { stream, text: m[2], ts: m[1] } : { stream, text: raw };
}

/** Incremental demultiplexer: feed chunks, get whole lines. */
export class LogDemuxer {
  private pending: Buffer = Buffer.alloc(0);
  private partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };

  constructor(private readonly onLine: (line: LogLine) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 8) {
      const type = this.pending[0];
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const payload = this.pending.subarray(8, 8 + size).toString('utf8');
      this.pending = this.pending.subarray(8 + size);
      const stream = type === 2 ? 'stderr' : 'stdout';
      const text = this.partial[stream] + payload;
      const parts = text.split('\n');
      this.partial[stream] = parts.pop() ?? '';
      for (const part of parts) this.onLine(toLine(stream, part.replace(/\r$/, '')));
    }
  }

  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream]) this.onLine(toLine(stream, this.partial[stream]));
      this.partial[stream] = '';
    }
  }
}

export function demuxLogBuffer(buffer: Buffer): LogLine[] {
  const lines: LogLine[] = [];
  const d = new LogDemuxer((l) => lines.push(l));
  d.push(buffer);
  d.flush();
  return lines;
}
