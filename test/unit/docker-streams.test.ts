// Docker's streams, parsed without a daemon: pull progress (layer counts, errors, a stalled
// registry that must not hang) and the stdout/stderr multiplexing of container logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { ensureImage, type PullProgress } from '../../electron/agent/docker/pull';
import { demuxLogBuffer, LogDemuxer } from '../../electron/agent/docker/log-lines';
import type { LogLine } from '../../shared';

/** Just enough of dockerode for ensureImage: a missing image and a pull stream we write to. */
function fakeDocker(present: boolean, stream: PassThrough): Docker {
  return {
    getImage: () => ({
      inspect: async () => {
        if (present) return {};
        throw Object.assign(new Error('no such image'), { statusCode: 404 });
      },
    }),
    pull: async () => stream,
    // A real dockerode modem (never connects here) so followProgress parses like in production.
    modem: new Docker({ socketPath: '/nonexistent.sock' }).modem,
  } as unknown as Docker;
}

const send = (s: PassThrough, o: object) => s.write(JSON.stringify(o) + '\n');

test('an image already present is not pulled: one cached progress event', async () => {
  const progress: PullProgress[] = [];
  const stream = new PassThrough();
  assert.equal(await ensureImage(fakeDocker(true, stream), 'x:1', (p) => progress.push(p)), 'cached');
  assert.deepEqual(progress, [{ layersDone: 0, layersTotal: 0, phase: 'cached' }]);
});

test('pull progress counts layers and ends with done', async () => {
  const progress: PullProgress[] = [];
  const stream = new PassThrough();
  const done = ensureImage(fakeDocker(false, stream), 'x:1', (p) => progress.push(p));
  send(stream, { status: 'Pulling from library/x', id: '1' });
  send(stream, { status: 'Pulling fs layer', id: 'aaaaaaaaaaaa' });
  send(stream, { status: 'Pulling fs layer', id: 'bbbbbbbbbbbb' });
  send(stream, { status: 'Downloading', id: 'aaaaaaaaaaaa', progressDetail: { current: 50, total: 100 } });
  send(stream, { status: 'Pull complete', id: 'aaaaaaaaaaaa' });
  send(stream, { status: 'Extracting', id: 'bbbbbbbbbbbb', progressDetail: { current: 1, total: 2 } });
  send(stream, { status: 'Pull complete', id: 'bbbbbbbbbbbb' });
  stream.end();
  assert.equal(await done, 'pulled');
  assert.deepEqual(progress.at(-1), { layersDone: 2, layersTotal: 2, phase: 'done' });
  assert.ok(progress.some((p) => p.phase === 'pulling' && p.layersTotal === 2 && p.layersDone === 1));
  assert.ok(progress.some((p) => p.phase === 'extracting'));
});

test('a registry error in the stream becomes image_not_found', async () => {
  const stream = new PassThrough();
  const done = ensureImage(fakeDocker(false, stream), 'acme/nope:1', () => undefined);
  send(stream, { error: 'manifest for acme/nope:1 not found: manifest unknown' });
  stream.end();
  await assert.rejects(done, { code: 'image_not_found' });
});

test('a pull that stops making progress fails with pull_failed instead of hanging', async () => {
  const stream = new PassThrough();
  const done = ensureImage(fakeDocker(false, stream), 'slow:1', () => undefined, 5_000, 100);
  send(stream, { status: 'Pulling fs layer', id: 'aaaaaaaaaaaa' });
  await assert.rejects(done, (err: Error & { code?: string }) => {
    assert.equal(err.code, 'pull_failed');
    assert.match(err.message, /stalled/);
    return true;
  });
});

const frame = (type: 1 | 2, text: string) => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

test('log frames are split into stdout/stderr lines with timestamps, across chunk boundaries', () => {
  const all = Buffer.concat([
    frame(1, '2024-01-02T03:04:05.123456789Z hello\n2024-01-02T03:04:06Z wor'),
    frame(1, 'ld\n'),
    frame(2, '2024-01-02T03:04:07Z oops\n'),
  ]);
  assert.deepEqual(demuxLogBuffer(all), [
    { stream: 'stdout', text: 'hello', ts: '2024-01-02T03:04:05.123456789Z' },
    { stream: 'stdout', text: 'world', ts: '2024-01-02T03:04:06Z' },
    { stream: 'stderr', text: 'oops', ts: '2024-01-02T03:04:07Z' },
  ]);
  const lines: LogLine[] = [];
  const d = new LogDemuxer((l) => lines.push(l));
  for (let i = 0; i < all.length; i += 3) d.push(all.subarray(i, i + 3));
  d.flush();
  assert.deepEqual(lines, demuxLogBuffer(all));
});
