// A second device for bench/relay's Node-client paths: the agent's own relay code (HubLink and
// RelayTunnelProvider, as the share service wires them) with one TCP tunnel to the stream server,
// since a real share of a custom image is HTTP-only and the Node measurements need raw bytes.
// The Postgres paths (psql, pgbench) go through a real share of a real agent instead.
import pino from 'pino';
import { LatticeError, type AgentEvent } from '../../shared';
import { HubLink, pairWithHub } from '../../electron/agent/hub-link';
import { RelayTunnelProvider } from '../../electron/agent/tunnels/relay-tunnel';
import { api, registerUser } from '../../test/integration/hub-fixtures';
import { childMain } from './child';

/** Without a pairing code it registers its own user first (a TLS hub its parent cannot call). */
childMain<{ hubUrl: string; code?: string; targetPort: number; tls?: boolean; shareId?: string }>(
  async ({ hubUrl, code: given, targetPort, tls, shareId = 'sh_bench_stream' }) => {
    const logger = pino({ level: 'warn' });
    let code = given;
    if (!code) {
      const user = await registerUser({ url: hubUrl });
      code = (
        await api<{ code: string }>({ url: hubUrl }, 'POST', '/api/devices/pairing', {
          token: user.accessToken,
        })
      ).body.code;
    }
    const { deviceToken } = await pairWithHub({ hubUrl, code, name: 'bench-relay-device' });
    const link = new HubLink({
      hubUrl,
      deviceToken,
      name: 'bench-relay-device',
      dispatch: async () => {
        throw new LatticeError('forbidden', 'the bench device runs no commands');
      },
      onEvent: (_l: (e: AgentEvent) => void) => () => undefined,
      logger,
    });
    const relay = new RelayTunnelProvider({ link, hubUrl, deviceToken, logger });
    link.start();
    const endpoint = await relay.open({
      shareId,
      kind: 'tcp',
      localHost: '127.0.0.1',
      localPort: targetPort,
      expiresAt: null,
      // Through a hub with a certificate the public port speaks TLS (issue 12); without one, plain.
      protection: tls ? 'tls' : 'plain',
    });
    return {
      ready: { publicPort: endpoint.publicPort },
      close: async () => {
        await relay.closeAll();
        await link.stop();
      },
    };
  },
);
