// A real hub refusing WebSocket upgrades to a client that reads slowly: the client still gets the
// whole 401/403/404 with its reason, then an orderly end of the connection (not a reset).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { BYTE_STREAM_PROTOCOL } from '../../shared';
import { pairDevice, rawUpgrade, registerUser, startTestHub, type TestHub } from './hub-fixtures';

/** Sends a raw upgrade request, waits `readAfterMs` without reading, then reads until the hub ends it. */
function slowUpgrade(
  hub: TestHub,
  path: string,
  headers: Record<string, string>,
  readAfterMs: number,
): Promise<{ text: string; ending: 'end' | string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(hub.url);
    const socket: Socket = connect(Number(port), hostname, () => {
      socket.pause();
      const lines = [
        `GET ${path} HTTP/1.1`,
        `Host: ${hostname}:${port}`,
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Sec-WebSocket-Version: 13',
        `Sec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}`,
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      ];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      setTimeout(() => {
        let text = '';
        socket.on('data', (d: Buffer) => (text += d.toString()));
        socket.on('end', () => resolve({ text, ending: 'end' }));
        socket.on('error', (err: NodeJS.ErrnoException) =>
          resolve({ text, ending: err.code ?? err.message }),
        );
        socket.resume();
      }, readAfterMs);
    });
    socket.once('error', reject);
  });
}

describe('upgrade refusals reach a slow reader in full', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.stop());

  test('a bad device token: the whole 401 with its reason, then an orderly end', async () => {
    const r = await slowUpgrade(hub, '/agent', { Authorization: 'Bearer not-a-token' }, 400);
    assert.equal(r.ending, 'end');
    const [head, body] = r.text.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 401 Unauthorized\r\n/);
    assert.equal(body, 'Device token missing, invalid or revoked\n');
    assert.match(head, new RegExp(`Content-Length: ${Buffer.byteLength(body)}`));
  });

  test('a dashboard socket from a foreign origin: the whole 403', async () => {
    const r = await slowUpgrade(hub, '/api/events', { Origin: 'https://evil.example' }, 400);
    assert.equal(r.ending, 'end');
    assert.match(r.text, /^HTTP\/1\.1 403 Forbidden\r\n[\s\S]*\r\n\r\nOrigin not allowed\n$/);
  });

  test('an unknown WebSocket path: the whole 404', async () => {
    const r = await slowUpgrade(hub, '/nowhere', {}, 200);
    assert.equal(r.ending, 'end');
    assert.match(r.text, /^HTTP\/1\.1 404 Not Found\r\n[\s\S]*No WebSocket endpoint here\n$/);
  });

  test('a relay byte-stream upgrade is checked like a WebSocket: 401 without a device token, 404 for a stream nobody asked for', async () => {
    const byteStream = { Upgrade: BYTE_STREAM_PROTOCOL };
    const anonymous = await rawUpgrade(hub, '/agent/stream/s1', byteStream);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.closedByHub, true);
    const user = await registerUser(hub);
    const { deviceToken } = await pairDevice(hub, user.accessToken);
    const unknown = await rawUpgrade(hub, '/agent/stream/s1', {
      ...byteStream,
      Authorization: `Bearer ${deviceToken}`,
    });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.closedByHub, true);
  });
});
