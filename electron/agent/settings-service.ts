// Settings in SQLite. Secrets among them (the ngrok token, the hub device token) are sealed in the
// secrets table and never leave the agent: the view only says whether ngrok is configured. The hub's
// private CA (public data, not sealed) is kept next to the hub URL, so unpairing clears both.
import { randomBytes } from 'node:crypto';
import type { Settings, SettingsPatch } from '../../shared';
import type { Store } from './store';
import type { SecretBox } from './secrets';

const NGROK = 'ngrok.authtoken';
const DEVICE_TOKEN = 'hub.deviceToken';

interface PlainSettings {
  lanAccess: boolean;
  allowedImages: string[];
  allowedBindRoots: string[];
  keepAwakeWhileSharing: boolean;
  startAtLogin: boolean;
  paused: boolean;
  /** Whether the remote door may deploy here, and how much memory its deploys may use (null: no cap). */
  allowRemoteDeploy: boolean;
  remoteDeployMemoryCapBytes: number | null;
  /** The engine the owner picked (docs/docker-engine.md); both null: found as the docker CLI finds it. */
  dockerContext: string | null;
  dockerHost: string | null;
}

const DEFAULTS: PlainSettings = {
  lanAccess: false,
  allowedImages: [],
  allowedBindRoots: [],
  keepAwakeWhileSharing: false,
  startAtLogin: false,
  paused: false,
  allowRemoteDeploy: true,
  remoteDeployMemoryCapBytes: null,
  dockerContext: null,
  dockerHost: null,
};

export class SettingsService {
  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly dataDir: string,
    private readonly hubConnected: () => boolean,
  ) {}

  /** This install's id, the `lattice.owner` label; made once and kept. */
  ownerId(): string {
    let id = this.store.settings.get<string>('ownerId');
    if (!id) {
      id = randomBytes(8).toString('hex');
      this.store.settings.set('ownerId', id);
    }
    return id;
  }

  plain(): PlainSettings {
    const out = { ...DEFAULTS };
    for (const key of Object.keys(DEFAULTS) as (keyof PlainSettings)[]) {
      const v = this.store.settings.get<never>(`setting.${key}`);
      if (v !== undefined) (out as Record<string, unknown>)[key] = v;
    }
    return out;
  }

  get(): Settings {
    const hub = this.hub();
    return {
      ...this.plain(),
      ngrokConfigured: this.store.secrets.get(NGROK) !== undefined,
      dataDir: this.dataDir,
      hub: {
        url: hub.url,
        deviceId: hub.deviceId,
        connected: this.hubConnected(),
        privateCa: hub.caPem !== undefined,
      },
    };
  }

  set(patch: SettingsPatch): Settings {
    this.store.transaction(() => {
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined) continue;
        if (key === 'ngrokAuthtoken') {
          this.store.secrets.set(NGROK, value ? this.box.seal(value as string, NGROK) : null);
        } else {
          this.store.settings.set(`setting.${key}`, value);
        }
      }
    });
    return this.get();
  }

  ngrokAuthtoken(): string | undefined {
    const sealed = this.store.secrets.get(NGROK);
    return sealed ? this.box.open(sealed, NGROK) : undefined;
  }

  /** The paired hub; `caPem` is the private CA given at pairing (undefined: the hub uses public roots). */
  hub(): {
    url: string | null;
    deviceId: string | null;
    deviceToken: string | undefined;
    caPem: string | undefined;
  } {
    const sealed = this.store.secrets.get(DEVICE_TOKEN);
    return {
      url: this.store.settings.get<string>('hub.url') ?? null,
      deviceId: this.store.settings.get<string>('hub.deviceId') ?? null,
      deviceToken: sealed ? this.box.open(sealed, DEVICE_TOKEN) : undefined,
      caPem: this.store.settings.get<string>('hub.caPem') ?? undefined,
    };
  }

  setHub(value: { url: string; deviceId: string; deviceToken: string; caPem?: string } | null): void {
    this.store.transaction(() => {
      this.store.settings.set('hub.url', value?.url ?? null);
      this.store.settings.set('hub.deviceId', value?.deviceId ?? null);
      this.store.settings.set('hub.caPem', value?.caPem ?? null);
      this.store.secrets.set(DEVICE_TOKEN, value ? this.box.seal(value.deviceToken, DEVICE_TOKEN) : null);
    });
  }
}
