// Option schemas that several losses share, so that each is described once in the generated docs.
import { z } from "zod";

export const role = (what: string) =>
  z.enum(["student", "teacher"]).default("student").describe(`whose ${what} (the model trained by the run)`);
export const temperature = z.number().positive().default(4).describe("softmax temperature T");
export const tap = (whose?: string) =>
  z
    .string({ error: "must name feature taps, such as 'stage3'" })
    .describe(`a feature tap${whose ? ` of the ${whose}` : ""} (a backbone stage such as 'stage3')`);
export const optionalTap = z
  .string()
  .optional()
  .describe("a feature tap (a backbone stage) instead of the embedding, flattened");
/** The margin's own parameters (s, m; m1..m3 for `combined`), each the margin's default when left out. */
export const marginParameters = {
  s: z.number().positive().optional().describe("scale of the cosine logits (64)"),
  m: z.number().nonnegative().optional().describe("additive angular (arcface, 0.5) or cosine (cosface, 0.4) margin"),
  m1: z.number().optional().describe("combined: multiplicative angular margin"),
  m2: z.number().optional().describe("combined: additive angular margin"),
  m3: z.number().optional().describe("combined: additive cosine margin"),
};
