import { chmod, chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { CommandRunner } from '../../src/exec/index.ts';
import type { ScenarioContext } from '../scenarios/Scenario.ts';
import { superviseChild } from './driverProcess.ts';
import type { DriverProcess } from './driverProcess.ts';
import { podmanRunArgs } from './podmanRun.ts';
import { pollUntil } from '../vm/poll.ts';
import type { PodmanRunOptions, PodSpec } from './podmanRun.ts';

/** `podman run` until the container runs: an image copy and a container's set-up take seconds under TCG. */
const CONTAINER_START_MS = 180_000;

/**
 * podman in the guest, with its storage on a tmpfs of its own (the guest's root is an overlay,
 * which cannot be an overlay's upper layer), cgroupfs (no systemd) and events in a file.
 */
export class GuestPodman {
  readonly #ctx: ScenarioContext;
  readonly #runner: CommandRunner;
  readonly #dir: string;
  #mounted = false;
  readonly #running: DriverProcess[] = [];

  /** `dir` short: podman refuses a runroot longer than 50 characters. */
  constructor(ctx: ScenarioContext, runner: CommandRunner, dir = '/run/vbs-podman') {
    this.#ctx = ctx;
    this.#runner = runner;
    this.#dir = dir;
  }

  get global(): string[] {
    return ['--root', join(this.#dir, 'storage'), '--runroot', join(this.#dir, 'run'), '--tmpdir', join(this.#dir, 'tmp'), '--storage-driver=overlay', '--cgroup-manager=cgroupfs', '--events-backend=file'];
  }

  async #sh(file: string, args: readonly string[], timeoutMs = 120_000): Promise<string> {
    return (await this.#runner.run({ file, args, timeoutMs }, this.#ctx.signal)).stdout;
  }

  /**
   * cgroup2 (the guest's boot mounts none), the kubelet dir shared (rshared needs a shared source),
   * podman's tmpfs, and the image: copied from the host's image store when it matches the archive
   * (e2e/vm/imageStore.ts; a plain file copy, no hashing under emulation), else `podman load`.
   */
  async prepare(archive: string, store?: { readonly dir: string; readonly stamp: string; readonly archiveStamp: string }): Promise<string> {
    await mkdir('/sys/fs/cgroup', { recursive: true }).catch(() => {});
    const cgroupMounted = await this.#sh('mountpoint', ['-q', '/sys/fs/cgroup']).then(() => true, () => false);
    if (!cgroupMounted) await this.#sh('mount', ['-t', 'cgroup2', 'cgroup2', '/sys/fs/cgroup']);
    await this.#sh('mount', ['--make-rshared', '/var/lib/kubelet']);
    await mkdir(this.#dir, { recursive: true });
    await this.#sh('mount', ['-t', 'tmpfs', '-o', 'size=2g,mode=0700', 'podman', this.#dir]);
    this.#mounted = true;
    await mkdir(join(this.#dir, 'tmp'), { recursive: true });
    const [stamp, wanted] = store ? await Promise.all([readFile(store.stamp, 'utf8').catch(() => ''), readFile(store.archiveStamp, 'utf8').catch(() => 'none')]) : ['', 'none'];
    if (store && stamp === wanted) {
      await this.#sh('cp', ['-a', `${store.dir}/storage`, join(this.#dir, 'storage')], 600_000);
      return 'copied from the host image store';
    }
    await this.#sh('podman', [...this.global, 'load', '-q', '-i', archive], 900_000);
    return 'podman load';
  }

  /** Makes what the pod's volumes need (kubelet's part), then `podman run` in the foreground. */
  async run(pod: PodSpec, opts: PodmanRunOptions, secretFiles: Readonly<Record<string, Readonly<Record<string, string>>>>): Promise<{ process: DriverProcess; argv: readonly string[] }> {
    const run = podmanRunArgs(pod, opts);
    for (const d of run.requiredDirs) {
      if (!(await stat(d).then((s) => s.isDirectory(), () => false))) throw new Error(`hostPath ${d} (type Directory) does not exist`);
    }
    for (const d of run.createDirs) {
      await mkdir(d.path, { recursive: true });
      if (d.group !== undefined) {
        await chown(d.path, 0, d.group);
        await chmod(d.path, 0o2775); // emptyDir with fsGroup: group-owned, setgid
      }
    }
    for (const s of run.secrets) {
      await mkdir(s.dir, { recursive: true });
      for (const [file, content] of Object.entries(secretFiles[s.secretName] ?? {})) {
        const path = join(s.dir, file);
        await writeFile(path, content);
        await chown(path, 0, s.group ?? 0);
        await chmod(path, s.mode);
      }
    }
    const argv = [...this.global, ...run.argv.slice(0, 1), '--log-driver=k8s-file', ...run.argv.slice(1)];
    const child = execa('podman', argv, { reject: false, all: true, forceKillAfterDelay: 30_000 });
    // podman run proxies kill's signal to the container (--sig-proxy), as kubelet's stop does.
    const process = superviseChild(this.#ctx, opts.name, child);
    this.#running.push(process);
    await this.#waitRunning(opts.name, process);
    return { process, argv };
  }

  /**
   * One container at a time, as a kubelet's pod workers mostly do: the guest kernel once locked up
   * with podman and conmon on its two CPUs while containers started (docs/test-bed.md), and a container that never starts
   * is named here rather than found missing later.
   */
  async #waitRunning(name: string, process: DriverProcess): Promise<void> {
    await pollUntil(
      async () => {
        if (process.hasExited()) throw new Error(`podman run ${name} ended before the container ran: ${process.output().slice(-2000)}`);
        const state = await this.#runner.run({ file: 'podman', args: [...this.global, 'container', 'inspect', '--format', '{{.State.Running}}', name], timeoutMs: 30_000, okExitCodes: [0, 125] }, this.#ctx.signal);
        return state.stdout.trim() === 'true' ? true : undefined;
      },
      { deadlineMs: Date.now() + CONTAINER_START_MS, what: `container ${name} to run`, intervalMs: 500, signal: this.#ctx.signal },
    );
  }

  /** Stops every container (SIGTERM, then podman rm -f), drops podman's tmpfs. */
  async stop(): Promise<void> {
    const note = (what: string) => (err: unknown) => this.#ctx.log(`cleanup ${what}: ${err instanceof Error ? err.message : String(err)}`);
    for (const p of this.#running) p.kill('SIGTERM');
    await Promise.all(this.#running.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 60_000))])));
    if (this.#mounted) {
      await this.#sh('podman', [...this.global, 'rm', '-a', '-f', '-t', '5']).catch(note('podman rm'));
      await this.#sh('umount', ['-l', this.#dir]).catch(note('umount podman tmpfs'));
    }
  }
}
