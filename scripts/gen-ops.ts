// Generates src/torch/generated/aten.ts: one typed TypeScript function per ATen operator overload listed
// below, with parameter and result types derived from the operator schemas registered in the installed
// libtorch. Run with `npm run gen:ops` after changing the list or the libtorch version.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { native } from "../src/torch/native.js";
import { OPS } from "./ops-list.js";

interface Arg {
  type: string;
  name: string;
  optional: boolean; // may be left out: it has a default or an Optional type
  kwargOnly: boolean;
}

interface Schema {
  name: string;
  overload: string;
  args: Arg[];
  returns: string[];
  text: string;
}

// Splits on commas that are not inside brackets or quotes.
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = "";
  let current = "";
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = "";
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === "(" || ch === "[") {
      depth++;
    } else if (ch === ")" || ch === "]") {
      depth--;
    } else if (ch === "," && depth === 0) {
      parts.push(current.trim());
      current = "";
      continue;
    }
    current += ch;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

export function parseSchema(text: string): Schema {
  const m = /^aten::([\w]+)(?:\.([\w]+))?\((.*)\) -> (.*)$/.exec(text);
  if (!m) throw new Error(`cannot parse schema: ${text}`);
  const [, name, overload, argText, retText] = m as unknown as [string, string, string | undefined, string, string];
  const args: Arg[] = [];
  let kwargOnly = false;
  for (const part of splitTopLevel(argText)) {
    if (part === "*") {
      kwargOnly = true;
      continue;
    }
    const eq = part.indexOf("=");
    const decl = eq >= 0 ? part.slice(0, eq) : part;
    const space = decl.lastIndexOf(" ");
    const type = decl.slice(0, space).trim();
    args.push({ type, name: decl.slice(space + 1).trim(), optional: eq >= 0 || type.endsWith("?"), kwargOnly });
  }
  const trimmed = retText.trim();
  const returns =
    trimmed === "()"
      ? []
      : (trimmed.startsWith("(") ? splitTopLevel(trimmed.slice(1, -1)) : [trimmed]).map((r) => r.split(" ")[0]!);
  return { name, overload: overload ?? "", args, returns, text };
}

const stripAlias = (t: string): string => t.replace(/\([a-z]!?( -> \*)?\)/g, "");

// The TypeScript type of an argument, and how to turn the TS value into what the addon expects.
function argMapping(rawType: string, name: string, mayBeMissing: boolean): { ts: string; expr: string } {
  const type = stripAlias(rawType);
  const optional = type.endsWith("?");
  const base = optional ? type.slice(0, -1) : type;
  const orNull = optional ? " | null" : "";
  const enc = (fn: string): string =>
    optional || mayBeMissing ? `${name} == null ? ${name} : ${fn}(${name})` : `${fn}(${name})`;
  if (base === "Tensor") return { ts: `Tensor${orNull}`, expr: `handleOf(${name})` };
  if (base === "Tensor[]") return { ts: "readonly Tensor[]", expr: `handlesOf(${name})` };
  if (base === "Tensor?[]") return { ts: "readonly (Tensor | null)[]", expr: `handlesOf(${name})` };
  if (/^(int|SymInt)$/.test(base)) return { ts: `number${orNull}`, expr: name };
  if (/^(int|SymInt)\[\d*\]$/.test(base)) return { ts: `number | readonly number[]${orNull}`, expr: name };
  if (base === "float") return { ts: `number${orNull}`, expr: name };
  if (base === "float[]") return { ts: `readonly number[]${orNull}`, expr: name };
  if (base === "bool") return { ts: `boolean${orNull}`, expr: name };
  if (/^bool\[\d*\]$/.test(base)) return { ts: `readonly boolean[]${orNull}`, expr: name };
  if (base === "Scalar") return { ts: `number | boolean${orNull}`, expr: name };
  if (base === "str") return { ts: `string${orNull}`, expr: name };
  if (base === "Device") return { ts: `string${orNull}`, expr: name };
  if (base === "ScalarType") return { ts: `DType${orNull}`, expr: enc("dtypeCode") };
  if (base === "MemoryFormat") return { ts: `MemoryFormat${orNull}`, expr: enc("memoryFormatCode") };
  if (base === "Layout" || base === "Generator") return { ts: "null", expr: name };
  throw new Error(`no TypeScript mapping for schema type '${rawType}'`);
}

function returnType(ret: string): string {
  const t = stripAlias(ret);
  if (t === "Tensor") return "Tensor";
  if (t === "Tensor[]") return "Tensor[]";
  if (t === "int" || t === "float" || t === "Scalar" || t === "SymInt") return "number";
  if (t === "bool") return "boolean";
  throw new Error(`no TypeScript mapping for return type '${ret}'`);
}

const RESERVED = new Set(["var", "default", "function", "in", "new", "delete", "this", "class", "enum"]);
const safeName = (n: string): string => (RESERVED.has(n) ? `${n}_` : n);

export function functionName(s: Pick<Schema, "name" | "overload">): string {
  return safeName(s.overload ? `${s.name}_${s.overload}` : s.name);
}

function emit(s: Schema, slot: number): string {
  const params: string[] = [];
  const exprs: string[] = [];
  // an argument may be left out only if every argument after it may be too
  let omittable = true;
  const omit: boolean[] = [];
  for (let i = s.args.length - 1; i >= 0; i--) {
    omittable = omittable && s.args[i]!.optional;
    omit[i] = omittable;
  }
  s.args.forEach((a, i) => {
    const name = safeName(a.name);
    const m = argMapping(a.type, name, a.optional);
    params.push(`${name}${omit[i] ? "?" : ""}: ${m.ts}${a.optional && !omit[i] ? " | undefined" : ""}`);
    exprs.push(m.expr);
  });
  const head = `/** \`${s.text}\` */\nexport function ${functionName(s)}(${params.join(", ")})`;
  const callArgs = `${slot}, "aten::${s.name}", "${s.overload}", [${exprs.join(", ")}]`;
  const mutated = s.returns.length === 1 ? /\(([a-z])!\)/.exec(s.returns[0]!)?.[1] : undefined;
  if (mutated) {
    const target = s.args.find((a) => a.type.includes(`(${mutated}!)`));
    if (!target) throw new Error(`${s.text}: result aliases no argument`);
    return `${head}: Tensor {\n  callInPlace(${callArgs});\n  return ${safeName(target.name)};\n}\n`;
  }
  if (s.returns.length === 0) return `${head}: void {\n  callInPlace(${callArgs});\n}\n`;
  if (s.returns.length === 1) {
    const t = returnType(s.returns[0]!);
    const body =
      t === "Tensor"
        ? `wrap(call(${callArgs}))`
        : t === "Tensor[]"
          ? `wrapAll(call(${callArgs}))`
          : `call(${callArgs}) as ${t}`;
    return `${head}: ${t} {\n  return ${body};\n}\n`;
  }
  const types = s.returns.map(returnType);
  if (!types.every((t) => t === "Tensor")) throw new Error(`${s.text}: mixed tuple results are not supported`);
  return `${head}: [${types.join(", ")}] {\n  return wrapAll(call(${callArgs})) as [${types.join(", ")}];\n}\n`;
}

export const GENERATED_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../src/torch/generated/aten.ts",
);

/** The source of generated/aten.ts for the installed libtorch. */
export function generateAtenSource(): { source: string; count: number } {
  const schemas = OPS.map((q) => {
    const [name, overload = ""] = q.replace(/^aten::/, "").split(".");
    return parseSchema(native.opSchema(native.findOp(`aten::${name}`, overload)));
  });
  const { torchVersion } = native.buildInfo();
  const out = [
    `// Generated by scripts/gen-ops.ts from the operator schemas of libtorch ${torchVersion}. Do not edit.`,
    "/* eslint-disable */",
    'import type { DType, MemoryFormat } from "../dtype.js";',
    'import { dtypeCode, memoryFormatCode } from "../dtype.js";',
    'import { call, callInPlace, handleOf, handlesOf, wrap, wrapAll } from "../dispatch.js";',
    'import type { Tensor } from "../tensor.js";',
    "",
    `export const TORCH_VERSION = ${JSON.stringify(torchVersion)};`,
    "",
    ...schemas.map((s, i) => emit(s, i)),
  ].join("\n");
  return { source: out, count: schemas.length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { source, count } = generateAtenSource();
  writeFileSync(GENERATED_FILE, source);
  console.log(`wrote ${count} operators to ${GENERATED_FILE}`);
}
