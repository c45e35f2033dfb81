// What the relay TLS cases share: psql run where a client downloaded the share's CA file.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Share } from '../../shared';
import type { ProcessResult } from './share-support';

const PSQL = '/usr/bin/psql';

/** psql run where the share's CA file was downloaded (the string names it relative to the client). */
export function psqlIn(cwd: string, args: string[], input = ''): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(PSQL, ['-X', '-qAt', '-v', 'ON_ERROR_STOP=1', ...args], { cwd, env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** Downloads the share's CA where a client would (its caUrl) and returns the folder. */
export async function downloadCa(share: Share): Promise<string> {
  assert.ok(share.hubTls?.caUrl, `the share offers its CA: ${JSON.stringify(share.hubTls)}`);
  const res = await fetch(share.hubTls.caUrl);
  assert.equal(res.status, 200);
  const pem = await res.text();
  assert.equal(pem, share.hubTls.caPem, 'the same CA in the share and at its URL');
  const dir = mkdtempSync(join(tmpdir(), 'lattice-client-'));
  writeFileSync(join(dir, 'lattice-relay-ca.pem'), pem);
  return dir;
}
