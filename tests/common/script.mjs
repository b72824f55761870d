// Entry boilerplate of the scripts that are both imported (by tests and
// benchmarks) and run from the command line.
import { pathToFileURL } from 'node:url';

/**
 * Runs `main(argv)` when the module at `moduleUrl` is the process's entry
 * script; its resolved number becomes the exit code, a rejection prints
 * `error: <message>` and exits 1.
 */
export function runIfMain(moduleUrl, main) {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(`error: ${err.message}`);
      process.exitCode = 1;
    },
  );
}
