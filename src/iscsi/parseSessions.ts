import type { IscsiPortal } from './portal.ts';
import { parsePortal } from './portal.ts';

/** One line of `iscsiadm -m session`. */
export interface IscsiSession {
  readonly transport: string;
  readonly sid: number;
  readonly portal: IscsiPortal;
  readonly tpgt: number | undefined;
  readonly targetIqn: string;
}

/** A disk the kernel attached for a session (`Attached scsi disk sdb  State: running`). */
export interface SessionDisk {
  readonly lun: number;
  readonly device: string;
  readonly state: string;
}

/** One session from `iscsiadm -m session -P 3`. */
export interface IscsiSessionDetail extends IscsiSession {
  readonly persistentPortal: IscsiPortal | undefined;
  readonly ifaceName: string | undefined;
  readonly initiatorName: string | undefined;
  readonly connectionState: string | undefined;
  readonly sessionState: string | undefined;
  readonly hostNumber: number | undefined;
  readonly disks: readonly SessionDisk[];
}

/**
 * Parses `iscsiadm -m session`, one session per line:
 * "tcp: [1] 127.0.0.2:3260,1 iqn.2026-11.io.vbs:pvc-1 (non-flash)". Lines that do not match
 * (warnings) are ignored; "No active sessions" comes as exit code 21 and never reaches here.
 */
export function parseSessionList(stdout: string): IscsiSession[] {
  const sessions: IscsiSession[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^(\S+): \[([0-9]+)\] (\S+) (\S+)(?: \([^)]*\))?\s*$/.exec(line.trim());
    if (!match) continue;
    const portal = parsePortal(match[3]!);
    if (!portal) continue;
    sessions.push({ transport: match[1]!, sid: Number(match[2]), portal: portal.portal, tpgt: portal.tpgt, targetIqn: match[4]! });
  }
  return sessions;
}

/**
 * Parses the tree `iscsiadm -m session -P 3` prints: a "Target:" line, its portals, then one
 * block per session (from "Iface Name:" on) with its SID, states and attached disks. Several
 * sessions (one per iface) can follow one Target/portal header.
 */
export function parseSessionTree(stdout: string): IscsiSessionDetail[] {
  type Draft = { -readonly [K in keyof IscsiSessionDetail]: IscsiSessionDetail[K] } & { disks: SessionDisk[] };
  const out: IscsiSessionDetail[] = [];
  let targetIqn: string | undefined;
  let current: { portal: IscsiPortal; tpgt: number | undefined } | undefined;
  let persistent: IscsiPortal | undefined;
  let draft: Draft | undefined;
  let lun: number | undefined;
  const flush = () => {
    if (draft && draft.sid >= 0) out.push(draft);
    draft = undefined;
    lun = undefined;
  };
  const start = (): Draft | undefined => {
    if (!targetIqn || !current) return undefined;
    return {
      transport: 'tcp', sid: -1, portal: current.portal, tpgt: current.tpgt, targetIqn,
      persistentPortal: persistent, ifaceName: undefined, initiatorName: undefined,
      connectionState: undefined, sessionState: undefined, hostNumber: undefined, disks: [],
    };
  };

  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^Target: (\S+)/.exec(line))) {
      flush();
      targetIqn = m[1]!;
      current = undefined;
      persistent = undefined;
    } else if ((m = /^Current Portal: (\S+)/.exec(line))) {
      flush();
      current = parsePortal(m[1]!);
    } else if ((m = /^Persistent Portal: (\S+)/.exec(line))) {
      persistent = parsePortal(m[1]!)?.portal;
    } else if ((m = /^Iface Name: (\S+)/.exec(line))) {
      flush();
      draft = start();
      if (draft) draft.ifaceName = m[1]!;
    } else if (draft) {
      if ((m = /^Iface Transport: (\S+)/.exec(line))) draft.transport = m[1]!;
      else if ((m = /^Iface Initiatorname: (\S+)/.exec(line))) draft.initiatorName = m[1] === '<empty>' ? undefined : m[1]!;
      else if ((m = /^SID: ([0-9]+)/.exec(line))) draft.sid = Number(m[1]);
      else if ((m = /^iSCSI Connection State: (.+)$/.exec(line))) draft.connectionState = m[1]!.trim();
      else if ((m = /^iSCSI Session State: (.+)$/.exec(line))) draft.sessionState = m[1]!.trim();
      else if ((m = /^Host Number: ([0-9]+)/.exec(line))) draft.hostNumber = Number(m[1]);
      else if ((m = /^scsi[0-9]+ Channel [0-9]+ Id [0-9]+ Lun: ([0-9]+)/.exec(line))) lun = Number(m[1]);
      else if ((m = /^Attached scsi disk (\S+)\s+State: (\S+)/.exec(line)) && lun !== undefined) draft.disks.push({ lun, device: m[1]!, state: m[2]! });
    }
  }
  flush();
  return out;
}
