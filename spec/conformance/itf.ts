/**
 * Informal Trace Format (ITF, https://apalache-mc.org/docs/adr/015adr-trace.html) decoding:
 * `{"#bigint": "5"}` -> number, `{"#map": [[k, v]]}` -> Map, `{"#set": [..]}` -> Set,
 * `{"#tup": [..]}` -> array; records stay plain objects. Quint prefixes the variables of an
 * instantiated module (`commit_ok::commit::txs`): `stateVars` strips the prefix.
 */
import { readFileSync } from 'node:fs';

export type Value = number | string | boolean | Value[] | Map<Value, Value> | Set<Value> | { [field: string]: Value };

export interface ItfTrace {
  readonly vars: string[];
  readonly states: Array<Record<string, Value>>;
}

export function decode(raw: unknown): Value {
  if (raw === null || typeof raw !== 'object') return raw as Value;
  if (Array.isArray(raw)) return raw.map(decode);
  const o = raw as Record<string, unknown>;
  if ('#bigint' in o) {
    const n = Number(o['#bigint']);
    if (!Number.isSafeInteger(n)) throw new Error(`ITF: #bigint ${String(o['#bigint'])} is not a safe integer`);
    return n;
  }
  if ('#map' in o) return new Map((o['#map'] as Array<[unknown, unknown]>).map(([k, v]) => [decode(k), decode(v)]));
  if ('#set' in o) return new Set((o['#set'] as unknown[]).map(decode));
  if ('#tup' in o) return (o['#tup'] as unknown[]).map(decode);
  if ('#unserializable' in o) throw new Error(`ITF: unserializable value ${String(o['#unserializable'])}`);
  const out: Record<string, Value> = {};
  for (const [k, v] of Object.entries(o)) if (k !== '#meta') out[k] = decode(v);
  return out;
}

/** Reads an ITF file; each state maps the variable names without their module prefix. */
export function readTrace(path: string): ItfTrace {
  const json = JSON.parse(readFileSync(path, 'utf8')) as { vars: string[]; states: Array<Record<string, unknown>> };
  const short = (name: string): string => {
    const i = name.lastIndexOf('::');
    return name.startsWith('mbt::') || i < 0 ? name : name.slice(i + 2);
  };
  return {
    vars: json.vars.map(short),
    states: json.states.map((state) => {
      const out: Record<string, Value> = {};
      for (const [k, v] of Object.entries(state)) if (k !== '#meta') out[short(k)] = decode(v);
      return out;
    }),
  };
}

/** Typed accessors for decoded values (throw on a shape the model never produces). */
export function num(v: Value | undefined): number {
  if (typeof v !== 'number') throw new Error(`ITF: expected a number, got ${JSON.stringify(v)}`);
  return v;
}

export function str(v: Value | undefined): string {
  if (typeof v !== 'string') throw new Error(`ITF: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

export function rec(v: Value | undefined): { [field: string]: Value } {
  if (v === undefined || v === null || typeof v !== 'object' || v instanceof Map || v instanceof Set || Array.isArray(v)) {
    throw new Error(`ITF: expected a record, got ${String(v)}`);
  }
  return v;
}

export function map(v: Value | undefined): Map<Value, Value> {
  if (!(v instanceof Map)) throw new Error(`ITF: expected a map, got ${String(v)}`);
  return v;
}
