// The agent's request for a relay byte stream: `<hub>/agent/stream/<id>` as an HTTP upgrade to the
// byte-stream protocol, with the device token. One piece for both places that dial it — the pump
// thread (relay-stream-worker.ts) and the main thread where that thread cannot run
// (relay-streams.ts) — importing only Node built-ins, so the thread's bundle stays small.
import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ByteStreamRequest {
  /** The Upgrade token (BYTE_STREAM_PROTOCOL). */
  upgrade: string;
  deviceToken: string;
  /** How long the hub may take to answer before the request is destroyed with an error. */
  timeoutMs: number;
  /** TLS roots for an https: hub (the hub's private CA among them). */
  ca?: string[];
}

/** Starts the upgrade request to `target` (http: or https:); the caller listens and calls end(). */
export function requestByteStream(target: URL, o: ByteStreamRequest): ClientRequest {
  const request = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, {
    agent: false,
    headers: {
      connection: 'Upgrade',
      upgrade: o.upgrade,
      authorization: `Bearer ${o.deviceToken}`,
    },
    timeout: o.timeoutMs,
    ...(o.ca ? { ca: o.ca } : {}),
  });
  request.on('timeout', () => request.destroy(new Error('the hub did not answer the stream upgrade')));
  return request;
}
