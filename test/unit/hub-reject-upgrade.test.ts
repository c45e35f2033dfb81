// Refusing an upgrade: the whole HTTP error reaches the client before the socket closes, even when
// the reply cannot be handed to the kernel at once, and a peer that never reads is cut after a bound.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { rejectUpgrade } from '../../server/sockets/reject-upgrade';

/** A socket whose writes complete only after `delayMs` (a congested or TLS peer), recording what was flushed. */
class SlowSocket extends Duplex {
  flushed = '';
  destroyedAfter = '';
  constructor(private readonly delayMs: number) {
    super();
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    setTimeout(() => {
      // A real socket drops what is still queued when it is destroyed.
      if (!this.destroyed) this.flushed += chunk.toString();
      done();
    }, this.delayMs);
  }
  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    this.destroyedAfter = this.flushed;
    done(err);
  }
}

describe('rejectUpgrade', () => {
  test('the whole reply is flushed before the socket is destroyed', async () => {
    const socket = new SlowSocket(50);
    const closed = new Promise((r) => socket.once('close', r));
    rejectUpgrade(socket, 401, 'Device token missing, invalid or revoked');
    assert.equal(socket.destroyed, false, 'not destroyed while the reply is still queued');
    await closed;
    const expectedBody = 'Device token missing, invalid or revoked\n';
    assert.match(socket.destroyedAfter, /^HTTP\/1\.1 401 Unauthorized\r\n/);
    assert.match(socket.destroyedAfter, /\r\nConnection: close\r\n/);
    assert.match(socket.destroyedAfter, new RegExp(`\\r\\nContent-Length: ${expectedBody.length}\\r\\n`));
    assert.ok(socket.destroyedAfter.endsWith(`\r\n\r\n${expectedBody}`), socket.destroyedAfter);
  });

  test('extra headers are sent (an HTTP share asks for basic auth)', async () => {
    const socket = new SlowSocket(1);
    const closed = new Promise((r) => socket.once('close', r));
    rejectUpgrade(socket, 401, 'This share needs a user name and password.', {
      'WWW-Authenticate': 'Basic realm="share"',
    });
    await closed;
    assert.match(socket.destroyedAfter, /\r\nWWW-Authenticate: Basic realm="share"\r\n/);
  });

  test('an already destroyed socket is left alone', () => {
    const socket = new SlowSocket(1);
    socket.destroy();
    assert.doesNotThrow(() => rejectUpgrade(socket, 403, 'Origin not allowed'));
    assert.equal(socket.flushed, '');
  });
});
