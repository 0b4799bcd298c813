export { Dmsetup, dmDevicePath } from './Dmsetup.ts';
export type { DmsetupOptions, LinearMapping } from './Dmsetup.ts';
export { buildLinearTable, parseDmInfo, parseDmTable } from './parseDmsetup.ts';
export type { DmInfo, DmTableLine } from './parseDmsetup.ts';
export { deleteScsiDisk, hasDmDevice, listDmDeviceNames, readBlockGeometry, readDeviceSectors } from './blockDevices.ts';
export type { BlockGeometry, BlockSysfsOptions } from './blockDevices.ts';
export { settleUdev } from './udev.ts';
export { buildRaid1Table, isRaidInSync, parseRaidStatus, raid1TableOf } from './raid.ts';
export type { LegHealth, Raid1Table, RaidLeg, RaidStatus } from './raid.ts';
