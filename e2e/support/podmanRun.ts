/**
 * Pure: one container of a rendered pod spec (charts/vbs-csi through `helm template`) → the
 * `podman run` arguments that run it the way kubelet and a CRI runtime would on that node:
 * privileges and host namespaces, hostPath mounts with their propagation, emptyDir and Secret
 * volumes as host directories, env with fieldRefs resolved, and `$(VAR)` in args expanded as
 * kubelet expands them. The containerized-roles scenario runs its output; the unit test checks
 * it against the chart itself.
 */

export interface PodSecurityContext {
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly runAsNonRoot?: boolean;
  readonly fsGroup?: number;
}
export interface ContainerSpec {
  readonly name: string;
  readonly args?: readonly string[];
  readonly env?: readonly { readonly name: string; readonly value?: string; readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath: string } } }[];
  readonly securityContext?: {
    readonly privileged?: boolean;
    readonly readOnlyRootFilesystem?: boolean;
    readonly allowPrivilegeEscalation?: boolean;
    readonly runAsUser?: number;
    readonly runAsGroup?: number;
    readonly capabilities?: { readonly drop?: readonly string[]; readonly add?: readonly string[] };
  };
  readonly volumeMounts?: readonly { readonly name: string; readonly mountPath: string; readonly readOnly?: boolean; readonly mountPropagation?: string }[];
}
export interface VolumeSpec {
  readonly name: string;
  readonly hostPath?: { readonly path: string; readonly type?: string };
  readonly emptyDir?: object;
  readonly secret?: { readonly secretName: string; readonly defaultMode?: number };
}
export interface PodSpec {
  readonly hostNetwork?: boolean;
  readonly hostPID?: boolean;
  readonly hostIPC?: boolean;
  readonly securityContext?: PodSecurityContext;
  readonly containers: readonly ContainerSpec[];
  readonly volumes?: readonly VolumeSpec[];
}

export interface PodmanRunOptions {
  readonly image: string;
  /** The podman container name. */
  readonly name: string;
  /** Which container of the pod (the vbs-csi one; the sidecars' images cannot be had here). */
  readonly container: string;
  /** fieldRef values: spec.nodeName, status.podIP, metadata.namespace, metadata.name. */
  readonly fieldRefs: Readonly<Record<string, string>>;
  /** emptyDir volume NAME becomes the host directory `<emptyDirRoot>/NAME`, shared as sidecars share it. */
  readonly emptyDirRoot: string;
  /** Secret NAME → the host directory holding its files (the caller writes them with the volume's mode). */
  readonly secretDirs: Readonly<Record<string, string>>;
  /**
   * Differences from the cluster the caller must name, each visible in its test: a pod without
   * hostNetwork gets this network (a test bed without a pod network: 'host'), extra /etc/hosts
   * entries stand in for cluster DNS, flags replaced by value (an API-backed flag without an API
   * server), and an entrypoint (a V8 flag under emulation).
   */
  readonly podNetwork?: string;
  readonly addHosts?: Readonly<Record<string, string>>;
  readonly argOverrides?: Readonly<Record<string, string>>;
  readonly entrypoint?: readonly string[];
}

export interface PodmanRun {
  /** Arguments after `podman` (global options such as --root are the caller's). */
  readonly argv: readonly string[];
  /** Host directories to create first: DirectoryOrCreate hostPaths and emptyDirs (with the pod's fsGroup, if any). */
  readonly createDirs: readonly { readonly path: string; readonly group?: number }[];
  /** hostPaths of type Directory: they must exist, as kubelet checks. */
  readonly requiredDirs: readonly string[];
  /** The Secret volumes the caller must fill: its directory and the mode kubelet gives the files. */
  readonly secrets: readonly { readonly secretName: string; readonly dir: string; readonly mode: number; readonly group?: number }[];
}

const PROPAGATION: Readonly<Record<string, string>> = { Bidirectional: 'rshared', HostToContainer: 'rslave', None: 'rprivate' };

export function podmanRunArgs(pod: PodSpec, opts: PodmanRunOptions): PodmanRun {
  const c = pod.containers.find((x) => x.name === opts.container);
  if (!c) throw new Error(`the pod has no container ${opts.container} (it has ${pod.containers.map((x) => x.name).join(', ')})`);
  const argv: string[] = ['run', '--rm', '--name', opts.name];
  const sc = c.securityContext ?? {};
  const psc = pod.securityContext ?? {};
  if (sc.privileged) argv.push('--privileged');
  argv.push(`--network=${pod.hostNetwork ? 'host' : (opts.podNetwork ?? 'bridge')}`);
  if (pod.hostPID) argv.push('--pid=host');
  if (pod.hostIPC) argv.push('--ipc=host');
  const uid = sc.runAsUser ?? psc.runAsUser;
  const gid = sc.runAsGroup ?? psc.runAsGroup;
  if (uid !== undefined) argv.push(`--user=${uid}${gid !== undefined ? `:${gid}` : ''}`);
  if (psc.fsGroup !== undefined) argv.push(`--group-add=${psc.fsGroup}`);
  if (sc.readOnlyRootFilesystem) argv.push('--read-only');
  if (sc.allowPrivilegeEscalation === false) argv.push('--security-opt=no-new-privileges');
  for (const cap of sc.capabilities?.drop ?? []) argv.push(`--cap-drop=${cap.toLowerCase()}`);
  for (const cap of sc.capabilities?.add ?? []) argv.push(`--cap-add=${cap.toLowerCase()}`);
  for (const [host, ip] of Object.entries(opts.addHosts ?? {})) argv.push(`--add-host=${host}:${ip}`);

  const env = new Map<string, string>();
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env.set(e.name, e.value);
    else if (e.valueFrom?.fieldRef) {
      const v = opts.fieldRefs[e.valueFrom.fieldRef.fieldPath];
      if (v === undefined) throw new Error(`env ${e.name}: no value given for fieldRef ${e.valueFrom.fieldRef.fieldPath}`);
      env.set(e.name, v);
    } else throw new Error(`env ${e.name}: only value and fieldRef are translated`);
  }
  for (const [k, v] of env) argv.push('--env', `${k}=${v}`);

  const createDirs: { path: string; group?: number }[] = [];
  const requiredDirs: string[] = [];
  const secrets: { secretName: string; dir: string; mode: number; group?: number }[] = [];
  const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
  for (const m of c.volumeMounts ?? []) {
    const v = volumes.get(m.name);
    if (!v) throw new Error(`volumeMount ${m.name}: no such volume`);
    let source: string;
    if (v.hostPath) {
      source = v.hostPath.path;
      if (v.hostPath.type === 'DirectoryOrCreate') createDirs.push({ path: source });
      else if (v.hostPath.type === 'Directory') requiredDirs.push(source);
      else throw new Error(`volume ${v.name}: hostPath type ${v.hostPath.type ?? '(none)'} is not translated`);
    } else if (v.emptyDir) {
      source = `${opts.emptyDirRoot}/${v.name}`;
      createDirs.push({ path: source, ...(psc.fsGroup !== undefined ? { group: psc.fsGroup } : {}) });
    } else if (v.secret) {
      const dir = opts.secretDirs[v.secret.secretName];
      if (dir === undefined) throw new Error(`volume ${v.name}: no host directory given for Secret ${v.secret.secretName}`);
      source = dir;
      // Kubernetes' default mode for Secret files is 0644; fsGroup makes them the pod's group.
      secrets.push({ secretName: v.secret.secretName, dir, mode: v.secret.defaultMode ?? 0o644, ...(psc.fsGroup !== undefined ? { group: psc.fsGroup } : {}) });
    } else {
      throw new Error(`volume ${v.name}: only hostPath, emptyDir and secret are translated`);
    }
    const options = [`type=bind`, `source=${source}`, `destination=${m.mountPath}`];
    // Secret volumes are always read-only in Kubernetes.
    if (m.readOnly || v.secret) options.push('ro=true');
    const propagation = PROPAGATION[m.mountPropagation ?? 'None'];
    if (propagation === undefined) throw new Error(`volumeMount ${m.name}: unknown mountPropagation ${m.mountPropagation}`);
    if (propagation !== 'rprivate') options.push(`bind-propagation=${propagation}`);
    argv.push('--mount', options.join(','));
  }

  if (opts.entrypoint) argv.push(`--entrypoint=${JSON.stringify(opts.entrypoint)}`);
  argv.push(opts.image);
  argv.push(...overrideArgs((c.args ?? []).map((a) => expandVars(a, env)), opts.argOverrides ?? {}));
  return { argv, createDirs, requiredDirs, secrets };
}

/** kubelet's expansion of `$(VAR)` in args from the container's env: unknown ones stay, `$$` escapes. */
export function expandVars(text: string, env: ReadonlyMap<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string | undefined) => (name === undefined ? '$' : (env.get(name) ?? whole)));
}

function overrideArgs(args: readonly string[], overrides: Readonly<Record<string, string>>): string[] {
  const out = [...args];
  for (const [flag, value] of Object.entries(overrides)) {
    const i = out.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
    if (i < 0) throw new Error(`argOverrides: the container has no ${flag} to replace`);
    out[i] = `${flag}=${value}`;
  }
  return out;
}
