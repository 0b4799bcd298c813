/** How a test-bed run is configured, read once from the environment. */
export interface E2eSettings {
  /** Hard limit for the whole VM run; qemu is killed when it passes. */
  readonly totalTimeoutMs: number;
  /** 'kvm' only when asked for: KVM guests hang on these machines (docs/test-bed.md). */
  readonly accel: 'tcg' | 'kvm';
  /** Substring filter on scenario names, or undefined for all. */
  readonly only: string | undefined;
  /** Echo the guest console to stderr while it runs (debugging a hang). */
  readonly isConsoleEchoed: boolean;
  /**
   * Which scenario registry: the default one (e2e/scenarios/index.ts), the cluster scenarios'
   * (clusterIndex.ts) or the kernel measurements' (measurementIndex.ts).
   */
  readonly registry: 'default' | 'cluster' | 'measure';
}

/**
 * The whole VM run's deadline: the scenarios of issues 2-5 took about 62 min under TCG on this
 * 2-core machine (2026-11-23), and the fault suite about 17 min more; CI allows 90 min for setup,
 * unit tests and this, and those took under 2 min in CI, so the VM gets 85 min.
 */
const DEFAULT_TOTAL_TIMEOUT_S = 5100;

/** Pure: environment → settings. Throws on values that are set but make no sense. */
export function parseE2eSettings(env: NodeJS.ProcessEnv): E2eSettings {
  const timeoutText = env['VBS_E2E_TIMEOUT_S'];
  const timeoutS = timeoutText === undefined || timeoutText === '' ? DEFAULT_TOTAL_TIMEOUT_S : Number(timeoutText);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
    throw new Error(`VBS_E2E_TIMEOUT_S must be a positive number of seconds, got ${JSON.stringify(timeoutText)}`);
  }
  const accelText = env['VBS_E2E_ACCEL'] ?? 'tcg';
  if (accelText !== 'tcg' && accelText !== 'kvm' && accelText !== '') {
    throw new Error(`VBS_E2E_ACCEL must be "tcg" or "kvm", got ${JSON.stringify(accelText)}`);
  }
  const only = env['VBS_E2E_ONLY'];
  const registry = env['VBS_E2E_REGISTRY'] ?? '';
  if (registry !== '' && registry !== 'default' && registry !== 'cluster' && registry !== 'measure') {
    throw new Error(`VBS_E2E_REGISTRY must be "default", "cluster" or "measure", got ${JSON.stringify(registry)}`);
  }
  return {
    totalTimeoutMs: Math.round(timeoutS * 1000),
    accel: accelText === 'kvm' ? 'kvm' : 'tcg',
    only: only === undefined || only === '' ? undefined : only,
    isConsoleEchoed: env['VBS_E2E_CONSOLE'] === '1',
    registry: registry === 'cluster' || registry === 'measure' ? registry : 'default',
  };
}
