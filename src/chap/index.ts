export { deriveChapCredentials, MIN_CHAP_KEY_BYTES } from './deriveChapCredentials.ts';
export type { ChapCredentials } from './ChapCredentials.ts';
