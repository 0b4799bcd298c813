import type { RemovedStorageNode, RemovedStorageNodes } from '../removedStorageNodes/RemovedStorageNodes.ts';

/** The removed-nodes record in memory, for unit tests; `failWith` makes every call throw it. */
export class MemoryRemovedStorageNodes implements RemovedStorageNodes {
  readonly where = 'test record';
  readonly #nodes = new Map<string, RemovedStorageNode>();
  failWith: Error | undefined;
  reads = 0;

  async list(): Promise<RemovedStorageNode[]> {
    this.reads++;
    if (this.failWith) throw this.failWith;
    return [...this.#nodes.values()];
  }

  async add(node: { readonly name: string; readonly note: string }): Promise<RemovedStorageNode> {
    if (this.failWith) throw this.failWith;
    const existing = this.#nodes.get(node.name);
    if (existing) return existing;
    const record = { name: node.name, removedAt: '2026-12-07T02:00:00.000Z', note: node.note };
    this.#nodes.set(node.name, record);
    return record;
  }

  async restore(name: string): Promise<boolean> {
    if (this.failWith) throw this.failWith;
    return this.#nodes.delete(name);
  }
}
