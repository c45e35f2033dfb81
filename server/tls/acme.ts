// The hub's certificate from an ACME CA (Let's Encrypt, or any RFC 8555 server: step-ca, pebble),
// with `acme-client`. The http-01 challenge is answered by a small plain-HTTP listener (port 80 by
// default, `--acme-http-port`) that serves nothing else. The certificate and its key live in the
// data directory (certificate-store.ts); it is renewed when a third of its life is left, checked
// twice a day, and swapped in place (HubCertificate.replace) without closing any connection.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Agent } from 'node:https';
import { isIP, type AddressInfo } from 'node:net';
import * as acme from 'acme-client';
import type { Logger } from 'pino';
import { checkAcmeOptions } from './acme-options';
import { CertificateStore } from './certificate-store';
import { HubCertificate, splitChain, type CertificatePair } from './hub-certificate';

export interface AcmeOptions {
  /** Contact address for the ACME account (expiry notices). */
  email: string;
  /** The CA's directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory. */
  directoryUrl: string;
  /** PEM the hub trusts for the directory's own HTTPS (a private ACME server); default the system's. */
  directoryCaFile?: string;
  /** The CA that issues the certificates, for clients to trust when it is not public (`--tls-ca`). */
  caFile?: string;
  /** Port of the http-01 challenge listener; default 80. 0 picks one (tests: pebble skips validation). */
  challengePort?: number;
  /** How often the certificate's age is checked; default 12 h. */
  checkEveryMs?: number;
}

const ACME_PATH = '/.well-known/acme-challenge/';

/** Due for renewal once less than a third of its lifetime is left. */
export function renewalDue(pair: CertificatePair, now = Date.now()): boolean {
  const leaf = splitChain(pair.certPem)[0];
  const from = Date.parse(leaf.validFrom);
  const to = Date.parse(leaf.validTo);
  return now >= to - (to - from) / 3;
}

function covers(pair: CertificatePair, domains: string[]): boolean {
  const san = splitChain(pair.certPem)[0].subjectAltName ?? '';
  const names = san.split(',').map((n) => n.trim().replace(/^DNS:/, ''));
  return domains.every((d) => names.includes(d));
}

export class AcmeCertificates {
  private readonly store: CertificateStore;
  private readonly challenges = new Map<string, string>();
  private challengeServer?: Server;
  private timer?: NodeJS.Timeout;
  private renewing?: Promise<void>;
  private certificate?: HubCertificate;

  private constructor(
    private readonly opts: AcmeOptions,
    private readonly domains: string[],
    dataDir: string,
    private readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>,
  ) {
    this.store = new CertificateStore(dataDir);
  }

  /**
   * The hub's certificate: the stored one when it still covers the host and is not due, otherwise a
   * new one from the CA (the hub does not start without it). Renewal then runs on its own.
   */
  static async start(
    opts: AcmeOptions,
    domain: string,
    dataDir: string,
    logger: Pick<Logger, 'info' | 'warn' | 'error'>,
  ): Promise<{ acme: AcmeCertificates; certificate: HubCertificate }> {
    checkAcmeOptions({ email: opts.email, directoryUrl: opts.directoryUrl });
    if (isIP(domain.replace(/^\[|\]$/g, '')))
      throw new Error(
        `ACME certificates name a host: give --public-url or --public-host a DNS name, not ${domain}`,
      );
    const self = new AcmeCertificates(opts, [domain], dataDir, logger);
    const caPem = opts.caFile ? readFileSync(opts.caFile, 'utf8') : undefined;
    try {
      let pair = self.store.certificate();
      if (!pair || !covers(pair, self.domains) || renewalDue(pair)) pair = await self.obtain();
      else
        logger.info(
          { notAfter: splitChain(pair.certPem)[0].validTo },
          'ACME certificate from the data directory',
        );
      self.certificate = new HubCertificate(pair, caPem);
    } catch (err) {
      await self.close();
      throw new Error(`ACME (${opts.directoryUrl}): ${(err as Error).message}`);
    }
    self.timer = setInterval(
      () => {
        if (self.certificate && renewalDue(self.certificate.pair)) void self.renew().catch(() => undefined);
      },
      opts.checkEveryMs ?? 12 * 3_600_000,
    );
    self.timer.unref();
    return { acme: self, certificate: self.certificate };
  }

  /** Obtains a new certificate now and swaps it in; open connections keep theirs. */
  renew(): Promise<void> {
    this.renewing ??= (async () => {
      try {
        const pair = await this.obtain();
        this.certificate!.replace(pair);
        this.logger.info({ notAfter: this.certificate!.notAfter.toISOString() }, 'ACME certificate renewed');
      } catch (err) {
        this.logger.error(
          { err: (err as Error).message },
          'ACME renewal failed; the current certificate stays',
        );
        throw err;
      } finally {
        this.renewing = undefined;
      }
    })();
    return this.renewing;
  }

  /** The port the http-01 listener uses while a challenge is open (for tests and logs). */
  get challengePort(): number | undefined {
    return (this.challengeServer?.address() as AddressInfo | null)?.port;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.renewing?.catch(() => undefined);
    await this.stopChallengeServer();
  }

  private async obtain(): Promise<CertificatePair> {
    const httpsAgent = this.opts.directoryCaFile
      ? new Agent({ ca: readFileSync(this.opts.directoryCaFile) })
      : undefined;
    acme.axios.defaults.httpsAgent = httpsAgent;
    let accountKey = this.store.accountKey();
    if (!accountKey) {
      accountKey = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
      this.store.saveAccountKey(accountKey);
    }
    const client = new acme.Client({ directoryUrl: this.opts.directoryUrl, accountKey });
    const [key, csr] = await acme.crypto.createCsr(
      { commonName: this.domains[0], altNames: this.domains },
      await acme.crypto.createPrivateEcdsaKey('P-256'),
    );
    await this.startChallengeServer();
    try {
      const certPem = await client.auto({
        csr,
        email: this.opts.email,
        termsOfServiceAgreed: true,
        challengePriority: ['http-01'],
        // The CA checks the challenge itself; a self-check would need this host's port 80 from here.
        skipChallengeVerification: true,
        challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
          this.challenges.set(challenge.token, keyAuthorization);
        },
        challengeRemoveFn: async (_authz, challenge) => {
          this.challenges.delete(challenge.token);
        },
      });
      const pair = { certPem, keyPem: key.toString() };
      this.store.saveCertificate(pair);
      this.logger.info(
        { domains: this.domains, notAfter: splitChain(certPem)[0].validTo },
        'ACME certificate obtained',
      );
      return pair;
    } finally {
      await this.stopChallengeServer();
    }
  }

  private startChallengeServer(): Promise<void> {
    if (this.challengeServer) return Promise.resolve();
    const server = createServer((req, res) => {
      const token = req.url?.startsWith(ACME_PATH) ? req.url.slice(ACME_PATH.length) : undefined;
      const answer = token ? this.challenges.get(token) : undefined;
      res.writeHead(answer ? 200 : 404, { 'content-type': 'text/plain' });
      res.end(answer ?? 'not found\n');
    });
    this.challengeServer = server;
    return new Promise((resolve, reject) => {
      server.once('error', (err) =>
        reject(
          new Error(
            `the http-01 challenge listener cannot open port ${this.opts.challengePort ?? 80}: ${err.message}`,
          ),
        ),
      );
      server.listen(this.opts.challengePort ?? 80, () => resolve());
    });
  }

  private async stopChallengeServer(): Promise<void> {
    const server = this.challengeServer;
    this.challengeServer = undefined;
    if (!server?.listening) return;
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  }
}
