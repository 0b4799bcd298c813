import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { VolumeAccess, AccessMode } from './volumeAccess.ts';

/**
 * What NodeStage did, kept on the host: NodeUnstage receives only the volume id and staging path,
 * and a restarted plugin must still find the session to log out of (docs/field-notes.md 1.3, 5.2). It
 * holds no secret: CHAP credentials live in the node record, which unstage deletes.
 */
export interface StageRecord {
  readonly version: 1;
  readonly volumeId: string;
  readonly stagingPath: string;
  readonly dmName: string;
  readonly target: {
    readonly targetIqn: string;
    readonly portal: { readonly ip: string; readonly port: number };
    readonly lun: number;
    /** undefined = the default iface. */
    readonly iface: string | undefined;
  };
  readonly serial: string;
  readonly access: VolumeAccess;
  readonly accessMode: AccessMode;
  /** Staged read-only (a reader-only access mode): the dm device is read-only too. */
  readonly readOnly: boolean;
  /** Target paths NodePublish bound the volume to and NodeUnpublish has not yet released. */
  readonly publishedPaths: readonly string[];
}

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
  const o = v as Partial<Record<keyof StageRecord, unknown>>;
  if (typeof o !== 'object' || o === null || o.version !== 1) return bad('unknown version');
  const str = (x: unknown, name: string): string => (typeof x === 'string' && x !== '' ? x : bad(name));
  const t = (o.target ?? {}) as Record<string, unknown>;
  const portal = (t['portal'] ?? {}) as Record<string, unknown>;
  if (typeof portal['ip'] !== 'string' || isIP(portal['ip']) === 0 || !Number.isInteger(portal['port'])) bad('target.portal');
  if (!Number.isInteger(t['lun'])) bad('target.lun');
  if (t['iface'] !== undefined && typeof t['iface'] !== 'string') bad('target.iface');
  const access = o.access as VolumeAccess | undefined;
  if (!access || (access.kind !== 'block' && !(access.kind === 'mount' && typeof access.fsType === 'string' && Array.isArray(access.mountFlags)))) bad('access');
  if (!Array.isArray(o.publishedPaths) || !o.publishedPaths.every((p) => typeof p === 'string')) bad('publishedPaths');
  return {
    version: 1,
    volumeId: str(o.volumeId, 'volumeId'),
    stagingPath: str(o.stagingPath, 'stagingPath'),
    dmName: str(o.dmName, 'dmName'),
    target: {
      targetIqn: str(t['targetIqn'], 'target.targetIqn'),
      portal: { ip: portal['ip'] as string, port: portal['port'] as number },
      lun: t['lun'] as number,
      iface: t['iface'] as string | undefined,
    },
    serial: str(o.serial, 'serial'),
    access: access!,
    accessMode: str(o.accessMode, 'accessMode') as AccessMode,
    readOnly: o.readOnly === true,
    publishedPaths: o.publishedPaths as string[],
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

  /** Removing a record that is not there is success. */
  async remove(volumeId: string): Promise<void> {
    await rm(this.#path(volumeId), { force: true });
  }

  #path(volumeId: string): string {
    return nodePath.join(this.#dir, `stage-${createHash('sha256').update(volumeId).digest('hex').slice(0, 32)}.json`);
  }
}
