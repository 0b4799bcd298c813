export { Mounter, SUPPORTED_FS_TYPES, validateFsType } from './Mounter.ts';
export type { FilesystemProbe, FilesystemStats, FsType, MounterOptions, MountOptions, StatfsFigures } from './Mounter.ts';
export { readBlockDeviceSizeBytes, splitDevT } from './deviceSize.ts';
export { parseBlkidExport } from './parseBlkidExport.ts';
export { parseFindmntJson } from './parseFindmntJson.ts';
export { parseMountInfo } from './parseMountInfo.ts';
export type { MountInfo } from './parseFindmntJson.ts';
export { validateAbsolutePath, validateDevicePath } from './validatePaths.ts';
