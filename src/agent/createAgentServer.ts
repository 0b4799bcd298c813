import { Server } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { CallObserver } from '../grpc/adaptUnary.ts';
import { authorizeCalls } from '../grpc/authorizeCalls.ts';
import { decideAgentCall } from './callerPolicy.ts';

/**
 * The agent's grpc-js server: every call passes the caller policy (src/agent/callerPolicy.ts)
 * before a handler runs, whatever service is added to it. A refused call is counted like a served
 * one (service, `agent.<Method>`, its code), through `callsOf` when the process has metrics.
 */
export function createAgentServer(log: Logger, callsOf?: (service: string) => CallObserver | undefined): Server {
  const onRefused = callsOf
    ? (path: string, code: string) => {
        // grpc-js paths are /<package>.<Service>/<Method>
        const [, service = '', method = ''] = path.split('/');
        callsOf(service)?.observe(`agent.${method}`, code, 0);
      }
    : undefined;
  return new Server({ interceptors: [authorizeCalls(decideAgentCall, log, onRefused)] });
}
