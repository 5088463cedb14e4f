import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { StackTemplate } from '#local/template';

export const PROJECT_ROOT = join(import.meta.dirname, '..', '..');

/** Content hash of the given project files and folders (`.ts`/`.json` files, recursively). */
function fingerprint(inputs: string[]): string {
  const hash = createHash('sha256');
  const add = (path: string): void => {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) add(join(path, name));
    } else if (/\.(ts|json)$/.test(path)) {
      hash.update(`${relative(PROJECT_ROOT, path)}\n`).update(readFileSync(path));
    }
  };
  for (const input of inputs) add(join(PROJECT_ROOT, input));
  return hash.digest('hex').slice(0, 16);
}

const memory = new Map<string, StackTemplate[]>();

/**
 * Synthesizes once per content of `inputs` and shares the templates across test files and workers through a
 * temp-dir cache: CDK synthesis costs seconds of CPU, the cached JSON milliseconds. `synth` should import
 * aws-cdk-lib lazily so a cache hit never loads it.
 */
export async function cachedTemplates(name: string, inputs: string[], synth: () => Promise<StackTemplate[]>): Promise<StackTemplate[]> {
  const key = `${name}-${fingerprint(inputs)}`;
  const inMemory = memory.get(key);
  if (inMemory) return inMemory;
  const dir = join(tmpdir(), 'producersync-local-synth');
  const file = join(dir, `${key}.json`);
  let stacks: StackTemplate[];
  try {
    stacks = JSON.parse(readFileSync(file, 'utf8')) as StackTemplate[];
  } catch {
    stacks = await synth();
    mkdirSync(dir, { recursive: true });
    // Write then rename, so a concurrent reader never sees half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(stacks));
    renameSync(tmp, file);
  }
  memory.set(key, stacks);
  return stacks;
}
