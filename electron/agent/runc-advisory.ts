// CVE-2024-21626 ("Leaky Vessels"): runc before 1.1.12 lets a container escape through a leaked
// file descriptor of the host. The console blocks with a warning while the engine runs such a runc.
//
// Distributions backport the fix without bumping the upstream version: Debian 12's runc reports
// `1.1.5+ds1` but its package `1.1.5+ds1-1+deb12u1` (DSA-5615-1, February 2024) carries the fix, and
// Debian 11's `1.0.0~rc93+ds1-5+deb11u3` does too. Docker reports the package version in the runc
// component's `GitCommit`, so a Debian build at or above the fixed revision counts as patched.

const FIXED = [1, 1, 12];

/** Debian security builds that carry the backported fix: upstream version → first fixed `+debNNuM`. */
const DEBIAN_FIXED: { upstream: RegExp; deb: number; update: number }[] = [
  { upstream: /^1\.1\.5\+ds1-1\+deb12u(\d+)$/, deb: 12, update: 1 },
  { upstream: /^1\.0\.0~rc93\+ds1-5\+deb11u(\d+)$/, deb: 11, update: 3 },
];

function parseVersion(v: string): number[] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function lessThan(a: number[], b: number[]): boolean {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

/**
 * True when runc is older than the CVE-2024-21626 fix; undefined when the version is unknown.
 * `packageVersion` is what Docker puts in the runc component's GitCommit (the distro package version).
 */
export function isRuncVulnerable(version: string | undefined, packageVersion?: string): boolean | undefined {
  if (!version) return undefined;
  const parsed = parseVersion(version);
  if (!parsed) return undefined;
  if (!lessThan(parsed, FIXED)) return false;
  for (const candidate of [packageVersion, version]) {
    if (!candidate) continue;
    for (const fixed of DEBIAN_FIXED) {
      const m = fixed.upstream.exec(candidate.trim());
      if (m && Number(m[1]) >= fixed.update) return false;
    }
  }
  return true;
}
