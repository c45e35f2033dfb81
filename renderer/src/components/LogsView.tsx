import { useEffect, useMemo, useRef, useState } from 'react';
import type { ErrorBody, LogLine, WorkloadStatus } from '../../../shared';
import { newLogLines } from '../api/log-overlap';
import { useApi } from '../api/api-context';
import { ErrorNote } from './ErrorNote';
import { cachedLogLineHtml, plainLogText } from './log-line-html';

const MAX_LINES = 5000;
const TAIL = 300;
/** After a restart, how long the re-sent tail takes to arrive before it is merged. */
const MERGE_WINDOW_MS = 500;

/** The workload's log: the last lines, then new ones while following; searchable, ANSI colours kept. */
export function LogsView({
  workloadRef,
  name,
  status,
}: {
  workloadRef: string;
  name: string;
  status: WorkloadStatus;
}) {
  const { api } = useApi();
  const [lines, setLines] = useState<LogLine[]>([]);
  const [follow, setFollow] = useState(true);
  const [query, setQuery] = useState('');
  const [error, setError] = useState<ErrorBody | null>(null);
  const box = useRef<HTMLDivElement>(null);

  // A container's log stream ends when it stops; each return to "running" starts a new follow.
  const [run, setRun] = useState(0);
  const lastStatus = useRef(status);
  useEffect(() => {
    if (status === 'running' && lastStatus.current !== 'running') setRun((n) => n + 1);
    lastStatus.current = status;
  }, [status]);

  useEffect(() => {
    // A new follow re-sends the tail: merge it with what is shown instead of starting over.
    let merging = run > 0;
    if (!merging) setLines([]);
    setError(null);
    // Batch lines per frame: a chatty container must not re-render per line.
    let pending: LogLine[] = [];
    let frame = 0;
    let mergeTimer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      frame = 0;
      const add = pending;
      const merge = merging;
      pending = [];
      merging = false;
      setLines((prev) => [...prev, ...(merge ? newLogLines(prev, add) : add)].slice(-MAX_LINES));
      // Lines flow again: whatever interrupted the stream is over.
      setError(null);
    };
    const stop = api.followLogs(
      workloadRef,
      TAIL,
      (line) => {
        pending.push(line);
        if (merging) mergeTimer ??= setTimeout(flush, MERGE_WINDOW_MS);
        else frame ||= requestAnimationFrame(flush);
      },
      setError,
    );
    return () => {
      stop();
      clearTimeout(mergeTimer);
      cancelAnimationFrame(frame);
    };
  }, [api, workloadRef, run]);

  const visible = useMemo(() => {
    const q = query.trim().toLowerCase();
    return q ? lines.filter((l) => plainLogText(l.text).toLowerCase().includes(q)) : lines;
  }, [lines, query]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [visible, follow]);

  const download = () => {
    const text = lines.map((l) => (l.ts ? `${l.ts} ` : '') + l.text.replace(/\n$/, '')).join('\n') + '\n';
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `${name}.log`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  return (
    <section className="card logs" aria-labelledby="logs-title" data-testid="logs">
      <div className="row row-between">
        <h3 id="logs-title" className="card-title">
          Logs
        </h3>
        <div className="row">
          <label className="visually-hidden" htmlFor="log-search">
            Filter log lines
          </label>
          <input
            id="log-search"
            type="search"
            placeholder="Filter…"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            data-testid="log-search"
          />
          <label className="check">
            <input
              type="checkbox"
              checked={follow}
              onChange={(e) => setFollow(e.target.checked)}
              data-testid="log-follow"
            />{' '}
            Follow
          </label>
          <button
            type="button"
            className="btn btn-small"
            onClick={download}
            disabled={lines.length === 0}
            data-testid="log-download"
          >
            Download .log
          </button>
        </div>
      </div>
      <ErrorNote error={error} testId="logs-error" />
      <div
        ref={box}
        className="log-box mono"
        role="log"
        aria-live="off"
        aria-label={`Log of ${name}`}
        tabIndex={0}
        data-testid="log-lines"
        onScroll={(e) => {
          const el = e.currentTarget;
          const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
          if (follow !== atBottom && !atBottom) setFollow(false);
        }}
      >
        {visible.length === 0 && (
          <p className="muted">{lines.length ? 'No line matches the filter.' : 'No output yet.'}</p>
        )}
        {visible.map((l, i) => (
          <div
            key={i}
            className={`log-line${l.stream === 'stderr' ? ' log-stderr' : ''}`}
            // Each line parsed on its own, escaped, only <span class> added, links as plain text (log-line-html.ts).
            dangerouslySetInnerHTML={{ __html: cachedLogLineHtml(l) }}
          />
        ))}
      </div>
    </section>
  );
}
