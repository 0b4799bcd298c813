import { Server } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { authorizeCalls } from '../grpc/authorizeCalls.ts';
import { decideAgentCall } from './callerPolicy.ts';

/**
 * The agent's grpc-js server: every call passes the caller policy (src/agent/callerPolicy.ts)
 * before a handler runs, whatever service is added to it.
 */
export function createAgentServer(log: Logger): Server {
  return new Server({ interceptors: [authorizeCalls(decideAgentCall, log)] });
}
