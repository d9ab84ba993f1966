// The results of a sweep, as written to `<sweep folder>/sweep-results.json`: the grid points grouped by everything
// but the seed, each model's accuracy, TAR and ID as a mean with its 95% Student-t interval over the seeds, and the
// comparisons the ReFO paper makes as paired differences per seed (same seed: same data and the same S').
import { z } from "zod";
import { meanInterval, pairedDifference, PROPORTION, type MeanInterval } from "../analysis/index.js";
import type { RunResults } from "./results.js";
import { tableFars, tarAt, verificationSets } from "./tables.js";

const intervalSchema = z.object({
  n: z.number().int().positive(),
  mean: z.number(),
  std: z.number(),
  low: z.number().nullable(),
  high: z.number().nullable(),
  level: z.number(),
});

const valuesSchema = z.record(z.string(), z.union([z.number(), z.string(), z.boolean()]));

const comparisonSchema = z.object({
  /** Model ids: the difference is a minus b, per seed. */
  a: z.string(),
  b: z.string(),
  label: z.string(),
  metric: z.enum(["accuracy", "tar", "intrinsicDimension"]),
  difference: intervalSchema,
  perSeed: z.array(z.object({ seed: z.number(), a: z.number(), b: z.number() })),
});

export const sweepSummarySchema = z.object({
  name: z.string(),
  createdAt: z.string(),
  machine: z.string(),
  /** The swept keys, and the one averaged over (null: every point is its own group). */
  keys: z.array(z.string()),
  seedKey: z.string().nullable(),
  /** The verification set and FAR of the figures; null when no set was evaluated. */
  set: z.string().nullable(),
  far: z.number().nullable(),
  points: z.array(z.object({ name: z.string(), values: valuesSchema, runDir: z.string() })),
  groups: z.array(
    z.object({
      /** The point's values but the seed. */
      values: valuesSchema,
      seeds: z.array(z.number()),
      models: z.array(
        z.object({
          id: z.string(),
          label: z.string(),
          role: z.enum(["teacher", "student"]),
          architecture: z.string(),
          parameters: z.number(),
          flops: z.number().nullable(),
          accuracy: intervalSchema.nullable(),
          tar: intervalSchema.nullable(),
          intrinsicDimension: intervalSchema.nullable(),
        }),
      ),
      comparisons: z.array(comparisonSchema),
    }),
  ),
});

export type SweepSummary = z.infer<typeof sweepSummarySchema>;
export type SweepGroup = SweepSummary["groups"][number];
export type SweepComparison = z.infer<typeof comparisonSchema>;

export interface SweepPointResults {
  name: string;
  values: Record<string, number | string | boolean>;
  /** Relative to the sweep folder. */
  runDir: string;
  /** The point's `seed`. */
  seed: number;
  results: RunResults;
}

/** The paper's comparisons (a minus b), made wherever both models ran. */
const COMPARISONS: readonly { a: string; b: string; metric: SweepComparison["metric"]; label: string }[] = [
  { a: "student-fo-refo", b: "student-fo-standard", metric: "accuracy", label: "FO ← ReFO minus FO ← standard" },
  { a: "student-fo-refo", b: "student-fo-standard", metric: "tar", label: "FO ← ReFO minus FO ← standard" },
  {
    a: "student-fo-refo-plus",
    b: "student-fo-standard",
    metric: "accuracy",
    label: "FO ← ReFO+ minus FO ← standard",
  },
  { a: "student-fo-refo", b: "student-labels", metric: "accuracy", label: "FO ← ReFO minus labels only (S')" },
  { a: "student-fo-standard", b: "student-labels", metric: "accuracy", label: "FO ← standard minus labels only" },
  { a: "teacher-refo", b: "teacher-standard", metric: "accuracy", label: "ReFO teacher minus standard teacher" },
  // the paper's premise: the teacher's ID above the student's, and reverse distillation closing the gap
  { a: "teacher-standard", b: "student-labels", metric: "intrinsicDimension", label: "ID: standard teacher minus S'" },
  { a: "teacher-refo", b: "student-labels", metric: "intrinsicDimension", label: "ID: ReFO teacher minus S'" },
];

/** A point's values without the seed's: what its group is told by. */
function groupValues(values: SweepPointResults["values"], seedKey: string | null): SweepPointResults["values"] {
  return Object.fromEntries(Object.entries(values).filter(([key]) => key !== seedKey));
}

type Metric = (results: RunResults, id: string) => number | null;

function metrics(set: string | null, far: number | null): Record<SweepComparison["metric"], Metric> {
  const model = (r: RunResults, id: string) => r.models.find((m) => m.id === id);
  return {
    accuracy: (r, id) => (set === null ? null : (model(r, id)?.verification[set]?.accuracy ?? null)),
    tar: (r, id) => (set === null || far === null ? null : (tarAt(model(r, id)?.verification[set], far) ?? null)),
    intrinsicDimension: (r, id) => model(r, id)?.intrinsicDimension?.mean ?? null,
  };
}

/** The values of `metric` for `id` at every point, or null when a point lacks it. */
function collect(points: readonly SweepPointResults[], metric: Metric, id: string): number[] | null {
  const values = points.map((p) => metric(p.results, id));
  return values.every((v): v is number => v !== null) ? values : null;
}

function summarizeGroup(
  points: readonly SweepPointResults[],
  seedKey: string | null,
  measure: Record<SweepComparison["metric"], Metric>,
): SweepGroup {
  const first = points[0]!;
  const values = groupValues(first.values, seedKey);
  const interval = (metric: Metric, id: string, range?: readonly [number, number]): MeanInterval | null => {
    const found = collect(points, metric, id);
    return found === null ? null : meanInterval(found, 0.95, range);
  };
  const models = first.results.models.map((m) => ({
    id: m.id,
    label: m.label,
    role: m.role,
    architecture: m.architecture,
    parameters: m.parameters,
    flops: m.flops,
    accuracy: interval(measure.accuracy, m.id, PROPORTION),
    tar: interval(measure.tar, m.id, PROPORTION),
    intrinsicDimension: interval(measure.intrinsicDimension, m.id),
  }));
  const comparisons = COMPARISONS.flatMap((c) => {
    const [a, b] = [collect(points, measure[c.metric], c.a), collect(points, measure[c.metric], c.b)];
    if (a === null || b === null) return [];
    const perSeed = points.map((p, i) => ({ seed: p.seed, a: a[i]!, b: b[i]! }));
    return [{ ...c, difference: pairedDifference(a, b), perSeed }];
  });
  return { values, seeds: points.map((p) => p.seed), models, comparisons };
}

/** The sweep's summary from its points' results; `seedKey` (when swept) is what the intervals are over. */
export function summarizeSweep(
  name: string,
  machine: string,
  points: readonly SweepPointResults[],
  seedKey: string | null,
): SweepSummary {
  if (points.length === 0) throw new RangeError("summarizeSweep: no points");
  const models = points[0]!.results.models;
  const set = verificationSets(models)[0] ?? null;
  const far = set === null ? null : (tableFars(models, set)[0] ?? null);
  const measure = metrics(set, far);
  const groups = new Map<string, SweepPointResults[]>();
  for (const point of points) {
    const key = JSON.stringify(groupValues(point.values, seedKey));
    groups.set(key, [...(groups.get(key) ?? []), point]);
  }
  return {
    name,
    createdAt: new Date().toISOString(),
    machine,
    keys: Object.keys(points[0]!.values),
    seedKey,
    set,
    far,
    points: points.map(({ name: n, values, runDir }) => ({ name: n, values, runDir })),
    groups: [...groups.values()].map((g) => summarizeGroup(g, seedKey, measure)),
  };
}
