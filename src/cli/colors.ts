// Colours only on a terminal, and never with NO_COLOR set: picocolors' default also colours whenever a CI variable
// is set, which puts escape codes into piped output and logs that scripts read.
import pc from "picocolors";

export const colors = pc.createColors(
  !("NO_COLOR" in process.env) && ("FORCE_COLOR" in process.env || process.stdout.isTTY === true),
);
