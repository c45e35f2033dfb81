// JSON from untrusted peers (HTTP bodies and socket messages). JSON.parse itself never pollutes a
// prototype (it defines own properties), but the objects travel on: into spreads, into the agent,
// into JSON.stringify, which recurses. So payloads are refused when they nest too deeply or carry a
// `__proto__` key, or a `constructor` key holding an object (the `constructor.prototype` pattern).
import { LatticeError } from '../../shared';

export const MAX_JSON_DEPTH = 64;

/** The first problem with a parsed value, or undefined when it is acceptable. Iterative: no recursion. */
export function unsafeJsonReason(value: unknown, maxDepth = MAX_JSON_DEPTH): string | undefined {
  const stack: { v: unknown; depth: number; path: string }[] = [{ v: value, depth: 0, path: '' }];
  while (stack.length) {
    const { v, depth, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth) return `nested deeper than ${maxDepth} levels`;
    if (Array.isArray(v)) {
      v.forEach((item, i) =>
        stack.push({ v: item, depth: depth + 1, path: `${path}${path ? '.' : ''}${i}` }),
      );
      continue;
    }
    for (const key of Object.keys(v)) {
      const child = (v as Record<string, unknown>)[key];
      const where = `${path}${path ? '.' : ''}${key}`;
      if (key === '__proto__' || (key === 'constructor' && child !== null && typeof child === 'object')) {
        return `forbidden key "${key}" at ${where}`;
      }
      stack.push({ v: child, depth: depth + 1, path: where });
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
