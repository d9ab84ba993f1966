#!/usr/bin/env node
import { main } from "./program.js";

// `facekd ... | head`: a reader that stops early is not an error (as in Unix tools), not an unhandled EPIPE
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(process.exitCode ?? 0);
});

process.exitCode = await main(process.argv.slice(2));
