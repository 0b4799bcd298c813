/**
 * Generates TypeScript types for our protos into src/generated (git-ignored), so handlers are
 * typed from the .proto files themselves: a misspelled field fails typechecking.
 * Run by `npm run gen`, which `npm run typecheck` calls first.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { PROTO_GEN_TYPES_FLAGS } from '../src/grpc/protoLoaderOptions.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = 'src/generated';
const protos = ['proto/csi.proto', 'proto/agent.proto', 'proto/pluginregistration.proto'].filter((p) => existsSync(`${root}/${p}`));

await rm(`${root}/${outDir}`, { recursive: true, force: true });
await execa(
  'proto-loader-gen-types',
  [
    ...PROTO_GEN_TYPES_FLAGS,
    '--grpcLib=@grpc/grpc-js',
    '--importFileExtension=.ts',
    '-I',
    'proto',
    '-O',
    outDir,
    ...protos.map((p) => p.replace(/^proto\//, '')),
  ],
  { cwd: root, preferLocal: true, stdio: 'inherit' },
);
console.log(`generated types for ${protos.join(', ')} in ${outDir}`);
