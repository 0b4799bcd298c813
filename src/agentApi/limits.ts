/**
 * The largest volume the agent accepts: 1 PiB. Far beyond any pool here, and far inside what
 * JavaScript numbers hold exactly (2^53) and what dm-thin addresses; anything above is a typo.
 * The controller refuses above it too, so the CO hears OUT_OF_RANGE before any agent is asked.
 */
export const MAX_VOLUME_BYTES = 2 ** 50;
