import { InvalidArgumentError } from '../errors.ts';

/**
 * What ControllerPublishVolume hands NodeStageVolume through the CO (Kubernetes keeps it in the
 * VolumeAttachment's status): how to reach and check the LUN, and the CHAP credentials derived
 * for this volume and this initiator. The credentials are useless to any other initiator, and the
 * key names contain "chap" so log redaction (src/log/stripSecrets) always removes their values.
 */
export interface PublishContext {
  /** ip:port (IPv6 in brackets). */
  readonly targetPortal: string;
  readonly targetIqn: string;
  readonly lun: number;
  /** The LUN's unit serial (VPD 0x80): the node refuses a disk whose serial differs. */
  readonly serial: string;
  readonly chapUsername: string;
  readonly chapPassword: string;
  /** Set when the target must authenticate itself too (mutual CHAP). */
  readonly chapMutualUsername?: string;
  readonly chapMutualPassword?: string;
}

export const PUBLISH_CONTEXT_KEYS = {
  targetPortal: 'targetPortal',
  targetIqn: 'targetIqn',
  lun: 'lun',
  serial: 'serial',
  chapUsername: 'chapUsername',
  chapPassword: 'chapPassword',
  chapMutualUsername: 'chapMutualUsername',
  chapMutualPassword: 'chapMutualPassword',
} as const;

export function buildPublishContext(ctx: PublishContext): Record<string, string> {
  const out: Record<string, string> = {
    targetPortal: ctx.targetPortal,
    targetIqn: ctx.targetIqn,
    lun: String(ctx.lun),
    serial: ctx.serial,
    chapUsername: ctx.chapUsername,
    chapPassword: ctx.chapPassword,
  };
  if (ctx.chapMutualUsername !== undefined && ctx.chapMutualPassword !== undefined) {
    out['chapMutualUsername'] = ctx.chapMutualUsername;
    out['chapMutualPassword'] = ctx.chapMutualPassword;
  }
  return out;
}

/** Reads a publish_context back; a missing or malformed key is InvalidArgumentError naming it. */
export function parsePublishContext(raw: Readonly<Record<string, string>> | undefined): PublishContext {
  const map = raw ?? {};
  const need = (key: string): string => {
    const v = map[key];
    if (v === undefined || v === '') {
      throw new InvalidArgumentError(`publish_context has no ${key}: was the volume published by this driver's ControllerPublishVolume?`);
    }
    return v;
  };
  const lunText = need('lun');
  if (!/^\d{1,5}$/.test(lunText)) throw new InvalidArgumentError(`publish_context lun ${JSON.stringify(lunText)} is not a LUN number`);
  const mutualUser = map['chapMutualUsername'];
  const mutualPass = map['chapMutualPassword'];
  if ((mutualUser === undefined) !== (mutualPass === undefined)) {
    throw new InvalidArgumentError('publish_context has only half of the mutual CHAP credentials');
  }
  return {
    targetPortal: need('targetPortal'),
    targetIqn: need('targetIqn'),
    lun: Number(lunText),
    serial: need('serial'),
    chapUsername: need('chapUsername'),
    chapPassword: need('chapPassword'),
    ...(mutualUser !== undefined && mutualPass !== undefined ? { chapMutualUsername: mutualUser, chapMutualPassword: mutualPass } : {}),
  };
}
