import { DEFAULT_FS_TYPE, SUPPORTED_FS_TYPES } from '../csi/volumeCapabilities.ts';
import type { FsType } from '../csi/volumeCapabilities.ts';
import { InvalidArgumentError } from '../errors.ts';

/** StorageClass parameters this driver understands, checked. */
export interface VolumeParameters {
  /** Thin (default): a thin LV in the node's pool. Thick: fully allocated in the VG. */
  readonly thin: boolean;
  /** The filesystem when the capability names none. */
  readonly fsType: FsType;
  /** Storage-node labels a node must carry to be chosen (`tier`, and `nodeLabels`). */
  readonly requiredLabels: Readonly<Record<string, string>>;
  /** Copies on distinct storage nodes (docs/replication.md); 1 is the single-copy path. */
  readonly replicas: 1 | 2 | 3;
}

export const PARAMETER_KEYS = ['provisioning', 'fsType', 'tier', 'nodeLabels', 'replicas'] as const;

/**
 * Keys external-provisioner and other sidecars own (secrets references, PV/PVC metadata with
 * --extra-create-metadata): the driver ignores them instead of refusing the StorageClass.
 */
const RESERVED_PREFIX = 'csi.storage.k8s.io/';

const LABEL_KEY = /^[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;

/**
 * Parses CreateVolume's (and GetCapacity's) parameters. An unknown key is an error, not ignored:
 * a typo such as `tire: ssd` would otherwise place volumes on any node, silently.
 */
export function parseVolumeParameters(raw: Readonly<Record<string, string>> | undefined): VolumeParameters {
  const params = raw ?? {};
  const unknown = Object.keys(params).filter((k) => !k.startsWith(RESERVED_PREFIX) && !(PARAMETER_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(`unknown StorageClass parameter(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; this driver knows ${PARAMETER_KEYS.join(', ')}`);
  }
  const provisioning = params['provisioning'] ?? 'thin';
  if (provisioning !== 'thin' && provisioning !== 'thick') {
    throw new InvalidArgumentError(`parameter provisioning=${JSON.stringify(provisioning)}: expected thin or thick`);
  }
  const fsTypeText = params['fsType'] ?? DEFAULT_FS_TYPE;
  const fsType = SUPPORTED_FS_TYPES.find((t) => t === fsTypeText);
  if (!fsType) throw new InvalidArgumentError(`parameter fsType=${JSON.stringify(fsTypeText)}: expected ${SUPPORTED_FS_TYPES.join(' or ')}`);

  const requiredLabels: Record<string, string> = {};
  for (const pair of (params['nodeLabels'] ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (eq <= 0 || !LABEL_KEY.test(key) || !LABEL_VALUE.test(value)) {
      throw new InvalidArgumentError(`parameter nodeLabels: ${JSON.stringify(pair)} is not key=value with label characters`);
    }
    requiredLabels[key] = value;
  }
  const tier = params['tier'];
  if (tier !== undefined) {
    if (tier === '' || !LABEL_VALUE.test(tier)) throw new InvalidArgumentError(`parameter tier=${JSON.stringify(tier)} is not a label value`);
    if (requiredLabels['tier'] !== undefined && requiredLabels['tier'] !== tier) {
      throw new InvalidArgumentError(`parameters tier=${tier} and nodeLabels tier=${requiredLabels['tier']} disagree`);
    }
    requiredLabels['tier'] = tier;
  }
  const replicasText = params['replicas'] ?? '1';
  if (replicasText !== '1' && replicasText !== '2' && replicasText !== '3') {
    throw new InvalidArgumentError(`parameter replicas=${JSON.stringify(replicasText)}: expected 1, 2 or 3 (copies on distinct storage nodes)`);
  }
  const replicas = Number(replicasText) as 1 | 2 | 3;
  return Object.freeze({ thin: provisioning === 'thin', fsType, requiredLabels: Object.freeze(requiredLabels), replicas });
}
