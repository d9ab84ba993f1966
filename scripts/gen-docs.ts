// Rewrites the README's generated sections (see readme-sections.ts).
import { readFileSync, writeFileSync } from "node:fs";
import { renderReadme } from "./readme-sections.js";

writeFileSync("README.md", await renderReadme(readFileSync("README.md", "utf8")));
