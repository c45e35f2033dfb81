// The agent's CA: made once and sealed, reopened the same, signing server certificates that
// Node's own X.509 code (not the library that made them) accepts as issued by it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { AgentCa, CA_SECRET, needsRenewal, type SecretSlot } from '../../electron/agent/tls/agent-ca';
import { SecretBox } from '../../electron/agent/secrets';
import { tlsArchive } from '../../electron/agent/tls/postgres-tls';
import * as tar from 'tar-stream';

function memorySlot(): SecretSlot & { values: Map<string, string> } {
  const values = new Map<string, string>();
  return {
    values,
    get: (name) => values.get(name),
    set: (name, sealed) => (sealed === null ? values.delete(name) : values.set(name, sealed)),
  };
}

test('the CA is made once, sealed (no key in clear), and reopened as the same CA', async () => {
  const slot = memorySlot();
  const box = new SecretBox(randomBytes(32));
  const ca = await AgentCa.loadOrCreate(slot, box);
  const sealed = slot.values.get(CA_SECRET);
  assert.ok(sealed, 'stored under its name');
  assert.ok(!sealed.includes('PRIVATE KEY') && !sealed.includes('CERTIFICATE'), 'sealed, not PEM');
  const again = await AgentCa.loadOrCreate(slot, box);
  assert.equal(again.certPem, ca.certPem);
  const cert = new X509Certificate(ca.certPem);
  assert.equal(cert.ca, true);
  assert.ok(cert.verify(cert.publicKey), 'self-signed');
  assert.throws(() => box.open(sealed, 'another context'), /authentication/);
});

test('server certificates are issued by the CA, for the names asked, with a matching key', async () => {
  const slot = memorySlot();
  const box = new SecretBox(randomBytes(32));
  const ca = await AgentCa.loadOrCreate(slot, box);
  const issued = await ca.issueServerCert({
    commonName: 'lattice-orders',
    dnsNames: ['localhost'],
    ips: ['127.0.0.1'],
  });
  const leaf = new X509Certificate(issued.certPem);
  const root = new X509Certificate(ca.certPem);
  assert.equal(leaf.ca, false);
  assert.ok(leaf.checkIssued(root), 'issued by the CA');
  assert.ok(leaf.verify(root.publicKey), 'signature by the CA key');
  assert.ok(leaf.checkPrivateKey(createPrivateKey(issued.keyPem)), 'the key belongs to the certificate');
  assert.equal(leaf.checkHost('localhost'), 'localhost');
  assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(leaf.checkHost('evil.example'), undefined);
  assert.match(leaf.subject, /CN=lattice-orders/);
  assert.equal(issued.caPem, ca.certPem);
  assert.ok(Date.parse(leaf.validTo) > Date.now() + 300 * 86_400_000, 'about a year');
  assert.equal(needsRenewal(issued.certPem), false);

  // A second CA (another data directory) did not issue it.
  const other = await AgentCa.loadOrCreate(memorySlot(), box);
  assert.equal(leaf.checkIssued(new X509Certificate(other.certPem)), false);

  const short = await ca.issueServerCert({ commonName: 'soon', days: 10 });
  assert.equal(needsRenewal(short.certPem), true, 'inside the renewal month');
  assert.equal(needsRenewal('not a certificate'), true);
  await assert.rejects(
    ca.issueServerCert({ commonName: 'a,CN=b' }),
    /Cannot issue a certificate for the name/,
  );
});

test('the TLS archive gives the key 0600 to the server user and keeps the CA beside it', async () => {
  const ca = await AgentCa.loadOrCreate(memorySlot(), new SecretBox(randomBytes(32)));
  const issued = await ca.issueServerCert({ commonName: 'x', ips: ['127.0.0.1'] });
  const archive = await tlsArchive(issued, { uid: 999, gid: 998 });
  const entries: { name: string; mode?: number; uid?: number; gid?: number; body: string }[] = [];
  const extract = tar.extract();
  await new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        entries.push({
          name: h.name,
          mode: h.mode,
          uid: h.uid,
          gid: h.gid,
          body: Buffer.concat(chunks).toString(),
        });
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
    extract.end(archive);
  });
  const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
  assert.deepEqual(Object.keys(byName).sort(), [
    'etc/lattice/',
    'etc/lattice/tls/',
    'etc/lattice/tls/ca.crt',
    'etc/lattice/tls/server.crt',
    'etc/lattice/tls/server.key',
  ]);
  const key = byName['etc/lattice/tls/server.key'];
  assert.equal(key.mode, 0o600);
  assert.equal(key.uid, 999);
  assert.equal(key.gid, 998);
  assert.equal(key.body, issued.keyPem);
  assert.ok(byName['etc/lattice/tls/server.crt'].body.startsWith(issued.certPem), 'leaf first, then the CA');
  assert.equal(byName['etc/lattice/tls/'].uid, 0, 'the directories are root’s');
});
