// The block of public ports the hub may hand to relay shares (`lattice hub --relay-ports 20000-20099`).

export interface PortRange {
  first: number;
  last: number;
}

export const DEFAULT_RELAY_PORTS: PortRange = { first: 20000, last: 20099 };

/** Parses `20000-20099` (or a single `20000`); a clear error naming the flag otherwise. */
export function parsePortRange(text: string): PortRange {
  const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(text);
  if (!m) throw new Error(`--relay-ports "${text}" is not a port range (like 20000-20099)`);
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  for (const port of [first, last]) {
    if (port < 1 || port > 65535) throw new Error(`--relay-ports "${text}": ${port} is not a port (1-65535)`);
  }
  if (last < first) throw new Error(`--relay-ports "${text}": the range ends before it starts`);
  return { first, last };
}

export const inRange = (range: PortRange, port: number) => port >= range.first && port <= range.last;
