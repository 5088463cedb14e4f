import { buildApp } from '../lib/app.ts';

// aws-cdk-lib writes "Bundling asset <path>..." to stderr for every asset it bundles, even under
// `cdk synth --quiet`; drop only that progress line so a clean synth prints nothing.
const writeStderr = process.stderr.write.bind(process.stderr);
process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  if (typeof chunk === 'string' && /^Bundling asset \S+\.\.\.\n$/.test(chunk)) return true;
  return (writeStderr as (...args: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stderr.write;

buildApp();
