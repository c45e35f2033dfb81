// A request's path as the WHATWG URL parser gives it (`new URL(req.url, base).pathname`: dot segments
// resolved, backslashes turned into slashes, characters percent-encoded, the query and fragment left
// off), without building a URL object for the plain paths nearly every request has: the URL costs
// the hub's busiest route about 2% of its CPU per command.

/** Paths the parser returns unchanged: one leading slash, then letters, digits and `_~-./`. */
const PLAIN = /^\/(?!\/)[A-Za-z0-9_~\-./]*$/;
/** A `.` or `..` segment, which the parser resolves. */
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

/**
 * undefined for a request target the parser refuses (`//`, `//:x`): such a request has no path, and
 * the hub answers 400 (the parser's exception, thrown in the request handler, once stopped the hub).
 */
export function requestPath(url: string | undefined): string | undefined {
  const raw = url ?? '/';
  if (PLAIN.test(raw) && !DOT_SEGMENT.test(raw)) return raw;
  // Not URL.canParse: on Node 20, once V8 has optimised it, it refuses some targets the parser
  // accepts (`///é/`, after a few thousand calls; the unit test's random paths found it).
  try {
    return new URL(raw, 'http://hub').pathname;
  } catch {
    return undefined;
  }
}
