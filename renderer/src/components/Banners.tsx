import { Fragment } from 'react';
import { useLattice } from '../store/store';
import { Dialog } from './Dialog';

/** Warnings about the machine under the console: Docker, runc, the secrets key, the event stream. */
export function Banners({ face, deviceOnline }: { face: 'console' | 'dashboard'; deviceOnline?: boolean }) {
  const docker = useLattice((s) => s.docker);
  const keyProtection = useLattice((s) => s.system?.keyProtection);
  const streamState = useLattice((s) => s.streamState);
  const hubLink = useLattice((s) => s.hubLink);
  const runcDismissed = useLattice((s) => s.runcWarningDismissed);
  const dismiss = useLattice((s) => s.dismissRuncWarning);
  return (
    <div className="banners" aria-live="polite">
      {face === 'dashboard' && deviceOnline === false && (
        <div className="banner banner-warn" data-testid="banner-device-offline">
          This computer is offline. Its last known state is shown; commands fail until it reconnects.
        </div>
      )}
      {streamState === 'down' && (
        <div className="banner banner-error" data-testid="banner-stream-down">
          {face === 'dashboard'
            ? 'The hub is unreachable — retrying.'
            : 'Lost the connection to the agent — retrying.'}
        </div>
      )}
      {docker && !docker.available && (deviceOnline ?? true) && (
        <div className="banner banner-error" data-testid="banner-docker">
          {/* One line per engine tried (see docs/docker-engine.md), so each keeps its own reason and fix. */}
          {(
            docker.message ?? 'Docker is not running: start Docker Desktop, or `sudo systemctl start docker`.'
          )
            .split('\n')
            .map((line, i) => (
              <Fragment key={i}>
                {i > 0 && <br />}
                {line}
              </Fragment>
            ))}
          <br />
          Lattice connects by itself as soon as it is up.
        </div>
      )}
      {keyProtection === 'basic_text' && (
        <div className="banner banner-warn" data-testid="banner-key">
          Your secrets key is not protected by the OS keyring (no keyring service was found), so generated
          passwords are only as safe as your user account.
        </div>
      )}
      {face === 'console' && hubLink?.url && !hubLink.connected && (
        <div className="banner banner-warn" data-testid="banner-hub">
          The hub at <span className="mono">{hubLink.url}</span> is unreachable; remote access and relay
          shares are paused.
        </div>
      )}
      {docker?.runcVulnerable && !runcDismissed && (
        <Dialog title="Your container runtime is vulnerable" onClose={dismiss} testId="banner-runc">
          <p>
            runc {docker.runcVersion ?? ''} is older than 1.1.12, which fixed CVE-2024-21626: a container can
            escape to the host. Update Docker (or runc) before running images you do not fully trust.
          </p>
          <div className="row row-end">
            <button type="button" className="btn btn-danger" onClick={dismiss} autoFocus>
              I understand, continue for this session
            </button>
          </div>
        </Dialog>
      )}
    </div>
  );
}
