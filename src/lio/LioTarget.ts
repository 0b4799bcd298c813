import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../errors.ts';
import type { ConfigFs } from './ConfigFs.ts';
import { ConfigFsError } from './ConfigFs.ts';
import { normalizeIqn } from './iqn.ts';
import {
  LUN_ID,
  TPG_TAG,
  aclDir,
  backstoreDir,
  hbaDir,
  lunDir,
  mappedLunDir,
  parseBackstorePath,
  parsePortalName,
  portalDir,
  targetDir,
  tpgDir,
} from './lioPaths.ts';
import type { Portal } from './lioPaths.ts';
import type { AclSpec, AclSummary, BackstoreSummary, ExportReport, ExportSpec, ExportSummary, LunSummary } from './types.ts';
import { parseVpdUnitSerialAttr } from './unitSerial.ts';
import { validateAcl, validateBackstoreName, validateCmdsnDepth, validateExportSpec } from './validateExportSpec.ts';

export interface LioTargetOptions {
  readonly configFs: ConfigFs;
  /** Our iblock backstores live in core/iblock_<hbaIndex>; default 0. */
  readonly hbaIndex?: number;
  /**
   * cmdsn_depth of new ACLs (the initiator's queue depth toward us); default 128, open-iscsi's
   * node.session.cmds_max. Set only when an ACL is created: the kernel reinstates an ACL's live
   * sessions when it changes (target_core_tpg.c, core_tpg_set_initiator_node_queue_depth).
   */
  readonly cmdsnDepth?: number;
}

/**
 * TPG attributes of every export: CHAP enforced, explicit ACLs only (no demo mode), and demo
 * mode write-protected should it ever be switched on.
 */
const TPG_ATTRIBUTES: readonly (readonly [string, string])[] = [
  ['authentication', '1'],
  ['generate_node_acls', '0'],
  ['demo_mode_write_protect', '1'],
  ['cache_dynamic_acls', '0'],
];

/**
 * Exports block devices over iSCSI by writing the kernel's LIO configfs tree: one target per
 * volume (so an ACL fences exactly one volume), one TPG, LUN 0, one portal, one ACL per initiator.
 *
 * Every step observes before it acts, so re-running an export converges without touching what
 * is already right: live sessions never see a rewrite of cmdsn_depth, serials or the TPG state.
 */
export class LioTarget {
  readonly #fs: ConfigFs;
  readonly #hbaIndex: number;
  readonly #cmdsnDepth: number;

  constructor(opts: LioTargetOptions) {
    this.#fs = opts.configFs;
    this.#hbaIndex = opts.hbaIndex ?? 0;
    hbaDir(this.#hbaIndex);
    this.#cmdsnDepth = validateCmdsnDepth(opts.cmdsnDepth ?? 128);
  }

  /**
   * Ensures the export exists as specified, in the order rtslib (targetcli's library) builds one:
   *  1. iblock backstore dir; `control` udev_path=<device> (only while not yet enabled)
   *  2. wwn/vpd_unit_serial, before enable and before any LUN link (the kernel refuses later)
   *  3. backstore enable=1, then attributes (emulate_tpu/emulate_tpws for thin LVs; never unmap_zeroes_data)
   *  4. target dir, tpgt_1, TPG attributes (authentication=1, generate_node_acls=0, ...)
   *  5. lun/lun_0 linked to the backstore; np/<ip>:<port>
   *  6. per ACL: acls/<initiator>, cmdsn_depth (new ACLs only), CHAP auth, lun_0 mapped to the
   *     TPG LUN, write_protect
   *  7. TPG enable=1, last, so nobody logs in to a half-built target
   * ACLs present but not in the spec are left alone: removing one is a fence (removeAcl).
   */
  async exportVolume(spec: ExportSpec): Promise<ExportReport> {
    const s = validateExportSpec(spec);
    const changes: string[] = [];
    const backstore = backstoreDir(this.#hbaIndex, s.backstoreName);

    await this.#ensureDir(hbaDir(this.#hbaIndex), changes);
    await this.#ensureDir(backstore, changes);
    const enabled = shown(await this.#fs.readAttr(`${backstore}/enable`)) === '1';
    if (enabled) {
      const current = await this.#readUdevPath(backstore);
      if (current !== s.devicePath) {
        throw new FailedPreconditionError(`backstore ${s.backstoreName} already exports ${current || 'an unknown device'}, not ${s.devicePath}`);
      }
    } else {
      // The iblock control parser refuses udev_path= once enabled; before that, rewriting is harmless.
      await this.#write(`${backstore}/control`, `udev_path=${s.devicePath}`, changes);
      await this.#ensureAttr(`${backstore}/udev_path`, s.devicePath, changes);
    }
    await this.#ensureSerial(backstore, s.backstoreName, s.serial, changes);
    if (!enabled) await this.#write(`${backstore}/enable`, '1', changes);
    // Thin LVs advertise UNMAP and WRITE SAME with UNMAP, so an initiator's discards (fstrim, a VM's
    // trim) return blocks to the pool; written after enable because the kernel checks the device's
    // discard support when emulate_tpu is set. Thick LVs do not: their extents stay allocated
    // whatever is discarded. unmap_zeroes_data (LBPRZ, "unmapped blocks read as zeroes") is never
    // claimed: LIO carries out an unmap as a discard of the LV, and dm-thin leaves a discard of less
    // than a pool chunk undone, data in place (dm-thin.c process_discard_bio), so an initiator that
    // trusted LBPRZ to zero 4 KiB would read old data back (docs/node-plugin.md, "Discards").
    await this.#ensureAttr(`${backstore}/attrib/emulate_tpu`, s.thin ? '1' : '0', changes);
    await this.#ensureAttr(`${backstore}/attrib/emulate_tpws`, s.thin ? '1' : '0', changes);

    const tpg = tpgDir(s.targetIqn);
    await this.#ensureDir('iscsi', changes);
    await this.#ensureDir(targetDir(s.targetIqn), changes);
    await this.#ensureDir(tpg, changes);
    for (const [name, value] of TPG_ATTRIBUTES) await this.#ensureAttr(`${tpg}/attrib/${name}`, value, changes);

    const lun = lunDir(s.targetIqn);
    await this.#ensureDir(lun, changes);
    await this.#ensureSingleLink(lun, s.backstoreName, backstore, changes);
    await this.#ensureDir(portalDir(s.targetIqn, s.portal), changes);

    for (const acl of s.acls) await this.#ensureAcl(s.targetIqn, acl, acl.readOnly ?? s.readOnly ?? false, changes);

    // Writing enable=1 to an enabled TPG fails (EINVAL), so compare first.
    if (shown(await this.#fs.readAttr(`${tpg}/enable`)) !== '1') await this.#write(`${tpg}/enable`, '1', changes);
    return { changes };
  }

  /**
   * Grants one more initiator access to an existing export (ControllerPublish): ACL, CHAP, and
   * LUN 0 mapped (write-protected if readOnly). Idempotent like exportVolume.
   */
  async addAcl(targetIqn: string, acl: AclSpec, opts: { readonly readOnly?: boolean } = {}): Promise<ExportReport> {
    const iqn = normalizeIqn(targetIqn, 'target IQN');
    const valid = validateAcl(acl);
    if (!(await this.#fs.exists(lunDir(iqn)))) throw new NotFoundError(`target ${iqn} is not exported here`);
    const changes: string[] = [];
    await this.#ensureAcl(iqn, valid, opts.readOnly ?? valid.readOnly ?? false, changes);
    return { changes };
  }

  /**
   * Removes an initiator's ACL: its mapped LUNs, then the ACL itself. Deleting the node ACL is
   * what makes the kernel shut that initiator's sessions down, so this is our fence (field
   * notes 4.8, 5.4). Returns false if there was no such ACL.
   */
  async removeAcl(targetIqn: string, initiatorIqn: string): Promise<boolean> {
    const dir = aclDir(normalizeIqn(targetIqn, 'target IQN'), normalizeIqn(initiatorIqn, 'initiator IQN'));
    return this.#removeAclDir(dir, []);
  }

  /**
   * Removes an export in the reverse order of its creation, tolerating any half-built state and
   * anything already gone:
   *  1. TPG enable=0 (ends its sessions)
   *  2. each ACL: mapped LUN links, mapped LUN dirs, the ACL dir
   *  3. each LUN: its backstore link, its dir; then each portal
   *  4. the TPG and the target dirs
   *  5. the backstore (the kernel refuses while any other LUN still links it), unless
   *     keepBackstore: another target of the same backstore (a current one) still uses it
   */
  async unexportVolume(targetIqn: string, backstoreName: string, opts: { readonly keepBackstore?: boolean } = {}): Promise<ExportReport> {
    const iqn = normalizeIqn(targetIqn, 'target IQN');
    const name = validateBackstoreName(backstoreName);
    const changes: string[] = [];
    const target = targetDir(iqn);
    for (const tpg of await this.#listDirs(target, /^tpgt_[0-9]+$/)) {
      const tpgPath = `${target}/${tpg}`;
      if (shown(await this.#fs.readAttr(`${tpgPath}/enable`)) === '1') await this.#write(`${tpgPath}/enable`, '0', changes);
      for (const acl of await this.#listDirs(`${tpgPath}/acls`)) await this.#removeAclDir(`${tpgPath}/acls/${acl}`, changes);
      for (const lun of await this.#listDirs(`${tpgPath}/lun`, /^lun_[0-9]+$/)) {
        await this.#removeLinks(`${tpgPath}/lun/${lun}`, changes);
        await this.#remove(`${tpgPath}/lun/${lun}`, changes);
      }
      for (const np of await this.#listDirs(`${tpgPath}/np`)) await this.#remove(`${tpgPath}/np/${np}`, changes);
      await this.#remove(tpgPath, changes);
    }
    await this.#remove(target, changes);
    if (!opts.keepBackstore) await this.#remove(backstoreDir(this.#hbaIndex, name), changes);
    return { changes };
  }

  /** Reads one export back from configfs; undefined if the target does not exist. */
  async readExport(targetIqn: string, opts: { readonly includeSecrets?: boolean } = {}): Promise<ExportSummary | undefined> {
    const iqn = normalizeIqn(targetIqn, 'target IQN');
    const target = targetDir(iqn);
    if (!(await this.#fs.exists(target))) return undefined;
    const tags = (await this.#listDirs(target, /^tpgt_[0-9]+$/)).map((n) => Number(n.slice('tpgt_'.length))).sort((a, b) => a - b);
    const tag = tags.includes(TPG_TAG) ? TPG_TAG : tags[0];
    if (tag === undefined) return { targetIqn: iqn, tpgTag: TPG_TAG, enabled: false, portals: [], luns: [], acls: [] };
    const tpg = `${target}/tpgt_${tag}`;

    const portals: Portal[] = [];
    for (const np of await this.#listDirs(`${tpg}/np`)) {
      const portal = parsePortalName(np);
      if (portal) portals.push(portal);
    }
    const luns: LunSummary[] = [];
    for (const lun of await this.#listDirs(`${tpg}/lun`, /^lun_[0-9]+$/)) {
      const links = (await this.#fs.list(`${tpg}/lun/${lun}`)).filter((e) => e.kind === 'link');
      const linkTarget = links[0] ? await this.#fs.readLink(`${tpg}/lun/${lun}/${links[0].name}`) : undefined;
      luns.push({ lun: Number(lun.slice('lun_'.length)), backstore: linkTarget === undefined ? undefined : await this.#readBackstore(linkTarget) });
    }
    const acls: AclSummary[] = [];
    for (const initiator of await this.#listDirs(`${tpg}/acls`)) acls.push(await this.#readAcl(`${tpg}/acls/${initiator}`, initiator, opts.includeSecrets ?? false));
    return { targetIqn: iqn, tpgTag: tag, enabled: shown(await this.#fs.readAttr(`${tpg}/enable`)) === '1', portals, luns, acls };
  }

  /** Every iSCSI target in configfs (ours or not), read back; CHAP passwords only if asked for. */
  async listExports(opts: { readonly includeSecrets?: boolean } = {}): Promise<ExportSummary[]> {
    const out: ExportSummary[] = [];
    for (const name of await this.#listDirs('iscsi', /^(?:iqn|eui|naa)\./)) {
      const summary = await this.readExport(name, opts).catch((err: unknown) => {
        // A target someone else created with a name we would not accept is still not ours to fail on.
        if (err instanceof InvalidArgumentError) return undefined;
        throw err;
      });
      if (summary) out.push(summary);
    }
    return out;
  }

  async #ensureSerial(backstore: string, name: string, serial: string, changes: string[]): Promise<void> {
    const path = `${backstore}/wwn/vpd_unit_serial`;
    const current = parseVpdUnitSerialAttr((await this.#fs.readAttr(path)) ?? '');
    if (current === serial) return;
    if (current !== '') {
      throw new FailedPreconditionError(`backstore ${name} has unit serial ${current}, not ${serial}; a serial is never changed once set`);
    }
    try {
      await this.#write(path, serial, changes);
    } catch (err: unknown) {
      if (err instanceof ConfigFsError && err.code === 'EINVAL') {
        throw new FailedPreconditionError(`cannot set the unit serial of backstore ${name}: the kernel refuses while it is linked to a LUN`);
      }
      throw err;
    }
  }

  async #ensureAcl(targetIqn: string, acl: AclSpec, readOnly: boolean, changes: string[]): Promise<void> {
    const dir = aclDir(targetIqn, acl.initiatorIqn);
    const created = await this.#ensureDir(dir, changes);
    const mapped = mappedLunDir(targetIqn, acl.initiatorIqn);
    // A new ACL (or one a crash left without its LUN, hence without I/O) gets its queue depth now;
    // writing cmdsn_depth on a live ACL forces session reinstatement (core_tpg_set_initiator_node_queue_depth).
    if (created || !(await this.#fs.exists(mapped))) {
      await this.#ensureAttr(`${dir}/cmdsn_depth`, String(acl.cmdsnDepth ?? this.#cmdsnDepth), changes);
    }
    await this.#ensureAuth(`${dir}/auth/userid`, acl.chap.username, changes, false);
    await this.#ensureAuth(`${dir}/auth/password`, acl.chap.password, changes, true);
    await this.#ensureAuth(`${dir}/auth/userid_mutual`, acl.chap.mutual?.username ?? '', changes, false);
    await this.#ensureAuth(`${dir}/auth/password_mutual`, acl.chap.mutual?.password ?? '', changes, true);
    await this.#ensureDir(mapped, changes);
    await this.#ensureSingleLink(mapped, `lun_${LUN_ID}`, lunDir(targetIqn), changes);
    // After the link: before it, the kernel has no mapping to apply write_protect to.
    await this.#ensureAttr(`${mapped}/write_protect`, readOnly ? '1' : '0', changes);
  }

  /** CHAP fields read back as "<value>\n"; the kernel clears a field when "NULL" is written. */
  async #ensureAuth(path: string, value: string, changes: string[], isSecret: boolean): Promise<void> {
    const raw = shown(await this.#fs.readAttr(path));
    const current = raw === 'NULL' ? '' : (raw ?? '');
    if (current === value) return;
    await this.#fs.writeAttr(path, value === '' ? 'NULL' : value);
    changes.push(isSecret ? `write ${path}` : `write ${path}=${value === '' ? 'NULL' : value}`);
  }

  /**
   * Ensures dir holds a link to target. A link under another name that already points there is
   * accepted (targetcli names links randomly); a link to anything else is a conflict.
   */
  async #ensureSingleLink(dir: string, linkName: string, target: string, changes: string[]): Promise<void> {
    for (const entry of await this.#fs.list(dir)) {
      if (entry.kind !== 'link') continue;
      const current = await this.#fs.readLink(`${dir}/${entry.name}`);
      if (current === target) return;
      throw new FailedPreconditionError(`${dir} already links ${current ?? entry.name}, not ${target}`);
    }
    if (await this.#fs.ensureLink(`${dir}/${linkName}`, target)) changes.push(`link ${dir}/${linkName} -> ${target}`);
  }

  async #removeAclDir(dir: string, changes: string[]): Promise<boolean> {
    if (!(await this.#fs.exists(dir))) return false;
    for (const mapped of await this.#listDirs(dir, /^lun_[0-9]+$/)) {
      await this.#removeLinks(`${dir}/${mapped}`, changes);
      await this.#remove(`${dir}/${mapped}`, changes);
    }
    return this.#remove(dir, changes);
  }

  async #removeLinks(dir: string, changes: string[]): Promise<void> {
    for (const entry of await this.#fs.list(dir)) {
      if (entry.kind === 'link') await this.#remove(`${dir}/${entry.name}`, changes);
    }
  }

  async #readBackstore(path: string): Promise<BackstoreSummary | undefined> {
    const parsed = parseBackstorePath(path);
    if (!parsed) return undefined;
    return {
      ...parsed,
      devicePath: await this.#readUdevPath(path),
      serial: parseVpdUnitSerialAttr((await this.#fs.readAttr(`${path}/wwn/vpd_unit_serial`)) ?? ''),
      enabled: shown(await this.#fs.readAttr(`${path}/enable`)) === '1',
      // Both switches: an export that lost either is repaired by the next reconcile.
      thin: shown(await this.#fs.readAttr(`${path}/attrib/emulate_tpu`)) === '1' && shown(await this.#fs.readAttr(`${path}/attrib/emulate_tpws`)) === '1',
    };
  }

  async #readAcl(dir: string, initiatorIqn: string, includeSecrets: boolean): Promise<AclSummary> {
    const auth = async (name: string): Promise<string> => {
      const value = shown(await this.#fs.readAttr(`${dir}/auth/${name}`)) ?? '';
      return value === 'NULL' ? '' : value;
    };
    const mappedLuns: { lun: number; readOnly: boolean }[] = [];
    for (const mapped of await this.#listDirs(dir, /^lun_[0-9]+$/)) {
      mappedLuns.push({ lun: Number(mapped.slice('lun_'.length)), readOnly: shown(await this.#fs.readAttr(`${dir}/${mapped}/write_protect`)) === '1' });
    }
    const depth = Number(shown(await this.#fs.readAttr(`${dir}/cmdsn_depth`)));
    const mutualUserid = await auth('userid_mutual');
    const summary: AclSummary = {
      initiatorIqn,
      mappedLuns,
      chapUserid: await auth('userid'),
      mutualUserid: mutualUserid === '' ? undefined : mutualUserid,
      cmdsnDepth: Number.isInteger(depth) && depth > 0 ? depth : undefined,
    };
    if (!includeSecrets) return summary;
    return { ...summary, chapPassword: await auth('password'), mutualPassword: await auth('password_mutual') };
  }

  /** The generic udev_path attribute, else the "UDEV PATH:" field iblock shows in `info`. */
  async #readUdevPath(backstore: string): Promise<string> {
    const direct = shown(await this.#fs.readAttr(`${backstore}/udev_path`)) ?? '';
    if (direct !== '') return direct;
    const info = (await this.#fs.readAttr(`${backstore}/info`)) ?? '';
    return /UDEV PATH:\s*(\S+)/.exec(info)?.[1] ?? '';
  }

  async #listDirs(path: string, pattern?: RegExp): Promise<string[]> {
    return (await this.#fs.list(path)).filter((e) => e.kind === 'dir' && (!pattern || pattern.test(e.name))).map((e) => e.name);
  }

  async #ensureDir(path: string, changes: string[]): Promise<boolean> {
    const created = await this.#fs.ensureDir(path);
    if (created) changes.push(`mkdir ${path}`);
    return created;
  }

  async #ensureAttr(path: string, value: string, changes: string[]): Promise<void> {
    if (shown(await this.#fs.readAttr(path)) !== value) await this.#write(path, value, changes);
  }

  async #write(path: string, value: string, changes: string[]): Promise<void> {
    await this.#fs.writeAttr(path, value);
    changes.push(`write ${path}=${value}`);
  }

  async #remove(path: string, changes: string[]): Promise<boolean> {
    const removed = await this.#fs.removeIfPresent(path);
    if (removed) changes.push(`remove ${path}`);
    return removed;
  }
}

/** An attribute as the kernel shows it, without the one trailing newline show() adds. */
function shown(text: string | undefined): string | undefined {
  return text === undefined ? undefined : text.replace(/\n$/, '');
}
