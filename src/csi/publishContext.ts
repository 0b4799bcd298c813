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
  const map = raw ?? {};
  const need = (key: string): string => {
    const v = map[key];
    if (v === undefined || v === '') {
      throw new InvalidArgumentError(`publish_context has no ${key}: was the volume published by this driver's ControllerPublishVolume (of this version)?`);
    }
    return v;
  };
  const lunText = need('lun');
  if (!/^\d{1,5}$/.test(lunText)) throw new InvalidArgumentError(`publish_context lun ${JSON.stringify(lunText)} is not a LUN number`);
  const agentAddress = need('agentAddress');
  const port = Number(agentAddress.slice(agentAddress.lastIndexOf(':') + 1));
  if (!AGENT_ADDRESS.test(agentAddress) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`publish_context agentAddress ${JSON.stringify(agentAddress)} is not host:port`);
  }
  const targetIqn = need('targetIqn');
  if (!TARGET_IQN.test(targetIqn) || targetIqn.length > 223) throw new InvalidArgumentError(`publish_context targetIqn ${JSON.stringify(targetIqn)} is not an iSCSI qualified name`);
  return {
    targetPortal: need('targetPortal'),
    targetIqn,
    lun: Number(lunText),
    serial: need('serial'),
    agentAddress,
  };
}
