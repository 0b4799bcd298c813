import type { ChannelOptions } from '@grpc/grpc-js';

/**
 * Reconnect backoff for our own clients (controller → agents, CLI and tests → CSI sockets).
 * grpc-js grows the wait between connection attempts up to 120 s by default, so a peer that was
 * down for half a minute (an agent pod restarting) could stay unreachable for another minute
 * after it came back. Capped at 5 s, a restart costs at most ~5 s on top of its own time.
 */
export const RECONNECT_CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 500,
  'grpc.max_reconnect_backoff_ms': 5_000,
};
