/**
 * The CSI Node service (issue 5).
 *
 * Wiring, for src/roles:
 *   const node = await createNodeService(nodeConfig, log);   // NodeConfig from parseNodeConfig
 *   server.addService(csi.csi.v1.Node.service, node.handlers);
 *   readiness: [...node.readiness, initiatorNameCheck(), kernelModuleCheck('iscsi_tcp')]
 *   capabilities: [...node.capabilities]                     // none of its own
 * node.nodeId is the CSI node id (the initiator name); --node-id stays the Kubernetes node name.
 */
export { createNodeService } from './createNodeService.ts';
export type { NodeService } from './createNodeService.ts';
export { createNodeHandlers, NODE_CAPABILITIES } from './nodeService.ts';
export type { NodeServiceOptions } from './nodeService.ts';
export type { NodeDeps } from './NodeDeps.ts';
export { NODE_SESSION_SETTINGS } from './sessionSettings.ts';
export { StageRecordStore } from './stageRecord.ts';
export type { StageRecord } from './stageRecord.ts';
export { buildDmName, buildReadOnlyDmName } from './volumeAccess.ts';
