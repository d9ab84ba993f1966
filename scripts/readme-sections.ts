// The README's generated sections: the refo configuration, the losses and the stages, from the schemas and
// registries the code runs on. `npm run gen:docs` writes them between the README's markers; test/docs.test.ts
// fails when the README differs from what this produces.
import prettier from "prettier";
import { documentKeys, type KeyDoc } from "../src/config/index.js";
import { listLosses, lossDefinition } from "../src/distill/index.js";
import { BASELINE_NAMES, planStages, refoConfigSchema, resolveRefoConfig } from "../src/refo/index.js";

const cell = (text: string) => text.replaceAll("\n", " ").replaceAll("|", "\\|");
const table = (headers: string[], rows: string[][]) =>
  [headers, headers.map(() => "---"), ...rows].map((r) => `| ${r.map(cell).join(" | ")} |`).join("\n");
const code = (text: string) => (text === "" ? "" : `\`${text}\``);

function configTable(): string {
  const rows = documentKeys(refoConfigSchema).map((k: KeyDoc) => [code(k.key), code(k.default), k.description]);
  return table(["key", "default", "meaning"], rows);
}

function lossTable(): string {
  const options = (name: string) =>
    documentKeys(lossDefinition(name).options)
      .map((k) => (k.default === "" ? k.key : `${k.key} = ${k.default}`))
      .join(", ");
  const rows = listLosses().map((l) => [code(l.name), l.kind, l.reads.join(", "), options(l.name), l.summary]);
  return table(["loss", "kind", "reads", "options (= default)", "what it is"], rows);
}

function stageTable(): string {
  // every stage a run can have: each baseline, ReFO+ through the wider proxy
  const config = resolveRefoConfig({ baselines: [...BASELINE_NAMES] });
  const rows: string[][] = [];
  for (const stage of planStages(config, 10, 100)) {
    if (stage.spec.kind === "embed" || stage.spec.kind === "evaluate") continue;
    rows.push([code(stage.id), stage.title]);
  }
  rows.push([code("<model>.embed-d1"), "a model's embeddings of D1 (ReFO step 2, for reverse distillation)"]);
  rows.push([code("<model>.embed-d2"), "a teacher's embeddings of D2 (ReFO step 4, for feature-only distillation)"]);
  rows.push([
    code("eval.<model>"),
    "size, FLOPs, img/s, each verification pack, TwoNN intrinsic dimension and distillation error on a D1 sample",
  ]);
  const results = rows.findIndex((r) => r[0] === code("results"));
  rows.push(rows.splice(results, 1)[0]!);
  return table(["stage", "what it does"], rows);
}

export const SECTIONS: Record<string, () => string> = { config: configTable, losses: lossTable, stages: stageTable };

/** `readme` with every generated section rewritten, formatted as `npm run format` would. */
export async function renderReadme(readme: string): Promise<string> {
  let text = readme;
  for (const [name, make] of Object.entries(SECTIONS)) {
    const start = `<!-- generated:${name} (npm run gen:docs) -->`;
    const end = `<!-- end generated:${name} -->`;
    const [from, to] = [text.indexOf(start), text.indexOf(end)];
    if (from < 0 || to < from) throw new Error(`README.md: the markers of the generated section '${name}' are missing`);
    text = `${text.slice(0, from + start.length)}\n\n${make()}\n\n${text.slice(to)}`;
  }
  const options = (await prettier.resolveConfig("README.md")) ?? {};
  return prettier.format(text, { ...options, parser: "markdown" });
}
