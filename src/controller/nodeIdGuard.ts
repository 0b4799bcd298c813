import { FailedPreconditionError, UnavailableError } from '../errors.ts';
import type { NodeIdGuard } from './ControllerService.ts';

/** A Kubernetes node and the CSI node id it registered (src/kube/listCsiNodeIds.ts). */
export interface NodeIdRegistration {
  readonly node: string;
  readonly nodeId: string;
}

export interface DuplicateNodeIdGuardOptions {
  /** Every node's registration of this driver. */
  readonly list: () => Promise<readonly NodeIdRegistration[]>;
  /** How long one listing answers every check; default 10 s. */
  readonly ttlMs?: number;
  readonly now?: () => number;
  /** Told of each refusal, with the Kubernetes nodes that share the id (a Kubernetes Event on each). */
  readonly onDuplicate?: (nodeId: string, kubeNodes: readonly string[]) => void;
}

/**
 * Refuses to publish to a node id that more than one Kubernetes node registered. The node id is
 * the worker's iSCSI initiator name (src/csi/nodeIds.ts), and workers cloned from one image share
 * it: an ACL for one would let the other log in to the same LUN, and a fence of one would cut the
 * other. One listing of the CSINode objects answers checks for `ttlMs`, so a burst of publishes
 * costs one API call; a listing that fails is UNAVAILABLE (the CO retries), not a publish on trust.
 */
export function duplicateNodeIdGuard(opts: DuplicateNodeIdGuardOptions): NodeIdGuard {
  const ttlMs = opts.ttlMs ?? 10_000;
  const now = opts.now ?? (() => performance.now());
  let cached: { readonly atMs: number; readonly registrations: readonly NodeIdRegistration[] } | undefined;
  let listing: Promise<readonly NodeIdRegistration[]> | undefined;

  const registrations = async (): Promise<readonly NodeIdRegistration[]> => {
    if (cached && now() - cached.atMs < ttlMs) return cached.registrations;
    listing ??= (async () => {
      const startedMs = now();
      try {
        const list = await opts.list();
        cached = { atMs: startedMs, registrations: list };
        return list;
      } finally {
        listing = undefined;
      }
    })();
    return listing;
  };

  return {
    async checkUnique(nodeId) {
      let list: readonly NodeIdRegistration[];
      try {
        list = await registrations();
      } catch (err: unknown) {
        throw new UnavailableError(`cannot check that node id ${nodeId} belongs to one node only: listing the CSINode objects failed: ${(err as Error).message}; retry later`);
      }
      const holders = [...new Set(list.filter((r) => r.nodeId === nodeId).map((r) => r.node))].sort();
      if (holders.length > 1) {
        opts.onDuplicate?.(nodeId, holders);
        throw new FailedPreconditionError(
          `node id ${nodeId} (the iSCSI initiator name) is registered by ${holders.length} Kubernetes nodes: ${holders.join(' and ')}; ` +
            'they would share every ACL of this volume (workers cloned from one image share /etc/iscsi/initiatorname.iscsi). ' +
            'Give each node its own initiator name (e.g. echo "InitiatorName=$(iscsi-iname)" > /etc/iscsi/initiatorname.iscsi), restart iscsid and the vbs-csi node plugin there, then retry',
        );
      }
    },
  };
}

/** Every node id more than one Kubernetes node registered, with those nodes sorted (pure). */
export function duplicateNodeIds(registrations: readonly NodeIdRegistration[]): Map<string, string[]> {
  const holders = new Map<string, Set<string>>();
  for (const r of registrations) holders.set(r.nodeId, (holders.get(r.nodeId) ?? new Set()).add(r.node));
  return new Map([...holders].filter(([, nodes]) => nodes.size > 1).map(([id, nodes]) => [id, [...nodes].sort()]));
}

/**
 * Looks for shared node ids every `intervalMs` (and at once), and tells `onDuplicate` of each: an
 * operator learns of cloned initiator names before a publish is refused for them. A failed
 * listing is reported to onError and tried again at the next interval. Returns stop.
 */
export function watchDuplicateNodeIds(opts: {
  readonly list: () => Promise<readonly NodeIdRegistration[]>;
  readonly onDuplicate: (nodeId: string, kubeNodes: readonly string[]) => void;
  readonly onError?: (message: string) => void;
  readonly intervalMs: number;
}): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      for (const [id, nodes] of duplicateNodeIds(await opts.list())) opts.onDuplicate(id, nodes);
    } catch (err: unknown) {
      opts.onError?.(err instanceof Error ? err.message : String(err));
    }
    if (!stopped) timer = setTimeout(() => void tick(), opts.intervalMs).unref();
  };
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
