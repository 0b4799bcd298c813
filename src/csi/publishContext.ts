import { InvalidArgumentError } from '../errors.ts';

/**
 * What ControllerPublishVolume hands NodeStageVolume through the CO: how to reach and check the
 * LUN, and which agent to ask for the CHAP credentials. Never the credentials themselves:
 * Kubernetes keeps publish_context in plain text in VolumeAttachment.status.attachmentMetadata,
 * readable by anyone who may get VolumeAttachments (and exported by kube-state-metrics), so the
 * node plugin fetches them from the agent over mutual TLS with its own node certificate
 * (docs/security.md). A context from an older controller that still carries chap* keys is read
 * without them: they are ignored, never used.
 */
export interface PublishContext {
  /** ip:port (IPv6 in brackets). */
  readonly targetPortal: string;
  readonly targetIqn: string;
  readonly lun: number;
  /** The LUN's unit serial (VPD 0x80): the node refuses a disk whose serial differs. */
  readonly serial: string;
  /** host:port of the storage agent that owns the volume, as the controller reaches it. */
  readonly agentAddress: string;
}

export function buildPublishContext(ctx: PublishContext): Record<string, string> {
  return {
    targetPortal: ctx.targetPortal,
    targetIqn: ctx.targetIqn,
    lun: String(ctx.lun),
    serial: ctx.serial,
    agentAddress: ctx.agentAddress,
  };
}

/** host:port, the host a DNS name or an address (IPv6 in brackets): what grpc-js dials. */
const AGENT_ADDRESS = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):[0-9]{1,5}$/;

/** An IQN as RFC 3720 3.2.6.3.1 allows it (checked before the node asks any agent about it). */
const TARGET_IQN = /^iqn\.[0-9]{4}-[0-9]{2}\.[A-Za-z0-9.:-]+$/;

/** Reads a publish_context back; a missing or malformed key is InvalidArgumentError naming it. */
export function parsePublishContext(raw: Readonly<Record<string, string>> | undefined): PublishContext {
  return parseKeys(raw ?? {}, '');
}

function parseKeys(map: Readonly<Record<string, string>>, prefix: string): PublishContext {
  const need = (name: string): string => {
    const key = prefix + name;
    const v = map[key];
    if (v === undefined || v === '') {
      throw new InvalidArgumentError(`publish_context has no ${key}: was the volume published by this driver's ControllerPublishVolume (of this version)?`);
    }
    return v;
  };
  const lunText = need('lun');
  if (!/^\d{1,5}$/.test(lunText)) throw new InvalidArgumentError(`publish_context ${prefix}lun ${JSON.stringify(lunText)} is not a LUN number`);
  const agentAddress = need('agentAddress');
  const port = Number(agentAddress.slice(agentAddress.lastIndexOf(':') + 1));
  if (!AGENT_ADDRESS.test(agentAddress) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`publish_context ${prefix}agentAddress ${JSON.stringify(agentAddress)} is not host:port`);
  }
  const targetIqn = need('targetIqn');
  if (!TARGET_IQN.test(targetIqn) || targetIqn.length > 223) throw new InvalidArgumentError(`publish_context ${prefix}targetIqn ${JSON.stringify(targetIqn)} is not an iSCSI qualified name`);
  return {
    targetPortal: need('targetPortal'),
    targetIqn,
    lun: Number(lunText),
    serial: need('serial'),
    agentAddress,
  };
}

/** One copy of a replicated volume in publish_context: where it is, and which storage node holds it. */
export interface MirrorCopyContext extends PublishContext {
  readonly node: string;
}

/**
 * A replicated volume's publish_context (docs/replication.md): `copies` = N, then the keys of a
 * single-copy context for each copy under `copy<slot>.`, plus `copy<slot>.node`. Slot order is the
 * raid1 leg order. Which copies are current is not here: the node reads that from the copies'
 * agents (publish_context is as old as the publish).
 */
export interface MirrorPublishContext {
  readonly copies: readonly MirrorCopyContext[];
}

export function buildMirrorPublishContext(ctx: MirrorPublishContext): Record<string, string> {
  const out: Record<string, string> = { copies: String(ctx.copies.length) };
  ctx.copies.forEach((c, slot) => {
    for (const [k, v] of Object.entries({ ...buildPublishContext(c), node: c.node })) out[`copy${slot}.${k}`] = v;
  });
  return out;
}

/** Whether a publish_context is a replicated volume's (has `copies`). */
export function isMirrorPublishContext(raw: Readonly<Record<string, string>> | undefined): boolean {
  return raw?.['copies'] !== undefined;
}

const STORAGE_NODE = /^[a-z0-9](?:[a-z0-9.-]{0,90}[a-z0-9])?$/;

export function parseMirrorPublishContext(raw: Readonly<Record<string, string>> | undefined): MirrorPublishContext {
  const map = raw ?? {};
  const countText = map['copies'] ?? '';
  if (!/^[1-3]$/.test(countText)) throw new InvalidArgumentError(`publish_context copies ${JSON.stringify(countText)} is not 1, 2 or 3`);
  const copies: MirrorCopyContext[] = [];
  for (let slot = 0; slot < Number(countText); slot++) {
    const prefix = `copy${slot}.`;
    const node = map[`${prefix}node`] ?? '';
    if (!STORAGE_NODE.test(node)) throw new InvalidArgumentError(`publish_context ${prefix}node ${JSON.stringify(node)} is not a storage node name`);
    copies.push({ ...parseKeys(map, prefix), node });
  }
  if (new Set(copies.map((c) => c.node)).size !== copies.length) throw new InvalidArgumentError('publish_context names one storage node for two copies');
  return { copies };
}
