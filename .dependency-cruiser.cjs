// The layers of src/ (DESIGN: imports point down only) and no import cycles. `npm run lint` checks it, and so does
// test/architecture.test.ts in the suite.
const LAYERS = [
  "cli",
  "refo",
  "report",
  "train",
  "infer",
  "distill",
  "eval",
  "analysis",
  "models",
  "data",
  "io",
  "config",
  "torch",
];

const upward = LAYERS.slice(1).map((layer, i) => ({
  name: `no-upward-from-${layer}`,
  comment: `${layer}/ may import only the layers below it (${LAYERS.slice(i + 2).join(", ") || "none"})`,
  severity: "error",
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${LAYERS.slice(0, i + 1).join("|")})/` },
}));

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "no import cycles (type-only imports vanish at run time and do not count)",
      severity: "error",
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
    },
    ...upward,
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
  },
};
