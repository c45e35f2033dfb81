// Where the agent's relay streams skip the WebSocket mask: only where no intermediary can read the
// frames (TLS to the hub, or a hub on loopback); a plain ws hub on another host keeps random masks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { framesUnreadable, streamUrl } from '../../electron/agent/tunnels/relay-streams';

test('zero masks only over TLS or loopback', () => {
  const unreadable = (hub: string) => framesUnreadable(streamUrl(hub, 's1'));
  assert.equal(unreadable('https://hub.example.com'), true);
  assert.equal(unreadable('https://203.0.113.7:8443/base'), true);
  assert.equal(unreadable('http://127.0.0.1:8080'), true);
  assert.equal(unreadable('http://127.8.9.10:8080'), true);
  assert.equal(unreadable('http://localhost:8080'), true);
  assert.equal(unreadable('http://[::1]:8080'), true);
  assert.equal(unreadable('http://hub.example.com'), false);
  assert.equal(unreadable('http://192.168.1.20:8080'), false);
  assert.equal(unreadable('http://127.0.0.1.example.com'), false);
  assert.equal(unreadable('http://[::ffff:10.0.0.1]:8080'), false);
});
