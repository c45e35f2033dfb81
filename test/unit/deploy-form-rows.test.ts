// The deploy form's one rows editor (ports, environment, volumes) and its Docker port order: the
// form rendered to HTML by React, and the row updates it is built on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { ApiContext } from '../../renderer/src/api/api-context';
import type { ConsoleApi } from '../../renderer/src/api/console-api';
import {
  NEW_PORT,
  emptyForm,
  formToArgs,
  removeRow,
  updateRow,
} from '../../renderer/src/components/deploy-form-model';

// The component is typechecked by renderer/tsconfig.json (DOM, JSX); this file is checked by the
// root one, which has neither, so the module is named by a string TypeScript does not follow. tsx
// compiles .tsx here with the classic JSX runtime (React.createElement), hence the global React.
(globalThis as { React?: typeof React }).React = React;
const FORM_MODULE = '../../renderer/src/components/DeployForm.tsx';
const { DeployForm } = (await import(FORM_MODULE)) as {
  DeployForm: (props: { template: 'custom' }) => React.ReactElement;
};
const { createElement } = React;

function renderForm(): string {
  const scope = { api: {} as ConsoleApi, base: '', remote: false };
  return renderToStaticMarkup(
    createElement(ApiContext.Provider, { value: scope }, createElement(DeployForm, { template: 'custom' })),
  );
}

test('the custom form shows ports host first, as docker run -p HOST:CONTAINER', () => {
  const html = renderForm();
  const host = html.indexOf('data-field="ports.0.host"');
  const container = html.indexOf('data-field="ports.0.container"');
  assert.ok(host > 0 && container > 0, 'both port fields are rendered');
  assert.ok(host < container, 'the host port comes before the container port');
  assert.deepEqual(Object.keys(NEW_PORT), ['host', 'container', 'protocol']);
});

test('ports, environment and volumes come from one editor: same buttons, same test ids', () => {
  const html = renderForm();
  for (const [name, noun] of [
    ['ports', 'port'],
    ['env', 'variable'],
    ['volumes', 'volume'],
  ]) {
    assert.match(html, new RegExp(`data-testid="add-${name}"[^>]*>Add ${noun}</button>`), name);
  }
  // The form starts with one empty port row, which has its Remove button.
  assert.match(html, /aria-label="Remove port 1"/);
  assert.equal((html.match(/<fieldset class="rows">/g) ?? []).length, 3);
});

test('row updates change one row and keep the others', () => {
  const rows = [
    { key: 'A', value: '1' },
    { key: 'B', value: '2' },
  ];
  assert.deepEqual(updateRow(rows, 1, { value: 'x' }), [
    { key: 'A', value: '1' },
    { key: 'B', value: 'x' },
  ]);
  assert.deepEqual(rows[1], { key: 'B', value: '2' }, 'the input is not mutated');
  assert.deepEqual(removeRow(rows, 0), [{ key: 'B', value: '2' }]);
});

test('a port row becomes the contract mapping with host and container where they belong', () => {
  const form = { ...emptyForm('custom', 'web'), image: 'nginx:1.27' };
  form.ports = [{ host: '8080', container: '80', protocol: 'tcp' }];
  const args = formToArgs(form);
  assert.ok(args.template === 'custom');
  assert.deepEqual(args.ports, [{ host: 8080, container: 80, protocol: 'tcp' }]);
});
