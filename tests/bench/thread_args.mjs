// The command line of the benchmarks that set our 1-thread build against N
// threads (threads.mjs, step_kinds.mjs): --model PATH (repeatable),
// --threads N (2-16), --shape, --warmup, --reps, --gap MS (a pause before
// every timed call, 0 by default: with 100 or more the workers have gone to
// sleep, as between an app's calls), and where the script offers it
// --browser [--chromium PATH] (the same in headless Chromium). Prints the
// usage and exits with 2 on a bad value.
import { parseArgs } from 'node:util';

/**
 * { models, dims, threads, warmup, reps, gap, browser, chromium } from
 * process.argv; `script` names the usage line, `browser` says whether it
 * takes --browser and --chromium.
 */
export function parseThreadArgs(script, { reps: defaultReps, browser = false }) {
  const usage = `usage: node tests/bench/${script} --model PATH [--model PATH ...] [--threads 2] [--shape 1,3,224,224] ` +
    `[--warmup 5] [--reps ${defaultReps}] [--gap 0]${browser ? ' [--browser [--chromium /usr/bin/chromium]]' : ''}`;
  const browserOptions = browser ? { browser: { type: 'boolean', default: false }, chromium: { type: 'string' } } : {};
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        model: { type: 'string', multiple: true },
        threads: { type: 'string', default: '2' },
        shape: { type: 'string', default: '1,3,224,224' },
        warmup: { type: 'string', default: '5' },
        reps: { type: 'string', default: String(defaultReps) },
        gap: { type: 'string', default: '0' },
        ...browserOptions,
      },
    }));
  } catch (e) {
    console.error(`${e.message}\n${usage}`);
    process.exit(2);
  }
  const dims = values.shape.split(',').map(Number);
  const [threads, warmup, reps, gap] = [values.threads, values.warmup, values.reps, values.gap].map(Number);
  if (!values.model?.length || dims.some((d) => !Number.isSafeInteger(d) || d <= 0) || !Number.isSafeInteger(threads) ||
      threads < 2 || threads > 16 || !Number.isSafeInteger(warmup) || warmup < 0 || !Number.isSafeInteger(reps) || reps < 1 ||
      !Number.isSafeInteger(gap) || gap < 0 || gap > 10000) {
    console.error(usage);
    process.exit(2);
  }
  if (values.chromium !== undefined && !values.browser) {
    console.error(`--chromium goes with --browser\n${usage}`);
    process.exit(2);
  }
  return { models: values.model, dims, threads, warmup, reps, gap, browser: values.browser ?? false, chromium: values.chromium };
}

