import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from './support.ts';

const dockerfile = readFileSync(join(projectRoot, 'Dockerfile'), 'utf8');
const script = readFileSync(join(projectRoot, 'scripts/build-image.sh'), 'utf8');

/** `npm run image` (scripts/build-image.sh) and the Dockerfile must build the same image layout (docs/containers.md). */
describe('the two image builds agree', () => {
  it('install the same Debian packages (the script adds node\'s libstdc++6, which the node base image has)', () => {
    const apt = /apt-get install -y --no-install-recommends ([a-z0-9 +.-]+?)\s*\\?\n/.exec(dockerfile)?.[1]?.trim().split(/\s+/);
    const packages = /readonly PACKAGES=\(([^)]*)\)/.exec(script)?.[1]?.trim().split(/\s+/);
    assert.ok(apt && packages, 'both package lists found');
    assert.deepEqual([...packages].filter((p) => p !== 'libstdc++6').sort(), [...apt].sort());
  });

  it('have the same entrypoint, command, working directory and NODE_ENV', () => {
    assert.match(dockerfile, /^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", "src\/main.ts"\]$/m);
    assert.ok(script.includes(`--entrypoint '["/usr/bin/tini", "--", "node", "src/main.ts"]'`));
    assert.match(dockerfile, /^CMD \["--help"\]$/m);
    assert.ok(script.includes(`--cmd '["--help"]'`));
    assert.match(dockerfile, /^WORKDIR \/app$/m);
    assert.ok(script.includes('--workingdir /app'));
    assert.match(dockerfile, /^ENV NODE_ENV=production$/m);
    assert.ok(script.includes('--env NODE_ENV=production'));
  });

  it('copy the same application files to /app, and remove the baked-in initiator name', () => {
    for (const dir of ['proto', 'src']) {
      assert.match(dockerfile, new RegExp(`^COPY ${dir} \\./${dir}$`, 'm'));
      assert.ok(script.includes(`"$app/${dir}" /app/${dir}`), dir);
    }
    assert.ok(script.includes('/app/node_modules') && dockerfile.includes('./node_modules'));
    assert.ok(dockerfile.includes('rm -f /etc/iscsi/initiatorname.iscsi') && script.includes('/etc/iscsi/initiatorname.iscsi'));
    const ignored = readFileSync(join(projectRoot, '.dockerignore'), 'utf8');
    assert.ok(ignored.includes('**/*.test.ts') && script.includes("! -name '*.test.ts'"), 'tests stay out of both');
    assert.ok(ignored.includes('src/generated') && script.includes("! -path 'src/generated/*'"), 'generated types stay out of both');
  });

  it('is reproducible: buildah commits with the last commit\'s time', () => {
    assert.ok(script.includes('--timestamp "$SOURCE_DATE_EPOCH"'));
    assert.ok(script.includes('git -C "$ROOT" log -1 --format=%ct'));
  });
});
