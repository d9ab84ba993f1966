// Holds the lock of a run folder until killed: the other process of the run-lock test.
// Usage: node hold-run-lock.js <runDir>
import { acquireRunLock } from "../../src/refo/run-lock.js";

acquireRunLock(process.argv[2]!, () => {});
process.stdout.write("locked\n");
setInterval(() => {}, 1000);
