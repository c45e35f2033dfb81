// The hub's certificate at start: from PEM files (`--tls-cert/--tls-key`, `--tls-ca`) or from ACME
// (`--acme-email` + `--acme-directory`), or none (plain HTTP and plain relay ports — a hub on
// loopback or behind a TLS-terminating proxy). Also answers `GET /api/relay-ca.pem`, the CA a relay
// visitor needs when the certificate is not publicly trusted.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { RELAY_CA_FILE, RELAY_CA_PATH } from '../../shared';
import { AcmeCertificates, type AcmeOptions } from './acme';
import { HubCertificate } from './hub-certificate';

export interface HubTlsOptions {
  tls?: { certFile: string; keyFile: string; caFile?: string };
  acme?: AcmeOptions;
}

export interface HubTls {
  certificate?: HubCertificate;
  acme?: AcmeCertificates;
}

export async function startHubTls(
  opts: HubTlsOptions,
  host: string | undefined,
  dataDir: string,
  logger: Logger,
): Promise<HubTls> {
  if (opts.tls && opts.acme)
    throw new Error('give --tls-cert/--tls-key or --acme-email/--acme-directory, not both');
  if (opts.tls) return { certificate: HubCertificate.fromFiles(opts.tls) };
  if (!opts.acme) return {};
  if (!host)
    throw new Error('ACME needs the host name the certificate is for: give --public-url or --public-host');
  return AcmeCertificates.start(opts.acme, host, dataDir, logger.child({ part: 'acme' }));
}

/** Serves the relay CA; false when the request is not for it. */
export function serveRelayCa(tls: HubTls, req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'GET' || req.url?.split('?')[0] !== RELAY_CA_PATH) return false;
  const caPem = tls.certificate?.trust.caPem;
  if (!caPem) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(
      tls.certificate
        ? "This hub's certificate is publicly trusted: clients use the system's CAs (sslrootcert=system).\n"
        : 'This hub has no certificate.\n',
    );
    return true;
  }
  res.writeHead(200, {
    'content-type': 'application/x-pem-file',
    'content-disposition': `attachment; filename="${RELAY_CA_FILE}"`,
    'cache-control': 'no-cache',
  });
  res.end(caPem);
  return true;
}
