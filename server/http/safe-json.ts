// JSON from untrusted peers (HTTP bodies and socket messages). JSON.parse itself never pollutes a
// prototype (it defines own properties), but the objects travel on: into spreads, into the agent,
// into JSON.stringify, which recurses. So payloads are refused when they nest too deeply or carry a
// `__proto__` key, or a `constructor` key holding an object (the `constructor.prototype` pattern).
import { LatticeError } from '../../shared';

export const MAX_JSON_DEPTH = 64;

/** A value still to look at, with the way back to the root (paths are spelled only for a refusal). */
interface Visit {
  v: unknown;
  depth: number;
  key: string | number | undefined;
  parent: Visit | undefined;
}

function pathOf(visit: Visit): string {
  const keys: (string | number)[] = [];
  for (let at: Visit | undefined = visit; at?.key !== undefined; at = at.parent) keys.push(at.key);
  return keys.reverse().join('.');
}

/** The first problem with a parsed value, or undefined when it is acceptable. Iterative: no recursion. */
export function unsafeJsonReason(value: unknown, maxDepth = MAX_JSON_DEPTH): string | undefined {
  const stack: Visit[] = [{ v: value, depth: 0, key: undefined, parent: undefined }];
  while (stack.length) {
    const visit = stack.pop()!;
    const { v, depth } = visit;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth) return `nested deeper than ${maxDepth} levels`;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        if (item !== null && typeof item === 'object')
          stack.push({ v: item, depth: depth + 1, key: i, parent: visit });
      }
      continue;
    }
    for (const key of Object.keys(v)) {
      const child = (v as Record<string, unknown>)[key];
      const isObject = child !== null && typeof child === 'object';
      if (key === '__proto__' || (key === 'constructor' && isObject)) {
        return `forbidden key "${key}" at ${pathOf({ v: child, depth: depth + 1, key, parent: visit })}`;
      }
      if (isObject) stack.push({ v: child, depth: depth + 1, key, parent: visit });
    }
  }
  return undefined;
}

/** Parses and checks; throws invalid_argument naming what was wrong. */
export function parseSafeJson(text: string, what = 'body'): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new LatticeError('invalid_argument', `The ${what} is not valid JSON: ${(err as Error).message}`);
  }
  const reason = unsafeJsonReason(value);
  if (reason) throw new LatticeError('invalid_argument', `The ${what} was refused: ${reason}`);
  return value;
}
