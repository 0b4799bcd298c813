/**
 * Run inside the vbs-csi test-bed image at build time (e2e/vm/testImages.ts), with the entrypoint's node
 * flags and NODE_COMPILE_CACHE set: imports every module the roles load, so node's compile cache holds
 * their type-stripped output and V8 code (https://github.com/nodejs/node/pull/56629) and a role under
 * emulation starts without stripping types or compiling again (docs/kubernetes-test-bed.md, "Images").
 * Argument: the image's source directory (/app/src). main.ts is left out: importing it would run it.
 * Files under a testing/ folder are test support, which loads test/ files the image does not ship.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

const srcDir = process.argv[2];
if (srcDir === undefined) throw new Error('usage: node warmCompileCache.ts <src directory>');
const modules = readdirSync(srcDir, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'main.ts' && !f.split(sep).includes('testing'))
  .sort();
for (const file of modules) await import(pathToFileURL(join(srcDir, file)).href);
// The Kubernetes client is imported lazily (src/kube/kubeClient.ts) and is the largest package the roles load.
await import(pathToFileURL(createRequire(join(srcDir, 'main.ts')).resolve('@kubernetes/client-node')).href);
console.log(`compile cache: ${modules.length} modules of ${srcDir} and @kubernetes/client-node`);
