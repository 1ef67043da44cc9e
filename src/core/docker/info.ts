// GET /info → who the engine is (pure mapper).

/** The engine's identity as `GET /info` gives it. */
export interface EngineIdentity {
  /** `ID`: the engine's id (a UUID on recent engines, `XXXX:XXXX:…` on older ones). */
  readonly engineId: string;
  /** `Name`: the host's name as Docker knows it. */
  readonly name?: string;
}

/** Reads the engine's id and name from `GET /info`'s JSON; throws when there is no usable id. */
export function toEngineIdentity(info: unknown): EngineIdentity {
  const o = typeof info === 'object' && info !== null ? (info as Record<string, unknown>) : {};
  const id = o.ID;
  if (typeof id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9:_.-]{0,127}$/.test(id)) {
    throw new Error(`GET /info gave no usable engine ID (${JSON.stringify(id)?.slice(0, 80) ?? 'none'})`);
  }
  const name = typeof o.Name === 'string' && o.Name.length > 0 && o.Name.length <= 255 ? o.Name : undefined;
  return { engineId: id, ...(name !== undefined ? { name } : {}) };
}
