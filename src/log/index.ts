export { createLogger, LOG_LEVELS } from './createLogger.ts';
export type { LogLevel } from './createLogger.ts';
export { stripSecrets } from './stripSecrets.ts';
