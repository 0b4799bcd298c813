import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { VolumeAccess, AccessMode } from './volumeAccess.ts';

interface StageRecordBase {
  readonly volumeId: string;
  readonly stagingPath: string;
  readonly dmName: string;
  readonly access: VolumeAccess;
  readonly accessMode: AccessMode;
  /** Staged read-only (a reader-only access mode): the dm device is read-only too. */
  readonly readOnly: boolean;
  /** Target paths NodePublish bound the volume to and NodeUnpublish has not yet released. */
  readonly publishedPaths: readonly string[];
}

/** Where one LUN is: what iscsiadm needs to log in and out, and which LUN of the target. */
export interface StagedTarget {
  readonly targetIqn: string;
  readonly portal: { readonly ip: string; readonly port: number };
  readonly lun: number;
  /** undefined = the default iface. */
  readonly iface: string | undefined;
}

/** A single-copy volume: one session, one dm-linear device. */
export interface SingleStageRecord extends StageRecordBase {
  readonly version: 1;
  readonly target: StagedTarget;
  readonly serial: string;
}

/** One copy of a replicated volume as staged here (publish_context copy<slot>.*). */
export interface StagedCopy {
  readonly slot: number;
  /** The storage node that holds the copy. */
  readonly node: string;
  /** host:port of its agent (CHAP credentials and the copies' record come from it). */
  readonly agentAddress: string;
  readonly target: StagedTarget;
  readonly serial: string;
}

/**
 * A replicated volume (docs/replication.md): one session per copy, two dm-linear legs per copy
 * (`<dmName>-m<slot>`, `<dmName>-d<slot>`) and the raid1 device named dmName. Version 2 so that a
 * plugin of before replication refuses it instead of reading it as a single copy.
 */
export interface MirrorStageRecord extends StageRecordBase {
  readonly version: 2;
  /** The agent's id of the volume, the same on every copy (vbs-vol-…). */
  readonly lvId: string;
  readonly copies: readonly StagedCopy[];
}

/**
 * What NodeStage did, kept on the host: NodeUnstage receives only the volume id and staging path,
 * and a restarted plugin must still find the session to log out of (docs/field-notes.md 1.3, 5.2). It
 * holds no secret: CHAP credentials live in the node record, which unstage deletes.
 */
export type StageRecord = SingleStageRecord | MirrorStageRecord;

/** Reads a record back, refusing anything that does not have the expected shape. */
export function parseStageRecord(text: string): StageRecord {
  const bad = (why: string): never => {
    throw new Error(`stage record is not valid: ${why}`);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return bad('not JSON');
  }
  const o = v as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || (o['version'] !== 1 && o['version'] !== 2)) return bad('unknown version');
  const str = (x: unknown, name: string): string => (typeof x === 'string' && x !== '' ? x : bad(name));
  const target = (x: unknown, name: string): StagedTarget => {
    const t = (x ?? {}) as Record<string, unknown>;
    const portal = (t['portal'] ?? {}) as Record<string, unknown>;
    if (typeof portal['ip'] !== 'string' || isIP(portal['ip']) === 0 || !Number.isInteger(portal['port'])) bad(`${name}.portal`);
    if (!Number.isInteger(t['lun'])) bad(`${name}.lun`);
    if (t['iface'] !== undefined && typeof t['iface'] !== 'string') bad(`${name}.iface`);
    return {
      targetIqn: str(t['targetIqn'], `${name}.targetIqn`),
      portal: { ip: portal['ip'] as string, port: portal['port'] as number },
      lun: t['lun'] as number,
      iface: t['iface'] as string | undefined,
    };
  };
  const access = o['access'] as VolumeAccess | undefined;
  if (!access || (access.kind !== 'block' && !(access.kind === 'mount' && typeof access.fsType === 'string' && Array.isArray(access.mountFlags)))) bad('access');
  const published = o['publishedPaths'];
  if (!Array.isArray(published) || !published.every((p) => typeof p === 'string')) bad('publishedPaths');
  const base: StageRecordBase = {
    volumeId: str(o['volumeId'], 'volumeId'),
    stagingPath: str(o['stagingPath'], 'stagingPath'),
    dmName: str(o['dmName'], 'dmName'),
    access: access!,
    accessMode: str(o['accessMode'], 'accessMode') as AccessMode,
    readOnly: o['readOnly'] === true,
    publishedPaths: published as string[],
  };
  if (o['version'] === 1) return { version: 1, ...base, target: target(o['target'], 'target'), serial: str(o['serial'], 'serial') };
  const copies = o['copies'];
  if (!Array.isArray(copies) || copies.length < 1 || copies.length > 3) return bad('copies');
  return {
    version: 2,
    ...base,
    lvId: str(o['lvId'], 'lvId'),
    copies: copies.map((c: Record<string, unknown>, i) => {
      if (c?.['slot'] !== i) bad(`copies[${i}].slot`);
      return { slot: i, node: str(c['node'], `copies[${i}].node`), agentAddress: str(c['agentAddress'], `copies[${i}].agentAddress`), target: target(c['target'], `copies[${i}].target`), serial: str(c['serial'], `copies[${i}].serial`) };
    }),
  };
}

/**
 * Stage records as JSON files in the node's state directory (a host path), one per volume, named
 * by a hash of the volume id (ids contain '/'). Writes go to a temp file renamed into place, so a
 * crash leaves the old record or the new one, never half of one.
 */
export class StageRecordStore {
  readonly #dir: string;

  constructor(opts: { readonly dir: string }) {
    this.#dir = opts.dir;
  }

  async read(volumeId: string): Promise<StageRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.#path(volumeId), 'utf8');
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const record = parseStageRecord(text);
    if (record.volumeId !== volumeId) throw new Error(`stage record ${this.#path(volumeId)} belongs to ${record.volumeId}, not ${volumeId}`);
    return record;
  }

  async write(record: StageRecord): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const path = this.#path(record.volumeId);
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, path);
  }

  /**
   * Every record in the directory (the mirror watch's list of staged volumes). A file that does
   * not parse is skipped and named in `bad`, never fatal: one broken record must not stop the
   * watch of the others.
   */
  async list(): Promise<{ readonly records: StageRecord[]; readonly bad: string[] }> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], bad: [] };
      throw err;
    }
    const records: StageRecord[] = [];
    const bad: string[] = [];
    for (const name of names.filter((n) => /^stage-[0-9a-f]{32}\.json$/.test(n)).sort()) {
      try {
        records.push(parseStageRecord(await readFile(nodePath.join(this.#dir, name), 'utf8')));
      } catch (err: unknown) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') bad.push(name); // ENOENT: unstaged meanwhile
      }
    }
    return { records, bad };
  }

  /** Removing a record that is not there is success. */
  async remove(volumeId: string): Promise<void> {
    await rm(this.#path(volumeId), { force: true });
  }

  #path(volumeId: string): string {
    return nodePath.join(this.#dir, `stage-${createHash('sha256').update(volumeId).digest('hex').slice(0, 32)}.json`);
  }
}
