// The report's HTML tables: models (size, speed, intrinsic dimension, verification), IJB-B/C, intrinsic gap, stages.
import {
  accuracySpread,
  escapeHtml as e,
  formatCount,
  formatFar,
  formatPercent,
  formatSeconds,
  formatShort,
} from "./format.js";
import { withInterval } from "../analysis/intrinsic-gap.js";
import type { ModelResult, RunResults, VerificationSummary } from "./results.js";

const PREFERRED_FARS = [1e-3, 1e-2];

/** Verification set names in order of first appearance. */
export function verificationSets(models: readonly ModelResult[]): string[] {
  return [...new Set(models.flatMap((m) => Object.keys(m.verification)))];
}

const sameFar = (a: number, b: number): boolean => Math.abs(a - b) <= b * 1e-6;

/** The TAR of a set's results at `far`: undefined when not computed there, null when too few impostor pairs. */
export function tarAt(v: VerificationSummary | undefined, far: number): number | null | undefined {
  return v?.tarAtFar.find((t) => sameFar(t.far, far))?.tar;
}

/** The FARs to show for a set: 1e-3 and 1e-2 where some model has a TAR there, else the two largest that do. */
export function tableFars(models: readonly ModelResult[], set: string): number[] {
  const withTar = [
    ...new Set(
      models.flatMap((m) => (m.verification[set]?.tarAtFar ?? []).filter((t) => t.tar !== null).map((t) => t.far)),
    ),
  ].sort((a, b) => a - b);
  const preferred = withTar.filter((f) => PREFERRED_FARS.some((p) => sameFar(f, p)));
  return preferred.length > 0 ? preferred : withTar.slice(-2);
}

/** The temperatures gamma at which some model has a distillation error, ascending. */
export function distillationGammas(models: readonly ModelResult[]): number[] {
  return [...new Set(models.flatMap((m) => (m.distillationError?.values ?? []).map((v) => v.gamma)))].sort(
    (a, b) => a - b,
  );
}

/** A model's distillation error at `gamma`, or undefined. */
export const distillationErrorAt = (m: ModelResult, gamma: number): number | undefined =>
  m.distillationError?.values.find((v) => v.gamma === gamma)?.value;

/**
 * The student with the highest accuracy on the first verification set, among the students of the run's student
 * architecture (S''s, else the most common one): a wider proxy is no rival to the student it stands in for.
 */
export function bestStudent(
  models: readonly ModelResult[],
): { model: ModelResult; set: string; architecture: string } | null {
  const set = verificationSets(models)[0];
  if (set === undefined) return null;
  const students = models.filter((m) => m.role === "student" && m.verification[set] !== undefined);
  if (students.length === 0) return null;
  const architecture = models.find((m) => m.kind === "labels-only")?.architecture ?? mostCommonArchitecture(students);
  const rivals = students.filter((m) => m.architecture === architecture);
  if (rivals.length === 0) return null;
  const model = rivals.reduce((a, b) => (b.verification[set]!.accuracy > a.verification[set]!.accuracy ? b : a));
  return { model, set, architecture };
}

function mostCommonArchitecture(models: readonly ModelResult[]): string {
  const counts = new Map<string, number>();
  for (const { architecture } of models) counts.set(architecture, (counts.get(architecture) ?? 0) + 1);
  return [...counts].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
}

/** `7.85 [7.41, 8.29]`, or `7.85 ± 0.05` (the subsets' std) from results of older runs without an interval. */
function idCell(id: NonNullable<ModelResult["intrinsicDimension"]>): string {
  const spread = id.interval
    ? `[${id.interval.low.toFixed(2)}, ${id.interval.high.toFixed(2)}]`
    : `± ${id.std.toFixed(2)}`;
  const small = id.smallSample ? ` <span class="badge">small sample</span>` : "";
  return `${id.mean.toFixed(2)} <span class="sub">${spread}</span>${small}`;
}

export function modelsTable(models: readonly ModelResult[]): string {
  const sets = verificationSets(models);
  const fars = new Map(sets.map((s) => [s, tableFars(models, s)]));
  const best = bestStudent(models);
  const gammas = distillationGammas(models);
  const fixed = [
    "model",
    "role",
    "kind",
    "architecture",
    "params",
    "FLOPs (M)",
    "img/s",
    "intrinsic dim.",
    ...gammas.map((g) => `distill. error Φ (γ=${g})`),
  ];
  const head1 =
    fixed.map((h) => `<th rowspan="2">${e(h)}</th>`).join("") +
    sets.map((s) => `<th colspan="${1 + fars.get(s)!.length}" class="set">${e(s)}</th>`).join("");
  const head2 = sets
    .map(
      (s) =>
        `<th>acc. %</th>` +
        fars
          .get(s)!
          .map((f) => `<th>TAR@${formatFar(f)}</th>`)
          .join(""),
    )
    .join("");
  const rows = models.map((m) => {
    const isBest = best?.model === m;
    const id = m.intrinsicDimension;
    const cells = [
      `<td class="name">${e(m.label)}${isBest ? ' <span class="badge best">best student</span>' : ""}` +
        `<div class="sub">${e(m.id)}${m.onnx ? ` · <a href="${e(m.onnx)}">ONNX</a>` : ""}</div></td>`,
      `<td><span class="role ${m.role}">${e(m.role)}</span></td>`,
      `<td>${e(m.kind)}</td>`,
      `<td class="mono">${e(m.architecture)}</td>`,
      `<td class="num">${formatCount(m.parameters)}</td>`,
      `<td class="num">${m.flops === null ? "–" : formatShort(m.flops / 1e6)}</td>`,
      `<td class="num">${m.imagesPerSecond === null ? "–" : formatShort(m.imagesPerSecond)}</td>`,
      `<td class="num">${id === null ? "–" : idCell(id)}</td>`,
      ...gammas.map((g) => {
        const phi = distillationErrorAt(m, g);
        return `<td class="num">${phi === undefined ? "–" : phi.toFixed(4)}</td>`;
      }),
      ...sets.flatMap((s) => {
        const v = m.verification[s];
        const acc = v ? `${formatPercent(v.accuracy)} <span class="sub">${accuracySpread(v)}</span>` : "–";
        return [
          `<td class="num">${acc}</td>`,
          ...fars.get(s)!.map((f) => {
            const tar = tarAt(v, f);
            return `<td class="num">${tar === undefined ? "–" : tar === null ? "n/a" : formatPercent(tar)}</td>`;
          }),
        ];
      }),
    ];
    return `<tr${isBest ? ' class="best"' : ""} data-model="${e(m.id)}">${cells.join("")}</tr>`;
  });
  const caption =
    "<caption>Accuracy (the mean over the 10 folds with its 95% interval, or ± their std in older results) and " +
    "TAR at a FAR, in percent; n/a: too few impostor pairs for that FAR." +
    (gammas.length
      ? " Distillation error Φ: the mean gap between a student's and its teacher's probability of the true class " +
        "on the D1 sample, both through the teacher's classifier at temperature γ (0: the same confidence)."
      : "") +
    (best
      ? ` Highlighted: the best ${e(best.architecture)} student by accuracy on ${e(best.set)} (students of other ` +
        "architectures, such as a wider proxy, are not compared)."
      : "") +
    "</caption>";
  return (
    `<div class="scroll"><table class="models">${caption}<thead><tr>${head1}</tr><tr>${head2}</tr></thead>` +
    `<tbody>${rows.join("")}</tbody></table></div>`
  );
}

/** The FAR of the IJB figure to quote: 1e-4 (the ReFO paper's) where some model has a TAR there, else the
 *  smallest FAR with one; undefined when no model was evaluated on an IJB release. */
export function ijbHeadlineFar(models: readonly ModelResult[]): number | undefined {
  const resolved = models.flatMap((m) => (m.ijb?.tarAtFar ?? []).filter((t) => t.tar !== null).map((t) => t.far));
  if (resolved.length === 0) return models.some((m) => m.ijb) ? 1e-4 : undefined;
  return resolved.some((f) => sameFar(f, 1e-4)) ? 1e-4 : Math.min(...resolved);
}

/** A model's IJB TAR at `far`: undefined when not evaluated there, null when too few impostor pairs. */
export const ijbTarAt = (m: ModelResult, far: number): number | null | undefined =>
  m.ijb?.tarAtFar.find((t) => sameFar(t.far, far))?.tar;

/** One row per model evaluated on the IJB release: TAR at each FAR (n/a: too few impostor pairs), EER, AUC. */
export function ijbTable(models: readonly ModelResult[]): string {
  const evaluated = models.filter((m) => m.ijb);
  const first = evaluated[0]?.ijb;
  if (!first) return "";
  const fars = [...new Set(evaluated.flatMap((m) => m.ijb!.tarAtFar.map((t) => t.far)))].sort((a, b) => a - b);
  const head = ["model", ...fars.map((f) => `TAR@${formatFar(f)}`), "EER", "AUC"].map((h) => `<th>${e(h)}</th>`);
  const rows = evaluated.map((m) => {
    const cells = fars.map((f) => {
      const t = ijbTarAt(m, f);
      return `<td class="num">${t === undefined ? "–" : t === null ? "n/a" : formatPercent(t)}</td>`;
    });
    return (
      `<tr><td class="name">${e(m.label)}</td>${cells.join("")}` +
      `<td class="num">${formatPercent(m.ijb!.eer)}</td><td class="num">${formatPercent(m.ijb!.auc)}</td></tr>`
    );
  });
  const caption =
    `<caption>${e(first.target)}: ${formatCount(first.faces)} faces in ${formatCount(first.templates)} templates; ` +
    "TAR of the template pairs at each FAR, EER and AUC in percent; n/a: too few impostor pairs for that FAR. " +
    "The ReFO paper's headline figure is IJB-C TAR@FAR=1e-4.</caption>";
  return (
    `<div class="scroll"><table class="ijb">${caption}<thead><tr>${head.join("")}</tr></thead>` +
    `<tbody>${rows.join("")}</tbody></table></div>`
  );
}

export function intrinsicGapTable(results: RunResults): string {
  const gap = results.intrinsicGap;
  if (gap === null || gap.rows.length === 0) return "";
  const label = (id: string) => results.models.find((m) => m.id === id)?.label ?? id;
  const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(2)}`;
  const range = (i: { low: number; high: number } | null | undefined) =>
    i ? ` <span class="sub">[${signed(i.low)}, ${signed(i.high)}]</span>` : "";
  const rows = gap.rows.map(
    (r) =>
      `<tr${r.id === gap.reference ? ' class="reference"' : ""}><td>${e(label(r.id))}</td>` +
      `<td class="num">${withInterval(r.mean, r.interval)}</td><td class="num">${r.std.toFixed(2)}</td>` +
      `<td class="num">${r.id === gap.reference ? "reference" : signed(r.gap) + range(r.gapInterval)}</td></tr>`,
  );
  return (
    `<table class="gap"><caption>95% intervals for the sampling of the points; the gaps' are paired (the same ` +
    `points for both models). ± std: the paper's spread over 90% subsets, which leaves that sampling out.</caption>` +
    `<thead><tr><th>model</th><th>ID [95%]</th><th>± std</th><th>gap to ${e(label(gap.reference))} [95%]</th>` +
    `</tr></thead><tbody>${rows.join("")}</tbody></table>`
  );
}

export function stagesTable(results: RunResults): string {
  const rows = results.stages.map(
    (s) =>
      `<tr><td class="mono">${e(s.id)}</td><td>${e(s.title)}</td>` +
      `<td><span class="status ${s.status}">${e(s.status)}</span></td>` +
      `<td class="num">${s.seconds === null ? "–" : formatSeconds(s.seconds)}</td></tr>`,
  );
  const total = results.stages.reduce((sum, s) => sum + (s.seconds ?? 0), 0);
  return (
    `<table class="stages"><thead><tr><th>stage</th><th>title</th><th>status</th><th>time</th></tr></thead>` +
    `<tbody>${rows.join("")}</tbody><tfoot><tr><td colspan="3">total</td><td class="num">${formatSeconds(total)}</td></tr></tfoot></table>`
  );
}
