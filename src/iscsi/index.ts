export { ISCSI_ERR, Iscsiadm } from './Iscsiadm.ts';
export type { IscsiTarget, IscsiadmOptions, NodeRecordSpec, SessionSettings } from './Iscsiadm.ts';
export { IscsiLoginRefusedError } from './IscsiLoginRefusedError.ts';
export { DEFAULT_INITIATOR_NAME_FILE, parseInitiatorName, readInitiatorName } from './initiatorName.ts';
export {
  buildLioNaaWwid,
  byPathDevice,
  findSessionDisk,
  listSessionDisks,
  parseVpdPage80,
  readDeviceIdentity,
  readDeviceSerial,
  verifyDeviceSerial,
  waitForDevice,
  waitForSessionDisk,
} from './devices.ts';
export type { DeviceIdentity, SysfsOptions, WaitForDeviceOptions } from './devices.ts';
export { parseIfaceList, parseNodeList, parseRecord } from './parseRecord.ts';
export type { IfaceListEntry, NodeRecordEntry } from './parseRecord.ts';
export { parseSessionList, parseSessionTree } from './parseSessions.ts';
export type { IscsiSession, IscsiSessionDetail, SessionDisk } from './parseSessions.ts';
export { findSessionIdInSysfs, readSessionStateInSysfs } from './sessionSysfs.ts';
export type { SessionKey } from './sessionSysfs.ts';
export { DEFAULT_ISCSI_PORT, formatPortalArg, parsePortal, validatePortal } from './portal.ts';
export type { IscsiPortal } from './portal.ts';
export { DEFAULT_ISCSI_LOCK_DIR } from './idbmLock.ts';
export { DEFAULT_NODE_RECORD_DIR } from './nodeRecordSecrets.ts';
