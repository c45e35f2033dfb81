// Reading a frame from a peer: text only, valid JSON, not too deep, no prototype keys. Failures
// carry the close code the socket should be closed with.
import type { RawData } from 'ws';
import { unsafeJsonReason } from '../http/safe-json';

export const CLOSE = {
  unsupportedData: 1003,
  invalidPayload: 1007,
  policyViolation: 1008,
  tooBig: 1009,
  tryAgainLater: 1013,
} as const;

export type FrameResult = { ok: true; value: unknown } | { ok: false; code: number; reason: string };

export function readFrame(data: RawData, isBinary: boolean): FrameResult {
  if (isBinary) return { ok: false, code: CLOSE.unsupportedData, reason: 'binary frames are not accepted' };
  // ws hands over a Buffer (its default binaryType); Buffer.from would copy one.
  const text = Buffer.isBuffer(data)
    ? data.toString('utf8')
    : Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: CLOSE.invalidPayload, reason: 'malformed JSON' };
  }
  const unsafe = unsafeJsonReason(value);
  if (unsafe) return { ok: false, code: CLOSE.policyViolation, reason: unsafe.slice(0, 100) };
  if (
    value === null ||
    typeof value !== 'object' ||
    Array.isArray(value) ||
    typeof (value as { type?: unknown }).type !== 'string'
  ) {
    return { ok: false, code: CLOSE.policyViolation, reason: 'a message is a JSON object with a "type"' };
  }
  return { ok: true, value };
}
