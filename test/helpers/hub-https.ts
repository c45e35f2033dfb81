// The tests' own HTTPS calls to a hub on a private CA, trusting that CA for the one request (the test
// process's NODE_EXTRA_CA_CERTS is read at start-up and need not hold it): a JSON API call, a
// registered and signed-in user, a pairing code.
import { request } from 'node:https';
import type { AuthResponse } from '../../shared';

export async function hubHttps<T>(
  hubUrl: string,
  ca: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; text?: boolean } = {},
): Promise<{ status: number; body: T }> {
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, hubUrl),
      {
        method,
        ca,
        headers: {
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: (opts.text ? text : text ? JSON.parse(text) : undefined) as T,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

let users = 0;

/** Registers and signs in a fresh user on the hub. */
export async function registerUserHttps(hubUrl: string, ca: string): Promise<AuthResponse> {
  const email = `private-ca-${process.pid}-${++users}@example.com`;
  const password = 'a long enough password';
  const reg = await hubHttps(hubUrl, ca, 'POST', '/api/auth/register', { body: { email, password } });
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${JSON.stringify(reg.body)}`);
  const login = await hubHttps<AuthResponse>(hubUrl, ca, 'POST', '/api/auth/login', {
    body: { email, password },
  });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  return login.body;
}

/** A fresh pairing code of the user's account. */
export async function pairingCodeHttps(hubUrl: string, ca: string, accessToken: string): Promise<string> {
  const res = await hubHttps<{ code: string }>(hubUrl, ca, 'POST', '/api/devices/pairing', {
    token: accessToken,
  });
  if (res.status !== 201) throw new Error(`pairing code failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.code;
}
