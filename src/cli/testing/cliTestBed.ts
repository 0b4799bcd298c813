import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { pino } from 'pino';
import { createControllerHandlers } from '../../controller/controllerHandlers.ts';
import { TestCluster } from '../../../test/cluster/controllerHarness.ts';
import type { TestAgentOptions } from '../../../test/cluster/controllerHarness.ts';
import { parseAnyVolumeId, parseSnapshotId } from '../../csi/volumeIds.ts';
import { loadCsiProto } from '../../grpc/loadProtos.ts';
import { serve } from '../../grpc/serve.ts';
import type { RunningServer } from '../../grpc/serve.ts';
import { runCli } from '../runCli.ts';
import type { CliDeps } from '../runCli.ts';

export const NODE_ID = 'iqn.2026-11.io.vbs-test:worker-1';

export interface RecordedCall {
  readonly service: 'Controller' | 'Node';
  readonly method: string;
  readonly request: Record<string, unknown>;
}

type Handler = (call: ServerUnaryCall<Record<string, unknown>, unknown>, cb: sendUnaryData<unknown>) => void;

/** A fake CSI Node service: answers what a node plugin on this host would and stages nothing. */
function fakeNodeHandlers(): Record<string, Handler> {
  const ok: Handler = (_call, cb) => cb(null, {});
  return {
    NodeGetInfo: (_call, cb) => cb(null, { node_id: NODE_ID, max_volumes_per_node: 0 }),
    NodeStageVolume: ok,
    NodeUnstageVolume: ok,
    NodePublishVolume: ok,
    NodeUnpublishVolume: ok,
    NodeExpandVolume: (call, cb) => cb(null, { capacity_bytes: (call.request['capacity_range'] as { required_bytes: number } | null)?.required_bytes ?? 0 }),
  };
}

function recording(service: RecordedCall['service'], handlers: object, calls: RecordedCall[]): UntypedServiceImplementation {
  const out: Record<string, Handler> = {};
  for (const [method, handler] of Object.entries(handlers as Record<string, Handler>)) {
    out[method] = (call, cb) => {
      calls.push({ service, method, request: call.request });
      handler(call, cb);
    };
  }
  return out;
}

/**
 * The CLI's test bed: the real ControllerService over in-process storage agents
 * (src/controller/testing) and a fake Node service, both on one grpc-js server on a temporary unix
 * socket, every request recorded; `cli(...)` runs the CLI against it and collects its output.
 */
export class CliTestBed {
  readonly cluster: TestCluster;
  readonly dir: string;
  readonly calls: RecordedCall[] = [];
  readonly #server: RunningServer;

  private constructor(cluster: TestCluster, dir: string, server: RunningServer, calls: RecordedCall[]) {
    this.cluster = cluster;
    this.dir = dir;
    this.#server = server;
    this.calls = calls;
  }

  static async start(agents: readonly TestAgentOptions[] = [{ name: 'store-a' }]): Promise<CliTestBed> {
    const cluster = await TestCluster.create({ agents });
    const dir = await mkdtemp(join(tmpdir(), 'vbs-cli-'));
    const calls: RecordedCall[] = [];
    const server = new Server();
    const csi = loadCsiProto().csi.v1;
    const controller = createControllerHandlers(cluster.service, cluster.log, {
      isVolumeId: (id) => parseAnyVolumeId(id) !== undefined,
      isSnapshotId: (id) => parseSnapshotId(id) !== undefined,
    });
    server.addService(csi.Controller.service, recording('Controller', controller, calls));
    server.addService(csi.Node.service, recording('Node', fakeNodeHandlers(), calls));
    const running = await serve({ server, endpoint: { kind: 'unix', path: join(dir, 'csi.sock') }, log: pino({ level: 'silent' }) });
    return new CliTestBed(cluster, dir, running, calls);
  }

  get endpoint(): string {
    return this.#server.address;
  }

  /** Runs `vbs-csi <argv>` against the bed; the endpoint comes from CSI_ENDPOINT. */
  async cli(argv: readonly string[], deps: Partial<CliDeps> = {}): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await runCli(argv, {
      env: { CSI_ENDPOINT: this.endpoint },
      out: { write: (t: string) => (out += t) },
      err: { write: (t: string) => (err += t) },
      ...deps,
    });
    return { code, out, err };
  }

  /** Requests of one method, in order. */
  requests(method: string): Record<string, unknown>[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.request);
  }

  async stop(): Promise<void> {
    await this.#server.shutdown(0);
    await this.cluster.destroy();
    await rm(this.dir, { recursive: true, force: true });
  }
}
