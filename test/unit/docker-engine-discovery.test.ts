// Finding the Docker Engine the way the docker CLI does, one step at a time, on fixture files laid out
// as the CLI's context store lays them out (contexts/meta/<sha256>/meta.json, contexts/tls/<sha256>/docker/).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent as HttpsAgent } from 'node:https';
import Docker from 'dockerode';
import { DeployArgs, LatticeError } from '../../shared';
import {
  contextDirName,
  dockerConfigDir,
  listContexts,
  readContext,
  readDockerConfig,
} from '../../electron/agent/docker/docker-contexts';
import {
  checkEngineChoice,
  dockerContexts,
  dockerodeOptions,
  engineSockets,
  failureReason,
  locateEngine,
  optionHost,
  parseDockerHost,
  startHint,
  type DiscoveryEnv,
} from '../../electron/agent/docker/engine-discovery';
import { describeEngine, downMessage } from '../../electron/agent/docker/engine';
import { checkDeploy, exposesDockerSocket } from '../../electron/agent/policy';

const root = mkdtempSync(join(tmpdir(), 'lattice-discovery-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A fresh home folder with an optional ~/.docker/config.json. */
function home(config?: unknown): string {
  const dir = join(root, `home-${++n}`);
  mkdirSync(join(dir, '.docker'), { recursive: true });
  if (config !== undefined) {
    writeFileSync(
      join(dir, '.docker', 'config.json'),
      typeof config === 'string' ? config : JSON.stringify(config),
    );
  }
  return dir;
}

/** Writes a context the way `docker context create` does. */
function addContext(
  configDir: string,
  name: string,
  host: string,
  opts: { skipTLSVerify?: boolean; description?: string; tls?: Record<string, string> } = {},
): void {
  const metaDir = join(configDir, 'contexts', 'meta', contextDirName(name));
  mkdirSync(metaDir, { recursive: true });
  writeFileSync(
    join(metaDir, 'meta.json'),
    JSON.stringify({
      Name: name,
      Metadata: opts.description ? { Description: opts.description } : {},
      Endpoints: { docker: { Host: host, SkipTLSVerify: opts.skipTLSVerify ?? false } },
    }),
  );
  if (opts.tls) {
    const tlsDir = join(configDir, 'contexts', 'tls', contextDirName(name), 'docker');
    mkdirSync(tlsDir, { recursive: true });
    for (const [file, text] of Object.entries(opts.tls)) writeFileSync(join(tlsDir, file), text);
  }
}

const linux = (homeDir: string, env: Record<string, string> = {}): DiscoveryEnv => ({
  env,
  platform: 'linux',
  homeDir,
});

function refusal(fn: () => unknown): LatticeError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof LatticeError, `expected a LatticeError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an error');
}

describe('the context store', () => {
  it('names context folders by the sha256 of the name, as the CLI does', () => {
    // The folder every docker install has for the default context's TLS data.
    assert.equal(
      contextDirName('default'),
      '37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f',
    );
  });

  it('reads ~/.docker, or $DOCKER_CONFIG when set', () => {
    assert.equal(dockerConfigDir({}, '/home/me'), '/home/me/.docker');
    assert.equal(dockerConfigDir({ DOCKER_CONFIG: '/etc/dc' }, '/home/me'), '/etc/dc');
  });

  it('reads currentContext from config.json, and none from a missing file or one without it', () => {
    const withCurrent = home({ currentContext: 'colima', auths: {} });
    assert.equal(readDockerConfig(join(withCurrent, '.docker')).currentContext, 'colima');
    assert.equal(readDockerConfig(join(home({ auths: {} }), '.docker')).currentContext, undefined);
    assert.equal(readDockerConfig(join(home(), '.docker')).currentContext, undefined);
  });

  it('names the file when config.json is broken', () => {
    const dir = join(home('{ not json'), '.docker');
    const err = refusal(() => readDockerConfig(dir));
    assert.match(err.message, new RegExp(`${join(dir, 'config.json')} is not valid JSON`));
    const typed = join(home({ currentContext: 7 }), '.docker');
    assert.match(
      refusal(() => readDockerConfig(typed)).message,
      /currentContext in .*config\.json must be a string/,
    );
  });

  it('reads a context: host, description, SkipTLSVerify and its TLS files', () => {
    const dir = join(home(), '.docker');
    addContext(dir, 'remote', 'tcp://10.0.0.5:2376', {
      description: 'the build box',
      skipTLSVerify: true,
      tls: { 'ca.pem': 'CA', 'cert.pem': 'CERT', 'key.pem': 'KEY' },
    });
    const ctx = readContext(dir, 'remote');
    assert.equal(ctx.host, 'tcp://10.0.0.5:2376');
    assert.equal(ctx.description, 'the build box');
    assert.equal(ctx.skipTLSVerify, true);
    assert.equal(ctx.tls?.ca?.toString(), 'CA');
    assert.equal(ctx.tls?.cert?.toString(), 'CERT');
    assert.equal(ctx.tls?.key?.toString(), 'KEY');
    assert.equal(ctx.metaPath, join(dir, 'contexts', 'meta', contextDirName('remote'), 'meta.json'));
  });

  it('has no TLS material for a context without tls files', () => {
    const dir = join(home(), '.docker');
    addContext(dir, 'colima', 'unix:///Users/me/.colima/default/docker.sock');
    assert.equal(readContext(dir, 'colima').tls, undefined);
  });

  it('says which context is missing, where it looked and which exist', () => {
    const dir = join(home(), '.docker');
    addContext(dir, 'colima', 'unix:///x/colima.sock');
    const err = refusal(() => readContext(dir, 'orbstack'));
    assert.equal(err.code, 'not_found');
    assert.match(err.message, /docker context "orbstack" does not exist/);
    assert.ok(err.message.includes(join(dir, 'contexts', 'meta', contextDirName('orbstack'), 'meta.json')));
    assert.match(err.message, /contexts found: colima/);
  });

  it('refuses a context name the CLI would refuse, and a context without a docker endpoint', () => {
    const dir = join(home(), '.docker');
    assert.match(refusal(() => readContext(dir, '../etc')).message, /is not a docker context name/);
    const metaDir = join(dir, 'contexts', 'meta', contextDirName('k8s-only'));
    mkdirSync(metaDir, { recursive: true });
    writeFileSync(join(metaDir, 'meta.json'), JSON.stringify({ Name: 'k8s-only', Endpoints: {} }));
    assert.match(
      refusal(() => readContext(dir, 'k8s-only')).message,
      /has no Docker endpoint \(Endpoints\.docker\.Host\)/,
    );
  });

  it('lists every context sorted, a broken one with its error', () => {
    const dir = join(home(), '.docker');
    addContext(dir, 'orbstack', 'unix:///o.sock', { description: 'OrbStack' });
    addContext(dir, 'colima', 'unix:///c.sock');
    const broken = join(dir, 'contexts', 'meta', contextDirName('broken'));
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, 'meta.json'), '{');
    const list = listContexts(dir);
    assert.deepEqual(
      list.filter((c) => !c.error),
      [
        { name: 'colima', host: 'unix:///c.sock' },
        { name: 'orbstack', host: 'unix:///o.sock', description: 'OrbStack' },
      ],
    );
    assert.equal(list.filter((c) => c.error).length, 1);
    assert.match(list.find((c) => c.error)!.error!, /not valid JSON/);
  });
});

describe('DOCKER_HOST forms', () => {
  it('unix:// is a socket path', () => {
    const p = parseDockerHost('unix:///run/user/1000/docker.sock', 'DOCKER_HOST');
    assert.equal(p.socketPath, '/run/user/1000/docker.sock');
    assert.equal(p.connection.socketPath, '/run/user/1000/docker.sock');
  });

  it("the chosen endpoint wins over a DOCKER_HOST in the process's own environment", () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = 'tcp://10.9.9.9:2376';
    try {
      const socket = parseDockerHost('unix:///srv/picked.sock', 'test').connection;
      // The trap: dockerode alone fills the host from process.env and would dial 10.9.9.9.
      assert.equal((new Docker(socket).modem as { host?: string }).host, '10.9.9.9');
      const modem = new Docker(dockerodeOptions(socket)).modem as {
        host?: string;
        socketPath?: string;
        protocol?: string;
      };
      assert.equal(modem.host, undefined);
      assert.equal(modem.socketPath, '/srv/picked.sock');
      assert.equal(modem.protocol, 'http');
      const tcp = new Docker(dockerodeOptions(parseDockerHost('tcp://10.0.0.5:2375', 'test').connection))
        .modem as { host?: string; port?: number; protocol?: string };
      assert.deepEqual([tcp.host, tcp.port, tcp.protocol], ['10.0.0.5', 2375, 'http']);
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });

  it('npipe:// is a Windows named pipe', () => {
    const p = parseDockerHost('npipe:////./pipe/docker_engine', 'DOCKER_HOST');
    assert.equal(p.socketPath, '//./pipe/docker_engine');
  });

  it('tcp:// takes the port, or 2375 without TLS and 2376 with it', () => {
    assert.deepEqual(parseDockerHost('tcp://10.0.0.5:4243', 'DOCKER_HOST').connection, {
      protocol: 'http',
      host: '10.0.0.5',
      port: 4243,
    });
    assert.equal(parseDockerHost('tcp://box', 'DOCKER_HOST').connection.port, 2375);
    const tls = parseDockerHost('tcp://box', 'DOCKER_HOST', { tls: { ca: Buffer.from('CA') } });
    assert.equal(tls.connection.port, 2376);
    assert.equal(tls.connection.protocol, 'https');
    assert.equal(tls.connection.ca?.toString(), 'CA');
    assert.equal(tls.tls, true);
  });

  it('ssh:// runs over ssh with the user and the ssh agent', () => {
    const p = parseDockerHost(
      'ssh://me@build.example:2222',
      'DOCKER_HOST',
      {},
      { SSH_AUTH_SOCK: '/tmp/agent' },
    );
    assert.deepEqual(p.connection, {
      protocol: 'ssh',
      host: 'build.example',
      port: 2222,
      username: 'me',
      sshOptions: { agent: '/tmp/agent' },
    });
  });

  for (const [bad, why] of [
    ['localhost:2375', /it has no scheme/],
    ['unix://docker.sock', /needs an absolute path/],
    ['fd://3', /fd:\/\/ is not supported/],
    ['npipe://docker_engine', /npipe:\/\/\/\/\.\/pipe\/docker_engine/],
    ['tcp://box:2375/v1', /a path after the address/],
  ] as const) {
    it(`refuses ${bad}, naming where it came from and the forms that work`, () => {
      const err = refusal(() => parseDockerHost(bad, 'DOCKER_HOST'));
      assert.equal(err.code, 'invalid_argument');
      assert.match(
        err.message,
        new RegExp(`^DOCKER_HOST=${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not a Docker host`),
      );
      assert.match(err.message, why);
      assert.match(err.message, /unix:\/\/\/path\/to\/docker\.sock, tcp:\/\/host:2376/);
    });
  }
});

describe('the order of the steps', () => {
  it('with nothing set: the platform defaults, system socket first, then rootless and Docker Desktop', () => {
    const h = home();
    const found = locateEngine({}, linux(h, { XDG_RUNTIME_DIR: '/run/user/1000' }));
    assert.deepEqual(
      found.map((c) => c.host),
      [
        'unix:///var/run/docker.sock',
        'unix:///run/user/1000/docker.sock',
        `unix://${h}/.docker/run/docker.sock`,
        `unix://${h}/.docker/desktop/docker.sock`,
      ],
    );
    assert.ok(found.every((c) => c.source === 'default' && c.context === 'default'));
    assert.match(found[1].how, /rootless/);
    assert.match(found[2].how, /Docker Desktop/);
  });

  it("on macOS: /var/run/docker.sock, then Docker Desktop's ~/.docker/run/docker.sock", () => {
    const h = home();
    assert.deepEqual(
      locateEngine({}, { env: {}, platform: 'darwin', homeDir: h }).map((c) => c.host),
      ['unix:///var/run/docker.sock', `unix://${h}/.docker/run/docker.sock`],
    );
  });

  it('on Windows: the docker_engine pipe', () => {
    const [only, ...rest] = locateEngine({}, { env: {}, platform: 'win32', homeDir: home() });
    assert.equal(only.host, 'npipe:////./pipe/docker_engine');
    assert.equal(only.socketPath, '//./pipe/docker_engine');
    assert.deepEqual(rest, []);
  });

  it('config.json without currentContext: the defaults', () => {
    const found = locateEngine({}, linux(home({ auths: {} })));
    assert.equal(found[0].host, 'unix:///var/run/docker.sock');
    assert.equal(found[0].source, 'default');
  });

  it("currentContext in config.json: that context's endpoint, and only it", () => {
    const h = home({ currentContext: 'colima' });
    addContext(join(h, '.docker'), 'colima', `unix://${h}/.colima/default/docker.sock`);
    const found = locateEngine({}, linux(h));
    assert.equal(found.length, 1);
    assert.equal(found[0].host, `unix://${h}/.colima/default/docker.sock`);
    assert.equal(found[0].context, 'colima');
    assert.equal(found[0].source, 'currentContext');
    assert.equal(found[0].how, `currentContext "colima" in ${join(h, '.docker', 'config.json')}`);
    assert.match(found[0].hint, /colima start/);
  });

  it('currentContext "default": the defaults, as for the CLI', () => {
    const found = locateEngine({}, linux(home({ currentContext: 'default' })));
    assert.equal(found[0].host, 'unix:///var/run/docker.sock');
    assert.equal(found[0].source, 'currentContext');
  });

  it('DOCKER_CONFIG moves the config and the context store', () => {
    const h = home({ currentContext: 'ignored' });
    const moved = join(root, `moved-${++n}`);
    mkdirSync(moved, { recursive: true });
    writeFileSync(join(moved, 'config.json'), JSON.stringify({ currentContext: 'podman' }));
    addContext(moved, 'podman', 'unix:///run/user/1000/podman/podman.sock');
    const [c] = locateEngine({}, linux(h, { DOCKER_CONFIG: moved }));
    assert.equal(c.host, 'unix:///run/user/1000/podman/podman.sock');
    assert.equal(c.how, `currentContext "podman" in ${join(moved, 'config.json')}`);
    assert.match(c.hint, /podman machine start/);
  });

  it('DOCKER_CONTEXT wins over currentContext', () => {
    const h = home({ currentContext: 'colima' });
    addContext(join(h, '.docker'), 'colima', 'unix:///c.sock');
    addContext(join(h, '.docker'), 'orbstack', 'unix:///o.sock');
    const [c] = locateEngine({}, linux(h, { DOCKER_CONTEXT: 'orbstack' }));
    assert.equal(c.host, 'unix:///o.sock');
    assert.equal(c.source, 'DOCKER_CONTEXT');
    assert.equal(c.how, 'DOCKER_CONTEXT=orbstack in the environment');
  });

  it('DOCKER_HOST wins over DOCKER_CONTEXT and currentContext', () => {
    const h = home({ currentContext: 'colima' });
    addContext(join(h, '.docker'), 'colima', 'unix:///c.sock');
    const found = locateEngine(
      {},
      linux(h, { DOCKER_HOST: 'tcp://127.0.0.1:2375', DOCKER_CONTEXT: 'colima' }),
    );
    assert.equal(found.length, 1);
    assert.equal(found[0].host, 'tcp://127.0.0.1:2375');
    assert.equal(found[0].source, 'DOCKER_HOST');
    assert.equal(found[0].context, 'default');
  });

  it('DOCKER_HOST over TLS takes DOCKER_TLS_VERIFY and the files in DOCKER_CERT_PATH', () => {
    const certs = join(root, `certs-${++n}`);
    mkdirSync(certs);
    writeFileSync(join(certs, 'ca.pem'), 'CA');
    writeFileSync(join(certs, 'cert.pem'), 'CERT');
    writeFileSync(join(certs, 'key.pem'), 'KEY');
    const [c] = locateEngine(
      {},
      linux(home(), { DOCKER_HOST: 'tcp://box', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs }),
    );
    assert.equal(c.tls, true);
    assert.equal(c.connection.protocol, 'https');
    assert.equal(c.connection.port, 2376);
    assert.equal(c.connection.key?.toString(), 'KEY');
    assert.equal(c.connection.agent, undefined, 'verification stays on');
    const empty = join(root, `certs-${++n}`);
    mkdirSync(empty);
    assert.match(
      refusal(() =>
        locateEngine(
          {},
          linux(home(), { DOCKER_HOST: 'tcp://box', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: empty }),
        ),
      ).message,
      /DOCKER_TLS_VERIFY is set but there is no ca\.pem/,
    );
  });

  it('a TCP context with TLS material and SkipTLSVerify: https with its files, verification off', () => {
    const h = home({ currentContext: 'remote' });
    addContext(join(h, '.docker'), 'remote', 'tcp://10.0.0.5', {
      skipTLSVerify: true,
      tls: { 'ca.pem': 'CA', 'cert.pem': 'CERT', 'key.pem': 'KEY' },
    });
    const [c] = locateEngine({}, linux(h));
    assert.equal(c.connection.protocol, 'https');
    assert.equal(c.connection.port, 2376);
    assert.equal(c.connection.cert?.toString(), 'CERT');
    assert.ok(c.connection.agent instanceof HttpsAgent);
    assert.equal((c.connection.agent as HttpsAgent).options.rejectUnauthorized, false);
  });

  it('the context picked in Settings wins over DOCKER_HOST; a host picked there too', () => {
    const h = home();
    addContext(join(h, '.docker'), 'colima', 'unix:///c.sock');
    const env = { DOCKER_HOST: 'tcp://127.0.0.1:2375' };
    const [byContext] = locateEngine({ setting: { dockerContext: 'colima' } }, linux(h, env));
    assert.equal(byContext.host, 'unix:///c.sock');
    assert.equal(byContext.source, 'setting');
    assert.match(byContext.how, /context "colima" picked in Lattice's settings/);
    const [byHost] = locateEngine({ setting: { dockerHost: 'unix:///srv/d.sock' } }, linux(h, env));
    assert.equal(byHost.host, 'unix:///srv/d.sock');
    assert.equal(byHost.source, 'setting');
  });

  it('--docker-host wins over everything', () => {
    const h = home({ currentContext: 'colima' });
    addContext(join(h, '.docker'), 'colima', 'unix:///c.sock');
    const found = locateEngine(
      { option: 'unix:///opt/e.sock', setting: { dockerContext: 'colima' } },
      linux(h, { DOCKER_HOST: 'tcp://x:1', DOCKER_CONTEXT: 'colima' }),
    );
    assert.deepEqual(
      found.map((c) => [c.host, c.source, c.how]),
      [['unix:///opt/e.sock', 'option', '--docker-host']],
    );
  });

  it('a missing context named by DOCKER_CONTEXT or currentContext is a clear error, not a silent default', () => {
    const h = home({ currentContext: 'gone' });
    const viaEnv = refusal(() => locateEngine({}, linux(h, { DOCKER_CONTEXT: 'nope' })));
    assert.match(viaEnv.message, /docker context "nope" does not exist/);
    const viaConfig = refusal(() => locateEngine({}, linux(h)));
    assert.match(
      viaConfig.message,
      /docker context "gone" does not exist: no .*meta\.json \(no contexts found\)/,
    );
  });

  it('the old dockerode-style agent option becomes a host URL', () => {
    assert.equal(optionHost({ socketPath: '/tmp/d.sock' }, undefined), 'unix:///tmp/d.sock');
    assert.equal(optionHost({ socketPath: '//./pipe/x' }, undefined), 'npipe:////./pipe/x');
    assert.equal(optionHost({ host: '10.0.0.1', port: 2375 }, undefined), 'tcp://10.0.0.1:2375');
    assert.equal(optionHost({ socketPath: '/a' }, 'tcp://b:1'), 'tcp://b:1');
    assert.equal(optionHost(undefined, undefined), undefined);
  });
});

describe('choosing in Settings', () => {
  it('a context clears the host and a host clears the context; both at once is refused', () => {
    const d = linux(home());
    addContext(join(d.homeDir, '.docker'), 'colima', 'unix:///c.sock');
    assert.deepEqual(checkEngineChoice({ dockerContext: 'colima' }, d), {
      dockerContext: 'colima',
      dockerHost: null,
    });
    assert.deepEqual(checkEngineChoice({ dockerHost: 'unix:///d.sock' }, d), {
      dockerHost: 'unix:///d.sock',
      dockerContext: null,
    });
    assert.deepEqual(checkEngineChoice({ dockerContext: null, dockerHost: null }, d), {
      dockerContext: null,
      dockerHost: null,
    });
    assert.equal(checkEngineChoice({}, d), undefined);
    const both = refusal(() =>
      checkEngineChoice({ dockerContext: 'colima', dockerHost: 'unix:///d.sock' }, d),
    );
    assert.match(both.message, /not both/);
  });

  it('an unknown context or a malformed host is refused with the field named', () => {
    const d = linux(home());
    const ctx = refusal(() => checkEngineChoice({ dockerContext: 'nope' }, d));
    assert.equal(ctx.code, 'invalid_argument');
    assert.equal(ctx.field, 'dockerContext');
    assert.match(ctx.message, /docker context "nope" does not exist/);
    const host = refusal(() => checkEngineChoice({ dockerHost: 'tcp://' }, d));
    assert.equal(host.field, 'dockerHost');
  });

  it('lists the contexts with the one the CLI would use marked', () => {
    const h = home({ currentContext: 'orbstack' });
    addContext(join(h, '.docker'), 'orbstack', 'unix:///o.sock');
    addContext(join(h, '.docker'), 'colima', 'unix:///c.sock');
    assert.deepEqual(
      dockerContexts(linux(h)).map((c) => [c.name, c.current]),
      [
        ['colima', false],
        ['orbstack', true],
      ],
    );
    assert.deepEqual(
      dockerContexts(linux(h, { DOCKER_CONTEXT: 'colima' })).map((c) => [c.name, c.current]),
      [
        ['colima', true],
        ['orbstack', false],
      ],
    );
  });
});

describe('no engine answers', () => {
  it('gives a reason a person can act on', () => {
    const unix = { socketPath: '/x/d.sock', host: 'unix:///x/d.sock' };
    assert.equal(failureReason({ code: 'ENOENT' }, unix), 'no socket at /x/d.sock');
    assert.match(failureReason({ code: 'ECONNREFUSED' }, unix), /nothing answers on it/);
    assert.match(
      failureReason({ code: 'EACCES' }, unix),
      /permission denied on \/x\/d\.sock: add your user to the docker group/,
    );
    assert.match(failureReason({ statusCode: 404 }, unix), /not a Docker Engine API/);
    assert.equal(
      failureReason({ code: 'ENOTFOUND' }, { host: 'tcp://nowhere:2375' }),
      'the host name does not resolve',
    );
  });

  it('says what to start for each kind of engine', () => {
    const d = linux('/home/me', { XDG_RUNTIME_DIR: '/run/user/1000' });
    assert.match(startHint('unix:///var/run/docker.sock', 'default', d), /sudo systemctl start docker/);
    assert.match(
      startHint('unix:///run/user/1000/docker.sock', 'default', d),
      /systemctl --user start docker/,
    );
    assert.match(
      startHint('unix:///home/me/.docker/desktop/docker.sock', 'desktop-linux', d),
      /Docker Desktop/,
    );
    assert.match(startHint('unix:///home/me/.colima/default/docker.sock', 'colima', d), /colima start/);
    assert.match(startHint('unix:///home/me/.orbstack/run/docker.sock', 'orbstack', d), /OrbStack/);
    assert.match(startHint('unix:///home/me/.rd/docker.sock', 'rancher-desktop', d), /Rancher Desktop/);
    assert.match(startHint('unix:///run/user/1000/podman/podman.sock', 'podman', d), /podman machine start/);
    assert.match(
      startHint('npipe:////./pipe/docker_engine', 'default', { ...d, platform: 'win32' }),
      /Docker Desktop/,
    );
    assert.match(
      startHint('tcp://10.0.0.5:2376', 'remote', d),
      /engine at tcp:\/\/10\.0\.0\.5:2376 is running/,
    );
  });

  it('one line per candidate tried, then the other contexts to pick from', () => {
    const tried = [
      {
        host: 'unix:///var/run/docker.sock',
        context: 'default',
        source: 'default' as const,
        how: 'the platform default',
        tls: false,
        reason: 'no socket at /var/run/docker.sock',
        hint: 'start Docker Engine: `sudo systemctl start docker`',
      },
      {
        host: 'unix:///home/me/.docker/run/docker.sock',
        context: 'default',
        source: 'default' as const,
        how: "Docker Desktop's per-user socket",
        tls: false,
        reason: 'no socket at /home/me/.docker/run/docker.sock',
        hint: 'start Docker Desktop',
      },
    ];
    const message = downMessage(tried, [{ name: 'colima', host: 'unix:///c.sock', current: false }]);
    const lines = message.split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0], /^Docker is not running — no engine answered/);
    assert.equal(
      lines[1],
      '• unix:///var/run/docker.sock (the platform default): no socket at /var/run/docker.sock — start Docker Engine: `sudo systemctl start docker`',
    );
    assert.match(
      lines[2],
      /^• unix:\/\/\/home\/me\/\.docker\/run\/docker\.sock \(Docker Desktop's per-user socket\): .* — start Docker Desktop$/,
    );
    assert.equal(
      lines[3],
      'Other docker contexts on this computer: colima (unix:///c.sock) — pick one in Settings.',
    );
    const cli = describeEngine({ available: false, message, tried });
    assert.match(cli[0], /^Docker engine: none answered/);
    assert.equal(cli.length, 4);
    assert.ok(cli[1].includes('no socket at /var/run/docker.sock'));
  });

  it('the first line names the engine, the context and how it was found', () => {
    const [line] = describeEngine({
      available: true,
      version: '28.2.2',
      engine: {
        host: 'unix:///c.sock',
        context: 'colima',
        source: 'currentContext',
        how: 'currentContext "colima" in /h/.docker/config.json',
        tls: false,
      },
    });
    assert.equal(
      line,
      'Docker engine: unix:///c.sock (context "colima"; found through currentContext "colima" in /h/.docker/config.json) — Docker 28.2.2',
    );
  });
});

describe('the engine sockets the policy refuses', () => {
  it("includes the one in use, every context's socket and the defaults, links resolved", () => {
    const h = home({ currentContext: 'colima' });
    const real = join(root, `sock-${++n}`);
    mkdirSync(real);
    writeFileSync(join(real, 'engine.sock'), '');
    symlinkSync(join(real, 'engine.sock'), join(root, `link-${n}.sock`));
    addContext(join(h, '.docker'), 'colima', `unix://${join(root, `link-${n}.sock`)}`);
    addContext(join(h, '.docker'), 'other', 'unix:///srv/other/engine');
    const sockets = engineSockets(linux(h), ['/opt/in-use/engine']);
    for (const p of [
      '/opt/in-use/engine',
      join(root, `link-${n}.sock`),
      join(real, 'engine.sock'),
      '/srv/other/engine',
      '/var/run/docker.sock',
    ]) {
      assert.ok(sockets.includes(p), `${p} in ${sockets.join(', ')}`);
    }
  });

  it('a bind mount of an engine socket at any path, or of its folder, is refused like /var/run/docker.sock', () => {
    const engine = ['/srv/engines/colima-engine'];
    assert.equal(exposesDockerSocket('/srv/engines/colima-engine'), false, 'not refused by name alone');
    assert.equal(exposesDockerSocket('/srv/engines/colima-engine', engine), true);
    assert.equal(exposesDockerSocket('/srv/engines', engine), true);
    assert.equal(exposesDockerSocket('/srv/other', engine), false);
    const settings = { allowedImages: [], allowedBindRoots: ['/srv'], engineSockets: engine };
    for (const source of ['/srv/engines/colima-engine', '/srv/engines/', '/var/run/docker.sock']) {
      const spec = DeployArgs.parse({
        template: 'custom',
        image: 'nginx:1.27',
        volumes: [{ source, target: '/sock' }],
      });
      const err = refusal(() => checkDeploy(spec, { door: 'local' }, settings, []));
      assert.equal(err.code, 'forbidden');
      assert.equal(err.field, 'volumes.0.source');
      assert.match(err.message, /would hand the Docker socket \(root on this computer\) to the container/);
    }
    const fine = DeployArgs.parse({
      template: 'custom',
      image: 'nginx:1.27',
      volumes: [{ source: '/srv/data', target: '/d' }],
    });
    assert.deepEqual(checkDeploy(fine, { door: 'local' }, settings, []), { action: 'deploy' });
  });
});
