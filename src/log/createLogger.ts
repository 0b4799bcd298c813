import { pino } from 'pino';
import type { Logger, LevelWithSilent } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const satisfies readonly LevelWithSilent[];
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The root logger: JSON lines on stderr (stdout stays free for CLI output).
 * Synchronous writes: a CSI driver logs little, and a line lost at a crash is the one that mattered.
 * Redaction is a second line of defence; requests are also passed through stripSecrets
 * before they are logged, because pino's paths cannot reach every nesting level.
 */
export function createLogger(opts: { level: LogLevel; name?: string }): Logger {
  return pino(
    {
      level: opts.level,
      base: { name: opts.name ?? 'vbs-csi' },
      redact: {
        paths: [
          'secrets',
          '*.secrets',
          '*.*.secrets',
          'password',
          '*.password',
          '*.*.password',
          'chap',
          '*.chap',
          '*.*.chap',
          'key',
          '*.privateKey',
        ],
        censor: '[REDACTED]',
      },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
