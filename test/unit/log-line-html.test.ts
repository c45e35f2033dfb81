// The log viewer's rendering (renderer/src/components/log-line-html.ts) fed hostile container output:
// unfinished escape sequences, OSC 8 hyperlinks, HTML. Each line must come out on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnsiUp } from 'ansi_up';
import { plainLogText, renderLogLine } from '../../renderer/src/components/log-line-html';

const PHISH = '\x1b]8;;https://evil.example/phish\x07Session expired - click to sign in again\x1b]8;;\x07';

const HOSTILE = [
  'starts red and never resets \x1b[31m',
  'an unfinished CSI at the end \x1b[3',
  'an unfinished OSC 8 link \x1b]8;;https://evil.example/phish',
  PHISH,
  '\x1b]8;;https://evil.example/phish\x1b\\ST-terminated link text\x1b]8;;\x1b\\',
  '<img src=x onerror=alert(1)> & "quotes"',
  '\x1b]0;window title\x07after a title sequence',
];
const PLAIN_AFTER = 'an ordinary line: database system is ready to accept connections';

test('every hostile line renders as it would alone, and the ordinary lines after it stay intact', () => {
  // As the viewer shows them: one after another, ordinary lines in between.
  const lines = HOSTILE.flatMap((l) => [l, PLAIN_AFTER]);
  const shown = lines.map(renderLogLine);
  lines.forEach((line, i) => assert.equal(shown[i], renderLogLine(line), `line ${i} depends on others`));
  for (let i = 1; i < shown.length; i += 2) {
    assert.equal(shown[i], PLAIN_AFTER, `the ordinary line after ${JSON.stringify(lines[i - 1])}`);
  }
  // What the viewer did before: one parser for every line lets the red of line 0 bleed into line 1.
  const shared = new AnsiUp();
  shared.use_classes = true;
  shared.ansi_to_html(HOSTILE[0]);
  assert.notEqual(shared.ansi_to_html(PLAIN_AFTER), PLAIN_AFTER, 'the hostile sample really does leak');
});

test('OSC 8 hyperlinks become plain text: no <a>, no target, the words kept', () => {
  for (const line of [PHISH, HOSTILE[2], HOSTILE[4]]) {
    const html = renderLogLine(line);
    assert.doesNotMatch(html, /<a[\s>]/i, JSON.stringify(line));
    assert.doesNotMatch(html, /evil\.example/, JSON.stringify(line));
    assert.ok(!html.includes('\x1b'), 'no escape byte reaches the page');
  }
  assert.equal(renderLogLine(PHISH), 'Session expired - click to sign in again');
  assert.equal(renderLogLine(HOSTILE[4]), 'ST-terminated link text');
  assert.equal(plainLogText(PHISH), 'Session expired - click to sign in again');
});

test('colours survive as classes; HTML in the text is escaped', () => {
  assert.equal(renderLogLine('\x1b[31mred\x1b[0m plain'), '<span class="ansi-red-fg">red</span> plain');
  const html = renderLogLine(HOSTILE[5]);
  assert.doesNotMatch(html, /<img/);
  assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt; &amp; &quot;quotes&quot;/);
  assert.equal(renderLogLine(HOSTILE[6]), 'after a title sequence');
  assert.equal(renderLogLine('a line with its newline\n'), 'a line with its newline');
});
