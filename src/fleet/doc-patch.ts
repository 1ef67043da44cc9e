// A patch between two JSON documents (pure), for the fleet's diffs: what changed in a host's document since the
// full document it was published against. Objects recurse key by key; arrays whose elements are all objects with
// a string `id` (nodes, edges, containers …) are diffed by id, so one changed edge costs one edge, not the array;
// anything else is replaced whole. A patch is always taken against the last *full* document, never chained, so a
// lost diff costs nothing: the next one carries everything since the full document.

/** A JSON value. */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [k: string]: Json };

/** What changed at one place of a document. */
export type Patch =
  /** Replace with this value. */
  | { readonly v: Json }
  /** Delete this key. */
  | { readonly d: 1 }
  /** Patch these keys of an object. */
  | { readonly o: { readonly [k: string]: Patch } }
  /** An array of objects keyed by `id`: elements set (added or changed), ids removed, the new order when it is not the old one's. */
  | { readonly a: { readonly set: readonly Json[]; readonly del: readonly string[]; readonly order?: readonly string[] } };

/** Thrown when a patch does not fit the document it is applied to (hostile or corrupt input). */
export class PatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchError';
  }
}

/** Deepest nesting diffPatch and applyPatch follow: documents are shallow; anything deeper is hostile. */
export const MAX_PATCH_DEPTH = 64;

const isObject = (x: unknown): x is { readonly [k: string]: Json } => typeof x === 'object' && x !== null && !Array.isArray(x);

function keyedIds(arr: readonly Json[]): string[] | undefined {
  const ids: string[] = [];
  const seen = new Set<string>();
  for (const e of arr) {
    if (!isObject(e) || typeof e.id !== 'string' || seen.has(e.id)) return undefined;
    seen.add(e.id);
    ids.push(e.id);
  }
  return ids;
}

const same = (a: Json, b: Json) => a === b || JSON.stringify(a) === JSON.stringify(b);

/** The patch turning `base` into `next`; undefined when they are equal. */
export function diffPatch(base: Json, next: Json, depth = 0): Patch | undefined {
  if (same(base, next)) return undefined;
  if (depth < MAX_PATCH_DEPTH && isObject(base) && isObject(next)) {
    const o: Record<string, Patch> = {};
    for (const k of Object.keys(next)) {
      const nv = next[k] as Json;
      if (!Object.hasOwn(base, k)) o[k] = { v: nv };
      else {
        const p = diffPatch(base[k] as Json, nv, depth + 1);
        if (p) o[k] = p;
      }
    }
    for (const k of Object.keys(base)) if (!Object.hasOwn(next, k)) o[k] = { d: 1 };
    return { o };
  }
  if (Array.isArray(base) && Array.isArray(next) && base.length > 0 && next.length > 0) {
    const baseIds = keyedIds(base);
    const nextIds = baseIds && keyedIds(next);
    if (baseIds && nextIds) {
      const byId = new Map(base.map((e) => [(e as { id: string }).id, e] as const));
      const nextSet = new Set(nextIds);
      const set = next.filter((e) => {
        const old = byId.get((e as { id: string }).id);
        return old === undefined || !same(old, e);
      });
      const del = baseIds.filter((id) => !nextSet.has(id));
      const delSet = new Set(del);
      const implied = [...baseIds.filter((id) => !delSet.has(id)), ...nextIds.filter((id) => !byId.has(id))];
      const inOrder = implied.length === nextIds.length && implied.every((id, i) => id === nextIds[i]);
      return { a: { set, del, ...(inOrder ? {} : { order: nextIds }) } };
    }
  }
  return { v: next };
}

/** Applies a patch made by diffPatch to `base` (which it does not modify); throws PatchError when it does not fit. */
export function applyPatch(base: Json, patch: Patch, depth = 0): Json {
  if (depth > MAX_PATCH_DEPTH) throw new PatchError(`patch nested deeper than ${MAX_PATCH_DEPTH}`);
  if (!isObject(patch)) throw new PatchError('patch is not an object');
  if ('v' in patch) return patch.v;
  if ('o' in patch) {
    if (!isObject(base)) throw new PatchError('object patch on a value that is not an object');
    if (!isObject(patch.o)) throw new PatchError('object patch without keys');
    const out: Record<string, Json> = { ...base };
    for (const [k, p] of Object.entries(patch.o)) {
      // JSON.parse makes "__proto__" an own key; assigning it would replace the prototype.
      if (k === '__proto__') throw new PatchError('patch of the key "__proto__" refused');
      if (isObject(p) && 'd' in p) delete out[k];
      else if (Object.hasOwn(out, k)) out[k] = applyPatch(out[k] as Json, p, depth + 1);
      else if (isObject(p) && 'v' in p) out[k] = p.v;
      else throw new PatchError(`patch of a missing key "${k.slice(0, 64)}"`);
    }
    return out;
  }
  if ('a' in patch) {
    if (!Array.isArray(base)) throw new PatchError('array patch on a value that is not an array');
    const a = patch.a;
    if (!isObject(a) || !Array.isArray(a.set) || !Array.isArray(a.del)) throw new PatchError('malformed array patch');
    const byId = new Map<string, Json>();
    const order: string[] = [];
    for (const e of base as readonly Json[]) {
      if (!isObject(e) || typeof e.id !== 'string') throw new PatchError('array patch on an array of elements without ids');
      if (!byId.has(e.id)) order.push(e.id);
      byId.set(e.id, e);
    }
    for (const id of a.del as readonly Json[]) {
      if (typeof id !== 'string') throw new PatchError('array patch deletes an id that is not a string');
      byId.delete(id);
    }
    for (const e of a.set as readonly Json[]) {
      if (!isObject(e) || typeof e.id !== 'string') throw new PatchError('array patch sets an element without an id');
      if (!byId.has(e.id)) order.push(e.id);
      byId.set(e.id, e);
    }
    let ids: readonly string[] = order.filter((id) => byId.has(id));
    if (a.order !== undefined) {
      if (!Array.isArray(a.order) || a.order.length !== byId.size || new Set(a.order).size !== byId.size || !a.order.every((id) => typeof id === 'string' && byId.has(id))) {
        throw new PatchError('array patch order does not list the elements');
      }
      ids = a.order as readonly string[];
    }
    return ids.map((id) => byId.get(id) as Json);
  }
  throw new PatchError('patch is none of replace, delete, object or array');
}
