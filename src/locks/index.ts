export { KeyedLocks } from './KeyedLocks.ts';
export { AsyncMutex } from './AsyncMutex.ts';
