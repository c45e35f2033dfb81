// One log line as HTML, on its own. Container output is hostile input: any container can print
// escape sequences. So every line gets a fresh parser (an unfinished sequence in one line cannot
// colour or swallow the next), the text is HTML-escaped, and hyperlinks (OSC 8) and every other OSC
// sequence are removed before parsing: the link text stays as plain text, no <a> is ever created.
import { AnsiUp } from 'ansi_up';

/** An OSC sequence (ESC ] … BEL or ESC \), or an unfinished one up to the next ESC or the line's end. */
// eslint-disable-next-line no-control-regex
const OSC = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?/g;
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;

export function renderLogLine(text: string): string {
  const ansi = new AnsiUp();
  // Classes, not inline styles: the console's CSP forbids inline style attributes from HTML strings.
  ansi.use_classes = true;
  ansi.escape_html = true;
  // Should an OSC 8 link ever reach the parser, it is dropped rather than made clickable.
  ansi.url_allowlist = {};
  return ansi.ansi_to_html(text.replace(/\n$/, '').replace(OSC, ''));
}

/** The line as a person reads it, for filtering: colours and OSC sequences removed. */
export function plainLogText(text: string): string {
  return text.replace(OSC, '').replace(SGR, '');
}

const rendered = new WeakMap<object, string>();

/** renderLogLine, computed once per line object (a fresh parser per line is not free). */
export function cachedLogLineHtml(line: { text: string }): string {
  let html = rendered.get(line);
  if (html === undefined) {
    html = renderLogLine(line.text);
    rendered.set(line, html);
  }
  return html;
}
