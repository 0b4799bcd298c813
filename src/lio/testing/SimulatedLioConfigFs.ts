import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { ConfigFsError } from '../ConfigFs.ts';
import { FsConfigFs } from '../FsConfigFs.ts';

/**
 * Test support: FsConfigFs on a temp dir plus the few kernel behaviours LioTarget depends on,
 * as observed on Linux 6.1 in the test bed and written in target_core_configfs.c:
 * - mkdir creates the default children configfs would (tpgt_1/{acls,lun,np,attrib,...}) and
 *   rmdir removes them with their parent, but refuses (ENOTEMPTY) while user-made children remain;
 * - attributes read back as show() prints them ("1\n", "T10 VPD Unit Serial Number: x\n");
 * - the kernel's refusals LioTarget must avoid: udev_path= on an enabled iblock (EEXIST), enable
 *   twice (EEXIST / EINVAL), vpd_unit_serial on a linked backstore (EINVAL), a LUN link to a
 *   backstore not enabled (ENODEV), rmdir of a backstore a LUN still links (EBUSY).
 * Every mutation is recorded in `ops` so tests can assert what was (not) written, and in order.
 */
export class SimulatedLioConfigFs extends FsConfigFs {
  readonly ops: string[] = [];
  /** When set, the mutation that would become ops[crashAtOp] throws instead, once: a crash mid-way. */
  crashAtOp: number | undefined;
  /** Default children per directory, which rmdir removes with it. */
  readonly #defaults = new Map<string, Set<string>>();
  /** backstore path -> LUN links pointing at it (the kernel's export_count). */
  readonly #exports = new Map<string, Set<string>>();

  static async create(): Promise<SimulatedLioConfigFs> {
    const root = await fs.mkdtemp(nodePath.join(tmpdir(), 'vbs-lio-'));
    const sim = new SimulatedLioConfigFs({ root });
    await fs.mkdir(nodePath.join(root, 'core'));
    await fs.mkdir(nodePath.join(root, 'iscsi'));
    await fs.mkdir(nodePath.join(root, 'iscsi', 'discovery_auth'));
    await fs.writeFile(nodePath.join(root, 'iscsi', 'lio_version'), 'Datera Inc. iSCSI Target v4.1.0\n');
    return sim;
  }

  async destroy(): Promise<void> {
    await fs.rm(this.root, { recursive: true, force: true });
  }

  /** Reads a file as stored, for assertions (bypasses ops recording). */
  async raw(path: string): Promise<string> {
    return fs.readFile(nodePath.join(this.root, path), 'utf8');
  }

  /** Sets an attribute behind LioTarget's back, as another tool or an earlier kernel state would. */
  async poke(path: string, shownText: string): Promise<void> {
    await fs.writeFile(nodePath.join(this.root, path), shownText);
  }

  /** Every directory, link (as "-> target") and attribute below the root, sorted: compare two trees with it. */
  async snapshot(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      for (const d of await fs.readdir(nodePath.join(this.root, rel), { withFileTypes: true })) {
        const path = rel === '' ? d.name : `${rel}/${d.name}`;
        if (d.isSymbolicLink()) out.push(`${path} -> ${await this.readLink(path)}`);
        else if (d.isDirectory()) {
          out.push(`${path}/`);
          await walk(path);
        } else out.push(`${path} = ${JSON.stringify(await this.raw(path))}`);
      }
    };
    await walk('');
    return out.sort();
  }

  #maybeCrash(what: string): void {
    if (this.crashAtOp !== undefined && this.ops.length >= this.crashAtOp) {
      this.crashAtOp = undefined;
      throw new ConfigFsError('simulated crash before', what, 'EIO');
    }
  }

  override async ensureDir(path: string): Promise<boolean> {
    if (!(await this.exists(path))) this.#maybeCrash(path);
    const created = await super.ensureDir(path);
    if (created) {
      this.ops.push(`mkdir ${path}`);
      await this.#populate(path);
    }
    return created;
  }

  override async writeAttr(path: string, value: string): Promise<void> {
    this.#maybeCrash(path);
    const backstore = /^(core\/iblock_[0-9]+\/[^/]+)\/(control|enable|wwn\/vpd_unit_serial)$/.exec(path);
    if (backstore) {
      const dir = backstore[1]!;
      const enabled = (await this.raw(`${dir}/enable`)) === '1\n';
      switch (backstore[2]) {
        case 'control': {
          if (enabled && value.startsWith('udev_path=')) throw new ConfigFsError('write', path, 'EEXIST');
          const udev = /^udev_path=(.*)$/.exec(value);
          if (udev) await this.poke(`${dir}/info`, `Status: DEACTIVATED  Max Queue Depth: 0  SectorSize: 512  HwMaxSectors: 1024\n        iBlock device: dm-0  UDEV PATH: ${udev[1]}  readonly: 0\n`);
          this.ops.push(`write ${path}=${value}`);
          return;
        }
        case 'enable':
          if (value !== '1' || enabled) throw new ConfigFsError('write', path, enabled ? 'EEXIST' : 'EINVAL');
          if (!(await this.raw(`${dir}/info`)).includes('UDEV PATH')) throw new ConfigFsError('write', path, 'EINVAL');
          break;
        default:
          if ((this.#exports.get(dir)?.size ?? 0) > 0) throw new ConfigFsError('write', path, 'EINVAL');
          await this.poke(path, `T10 VPD Unit Serial Number: ${value.trim()}\n`);
          this.ops.push(`write ${path}=${value}`);
          return;
      }
    }
    const tpgEnable = /^iscsi\/[^/]+\/tpgt_[0-9]+\/enable$/.test(path);
    if (tpgEnable && value === '1' && (await this.raw(path)) === '1\n') throw new ConfigFsError('write', path, 'EINVAL');
    const mappedWp = /\/acls\/[^/]+\/lun_[0-9]+\/write_protect$/.test(path);
    if (mappedWp && (await super.list(nodePath.posix.dirname(path))).every((e) => e.kind !== 'link')) {
      // No mapping yet: the kernel finds no deve and ignores the write.
      this.ops.push(`write ${path}=${value}`);
      return;
    }
    await super.writeAttr(path, `${value}\n`);
    this.ops.push(`write ${path}=${value}`);
  }

  override async ensureLink(linkPath: string, targetPath: string): Promise<boolean> {
    if (!(await this.exists(linkPath))) this.#maybeCrash(linkPath);
    if (/^core\/iblock_[0-9]+\/[^/]+$/.test(targetPath) && (await this.raw(`${targetPath}/enable`).catch(() => '')) !== '1\n') {
      throw new ConfigFsError('symlink', linkPath, 'ENODEV');
    }
    const created = await super.ensureLink(linkPath, targetPath);
    if (created) {
      this.ops.push(`link ${linkPath} -> ${targetPath}`);
      if (!this.#exports.has(targetPath)) this.#exports.set(targetPath, new Set());
      this.#exports.get(targetPath)!.add(linkPath);
    }
    return created;
  }

  override async removeIfPresent(path: string): Promise<boolean> {
    if (!(await this.exists(path))) return false;
    this.#maybeCrash(path);
    const st = await fs.lstat(nodePath.join(this.root, path));
    if (st.isSymbolicLink()) {
      const target = await this.readLink(path);
      const removed = await super.removeIfPresent(path);
      if (target !== undefined) this.#exports.get(target)?.delete(path);
      this.ops.push(`remove ${path}`);
      return removed;
    }
    if ((this.#exports.get(path)?.size ?? 0) > 0) throw new ConfigFsError('rmdir', path, 'EBUSY');
    const defaults = this.#defaults.get(path) ?? new Set<string>();
    const extra = (await fs.readdir(nodePath.join(this.root, path))).filter((name) => !defaults.has(name));
    if (extra.length > 0) throw new ConfigFsError('rmdir', path, 'ENOTEMPTY', `still holds ${extra.join(', ')}`);
    await fs.rm(nodePath.join(this.root, path), { recursive: true });
    this.#defaults.delete(path);
    this.ops.push(`remove ${path}`);
    return true;
  }

  async #populate(path: string): Promise<void> {
    const layout = defaultLayout(path);
    if (!layout) return;
    const names = new Set<string>();
    for (const [name, content] of Object.entries(layout)) {
      names.add(name);
      const abs = nodePath.join(this.root, path, name);
      if (typeof content === 'string') {
        await fs.writeFile(abs, content);
      } else {
        await fs.mkdir(abs);
        for (const [child, text] of Object.entries(content)) await fs.writeFile(nodePath.join(abs, child), text);
      }
    }
    this.#defaults.set(path, names);
  }
}

type Layout = Record<string, string | Record<string, string>>;

/** What configfs creates by itself under a new directory, with the values a 6.1 kernel shows. */
function defaultLayout(path: string): Layout | undefined {
  if (/^core\/iblock_[0-9]+$/.test(path)) return { hba_info: 'HBA Index: 1 plugin: iblock version: v5.0\n', hba_mode: '0\n' };
  if (/^core\/iblock_[0-9]+\/[^/]+$/.test(path)) {
    return {
      control: '',
      enable: '0\n',
      udev_path: '\n',
      alias: '\n',
      info: 'Status: DEACTIVATED  Max Queue Depth: 0  SectorSize: 512  HwMaxSectors: 1024\n        iBlock device: dm-0  readonly: 0\n',
      attrib: { emulate_tpu: '0\n', emulate_tpws: '0\n', unmap_zeroes_data: '0\n', block_size: '512\n', queue_depth: '128\n' },
      wwn: { vpd_unit_serial: 'T10 VPD Unit Serial Number: \n', vendor_id: 'LIO-ORG\n' },
      pr: {},
      alua: {},
      statistics: {},
    };
  }
  if (/^iscsi\/[^/]+$/.test(path) && path !== 'iscsi/discovery_auth') return { fabric_statistics: {} };
  if (/^iscsi\/[^/]+\/tpgt_[0-9]+$/.test(path)) {
    return {
      enable: '0\n',
      rtpi: '1\n',
      dynamic_sessions: '',
      acls: {},
      lun: {},
      np: {},
      param: { AuthMethod: 'CHAP,None\n' },
      auth: {},
      // Checked in the test bed: a new 6.1 TPG already has the values LioTarget wants.
      attrib: { authentication: '1\n', generate_node_acls: '0\n', demo_mode_write_protect: '1\n', cache_dynamic_acls: '0\n', default_cmdsn_depth: '64\n' },
    };
  }
  if (/^iscsi\/[^/]+\/tpgt_[0-9]+\/lun\/lun_[0-9]+$/.test(path)) return { alua_tg_pt_gp: '', alua_tg_pt_offline: '0\n', statistics: {} };
  if (/^iscsi\/[^/]+\/tpgt_[0-9]+\/np\/[^/]+$/.test(path)) return { iser: '0\n' };
  if (/^iscsi\/[^/]+\/tpgt_[0-9]+\/acls\/[^/]+$/.test(path)) {
    return {
      cmdsn_depth: '64\n',
      info: 'No active iSCSI Session for Initiator Endpoint\n',
      tag: '\n',
      attrib: { dataout_timeout: '3\n' },
      auth: { userid: '\n', password: '\n', userid_mutual: '\n', password_mutual: '\n', authenticate_target: '0\n' },
      param: {},
      fabric_statistics: {},
    };
  }
  if (/^iscsi\/[^/]+\/tpgt_[0-9]+\/acls\/[^/]+\/lun_[0-9]+$/.test(path)) return { write_protect: '0\n' };
  return undefined;
}
