import type { StorageAgent, StorageNodeStatus } from '../../agentApi/types.ts';

/**
 * A StorageAgent for controller tests whose every call fails with "<what> must not call <method>":
 * a test agent extends it and overrides only the calls the code under test may make, so any
 * other call fails the test loudly.
 */
export class UnusedStorageAgent implements StorageAgent {
  readonly #what: string;
  constructor(what: string) {
    this.#what = what;
  }
  #unused(method: string): Promise<never> {
    return Promise.reject(new Error(`${this.#what} must not call ${method}`));
  }
  getNodeStatus(): Promise<StorageNodeStatus> {
    return this.#unused('getNodeStatus');
  }
  close(): void {}
  createVolume: StorageAgent['createVolume'] = () => this.#unused('createVolume');
  expandVolume: StorageAgent['expandVolume'] = () => this.#unused('expandVolume');
  deleteVolume: StorageAgent['deleteVolume'] = () => this.#unused('deleteVolume');
  getVolume: StorageAgent['getVolume'] = () => this.#unused('getVolume');
  listVolumes: StorageAgent['listVolumes'] = () => this.#unused('listVolumes');
  createSnapshot: StorageAgent['createSnapshot'] = () => this.#unused('createSnapshot');
  deleteSnapshot: StorageAgent['deleteSnapshot'] = () => this.#unused('deleteSnapshot');
  getSnapshot: StorageAgent['getSnapshot'] = () => this.#unused('getSnapshot');
  listSnapshots: StorageAgent['listSnapshots'] = () => this.#unused('listSnapshots');
  exportVolume: StorageAgent['exportVolume'] = () => this.#unused('exportVolume');
  unexportVolume: StorageAgent['unexportVolume'] = () => this.#unused('unexportVolume');
}
