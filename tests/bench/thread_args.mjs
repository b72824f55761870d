// The command line of the benchmarks that set our 1-thread build against N
// threads (threads.mjs, step_kinds.mjs): --model PATH (repeatable),
// --threads N (2-16), --shape, --warmup, --reps. Prints the usage and exits
// with 2 on a bad value.
import { parseArgs } from 'node:util';

/** { models, dims, threads, warmup, reps } from process.argv; `script` names the usage line. */
export function parseThreadArgs(script, { reps: defaultReps }) {
  const usage = `usage: node tests/bench/${script} --model PATH [--model PATH ...] [--threads 2] [--shape 1,3,224,224] ` +
    `[--warmup 5] [--reps ${defaultReps}]`;
  const { values } = parseArgs({
    options: {
      model: { type: 'string', multiple: true },
      threads: { type: 'string', default: '2' },
      shape: { type: 'string', default: '1,3,224,224' },
      warmup: { type: 'string', default: '5' },
      reps: { type: 'string', default: String(defaultReps) },
    },
  });
  const dims = values.shape.split(',').map(Number);
  const [threads, warmup, reps] = [values.threads, values.warmup, values.reps].map(Number);
  if (!values.model?.length || dims.some((d) => !Number.isSafeInteger(d) || d <= 0) || !Number.isSafeInteger(threads) ||
      threads < 2 || threads > 16 || !Number.isSafeInteger(warmup) || warmup < 0 || !Number.isSafeInteger(reps) || reps < 1) {
    console.error(usage);
    process.exit(2);
  }
  return { models: values.model, dims, threads, warmup, reps };
}
