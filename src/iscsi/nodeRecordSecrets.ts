import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FailedPreconditionError } from '../errors.ts';
import type { IscsiPortal } from './portal.ts';

/** Where Debian's and Ubuntu's open-iscsi keep node records (NODE_CONFIG_DIR; Fedora and RHEL use /var/lib/iscsi/nodes). */
export const DEFAULT_NODE_RECORD_DIR = '/etc/iscsi/nodes';

/** The secret fields of a node record: never passed to iscsiadm on its command line. */
export interface NodeRecordSecrets {
  readonly 'node.session.auth.password': string;
  readonly 'node.session.auth.password_in': string;
}

/**
 * The file of one node record, as open-iscsi lays it out for records with a portal group tag:
 * `<dir>/<target iqn>/<ip>,<port>,<tpgt>/<iface>` (usr/idbm.c, IPv6 addresses without brackets).
 * Every part was validated by the caller (iSCSI name, address, iface name: no '/' or '..').
 */
export function nodeRecordPath(dir: string, t: { readonly targetIqn: string; readonly portal: IscsiPortal; readonly tpgt: number; readonly iface: string }): string {
  return join(dir, t.targetIqn, `${t.portal.ip},${t.portal.port},${t.tpgt}`, t.iface);
}

/**
 * Sets the secret fields of an existing node record by rewriting its file, so the CHAP
 * passwords never appear in any process's argv (`iscsiadm -v <password>` is readable in
 * /proc/<pid>/cmdline by every user of the host). The caller holds open-iscsi's record lock
 * (withIdbmLock). Every other line is kept as iscsiadm wrote it; a field missing from the file is
 * added before "# END RECORD", an empty one removed (as open-iscsi writes empty fields). The new content goes to a 0600 file beside the record, then is
 * renamed over it: a crash leaves the old record or the new, never half of one.
 */
export async function writeNodeRecordSecrets(path: string, secrets: NodeRecordSecrets): Promise<void> {
  const info = await stat(path).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FailedPreconditionError(`open-iscsi's node record is not at ${path}: set --iscsi-node-dir to the host's node record directory (e.g. /var/lib/iscsi/nodes on Fedora)`);
    }
    throw err;
  });
  if (!info.isFile()) throw new FailedPreconditionError(`${path} is not a regular file; cannot set the CHAP secrets of that node record`);
  const lines = (await readFile(path, 'utf8')).split('\n');
  for (const [name, value] of Object.entries(secrets)) {
    const at = lines.findIndex((l) => l.startsWith(`${name} = `) || l.trim() === `${name} =`);
    // open-iscsi leaves empty fields out of record files ("<empty>" is only how -S prints them;
    // written into the file it would be read as that very string, a password).
    if (value === '') {
      if (at >= 0) lines.splice(at, 1);
      continue;
    }
    const line = `${name} = ${value}`;
    if (at >= 0) lines[at] = line;
    else {
      const end = lines.findIndex((l) => l.startsWith('# END RECORD'));
      lines.splice(end >= 0 ? end : lines.length, 0, line);
    }
  }
  const tmp = join(path, '..', `.${path.slice(path.lastIndexOf('/') + 1)}.vbs-new`);
  const file = await open(tmp, 'w', 0o600);
  try {
    await file.chmod(0o600);
    await file.writeFile(lines.join('\n'));
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(tmp, path);
  } catch (err: unknown) {
    await rm(tmp, { force: true });
    throw err;
  }
}
