import { isAbsolute, normalize } from 'node:path';

export type Endpoint =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/**
 * Parses a CSI endpoint as the sidecars pass it: `unix:///csi/csi.sock` (also `unix:/csi/csi.sock`)
 * or `tcp://127.0.0.1:10000`. Throws with a message that names the accepted forms.
 */
export function parseEndpoint(text: string): Endpoint {
  const unix = /^unix:(?:\/\/)?(\/.*)$/.exec(text);
  if (unix) {
    const path = unix[1]!;
    if (!isAbsolute(path) || normalize(path) !== path || path.includes('\0') || path.endsWith('/')) {
      throw new Error(`endpoint ${JSON.stringify(text)}: the socket path must be absolute and normalised, e.g. unix:///csi/csi.sock`);
    }
    // sun_path holds 108 bytes including the terminator.
    if (Buffer.byteLength(path) > 107) throw new Error(`endpoint ${JSON.stringify(text)}: the socket path is longer than 107 bytes`);
    return { kind: 'unix', path };
  }
  const tcp = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  if (tcp) {
    const port = Number(tcp[2]);
    if (port > 65535) throw new Error(`endpoint ${JSON.stringify(text)}: port ${port} is out of range`);
    return { kind: 'tcp', host: tcp[1]!, port };
  }
  throw new Error(`endpoint ${JSON.stringify(text)} is not unix:///path/to.sock or tcp://host:port`);
}

/** The address string grpc-js binds to or dials. */
export function grpcAddress(endpoint: Endpoint): string {
  return endpoint.kind === 'unix' ? `unix://${endpoint.path}` : `${endpoint.host}:${endpoint.port}`;
}
