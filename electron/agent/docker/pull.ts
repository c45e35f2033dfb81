// Getting an image: nothing to do when it is present (phase `cached`), otherwise a pull with layer
// progress, bounded in time so a dead registry gives a clear error instead of a hang.
import type Docker from 'dockerode';
import { LatticeError } from '../../../shared';

export interface PullProgress {
  layersDone: number;
  layersTotal: number;
  bytesDone?: number;
  bytesTotal?: number;
  phase: 'pulling' | 'extracting' | 'done' | 'cached';
}

export async function imagePresent(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

const NOT_FOUND = /not found|manifest unknown|pull access denied|repository does not exist|no such image/i;

function pullError(image: string, raw: string): LatticeError {
  // dockerode prefixes the daemon's message with "(HTTP code 500) server error - ".
  const message = raw.replace(/^\(HTTP code \d+\)[^-]*- /, '').trim();
  return NOT_FOUND.test(message)
    ? new LatticeError('image_not_found', `Image ${image} was not found: ${message}`)
    : new LatticeError('pull_failed', `Could not pull ${image}: ${message}`);
}

/** Makes sure `image` is local. Emits progress; throws image_not_found or pull_failed within `timeoutMs`. */
export async function ensureImage(
  docker: Docker,
  image: string,
  onProgress: (p: PullProgress) => void,
  timeoutMs = 10 * 60_000,
  stallMs = 60_000,
  signal?: AbortSignal,
): Promise<'cached' | 'pulled'> {
  if (await imagePresent(docker, image)) {
    onProgress({ layersDone: 0, layersTotal: 0, phase: 'cached' });
    return 'cached';
  }
  const abort = new AbortController();
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await docker.pull(image, { abortSignal: abort.signal })) as NodeJS.ReadableStream;
  } catch (err) {
    throw pullError(image, (err as { json?: { message?: string } }).json?.message ?? (err as Error).message);
  }
  const layers = new Map<string, { done: boolean; extracting: boolean; current?: number; total?: number }>();
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err?: LatticeError) => {
      if (settled) return;
      settled = true;
      clearTimeout(overall);
      clearTimeout(stall);
      if (err) {
        abort.abort();
        (stream as unknown as { destroy?: () => void }).destroy?.();
        reject(err);
      } else resolve();
    };
    const overall = setTimeout(
      () =>
        finish(new LatticeError('pull_failed', `Pulling ${image} took longer than ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    let stall = setTimeout(() => undefined, 0);
    const armStall = () => {
      clearTimeout(stall);
      stall = setTimeout(
        () =>
          finish(
            new LatticeError('pull_failed', `Pulling ${image} stalled: no progress for ${stallMs / 1000} s`),
          ),
        stallMs,
      );
    };
    armStall();
    signal?.addEventListener(
      'abort',
      () => finish(new LatticeError('pull_failed', `Pulling ${image} was stopped`)),
      {
        once: true,
      },
    );
    docker.modem.followProgress(
      stream,
      (err: Error | null) => {
        if (err) finish(pullError(image, err.message));
        else {
          onProgress({ layersDone: layers.size, layersTotal: layers.size, phase: 'done' });
          finish();
        }
      },
      (event: {
        id?: string;
        status?: string;
        error?: string;
        progressDetail?: { current?: number; total?: number };
      }) => {
        armStall();
        if (event.error) {
          finish(pullError(image, event.error));
          return;
        }
        if (!event.id || !event.status) return;
        const layer = layers.get(event.id) ?? { done: false, extracting: false };
        const status = event.status.toLowerCase();
        if (status.startsWith('pull complete') || status.startsWith('already exists')) layer.done = true;
        if (status.startsWith('extracting')) layer.extracting = true;
        if (status.startsWith('downloading') && event.progressDetail) {
          layer.current = event.progressDetail.current;
          layer.total = event.progressDetail.total;
        }
        if (/^[0-9a-f]{12}$/.test(event.id)) layers.set(event.id, layer);
        const all = [...layers.values()];
        onProgress({
          layersDone: all.filter((l) => l.done).length,
          layersTotal: all.length,
          bytesDone: all.reduce((n, l) => n + (l.current ?? (l.done ? (l.total ?? 0) : 0)), 0),
          bytesTotal: all.reduce((n, l) => n + (l.total ?? 0), 0),
          phase: all.some((l) => l.extracting && !l.done) ? 'extracting' : 'pulling',
        });
      },
    );
  });
  return 'pulled';
}
