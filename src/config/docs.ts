// A schema's keys as documentation rows (key path, type, default, description), read from zod's JSON Schema, so
// that the README's tables come from the schemas the code validates with and cannot drift from them.
import { z } from "zod";

export interface KeyDoc {
  /** Dotted path: `teacher.steps`. */
  key: string;
  type: string;
  /** The default as JSON, or "" when there is none. */
  default: string;
  description: string;
}

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  default?: unknown;
  description?: string;
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" \\| ");
  if (s.anyOf) return s.anyOf.map(typeOf).join(" \\| ");
  if (s.type === "array") {
    const item = s.items ? typeOf(s.items) : "any";
    return item.includes("|") ? `(${item})[]` : `${item}[]`;
  }
  return Array.isArray(s.type) ? s.type.join(" \\| ") : (s.type ?? "any");
}

const isEmptyObject = (v: unknown): boolean =>
  typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;

function walk(schema: JsonSchema, prefix: string, rows: KeyDoc[]): void {
  for (const [name, s] of Object.entries(schema.properties ?? {})) {
    const key = prefix ? `${prefix}.${name}` : name;
    // an object whose default is empty (every key defaulted) is documented key by key
    if (s.properties && (s.default === undefined || isEmptyObject(s.default))) {
      walk(s, key, rows);
      continue;
    }
    rows.push({
      key,
      type: s.properties ? "object" : typeOf(s),
      default: s.default === undefined ? "" : JSON.stringify(s.default),
      description: s.description ?? "",
    });
  }
}

/** Every key of an object schema, nested objects flattened to dotted keys. */
export function documentKeys(schema: z.ZodType): KeyDoc[] {
  const rows: KeyDoc[] = [];
  walk(z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema, "", rows);
  return rows;
}
