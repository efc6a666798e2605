// test/unit/openapi.test.ts: the OpenAPI 3.1 document (host/gateway/openapi.ts)
// is valid by a real validator (@seriousme/openapi-schema-validator), lists
// exactly the routes the HTTP layer serves (host/gateway/http-routes.ts ROUTES),
// both ways, with the right openness, and is what GET /v1/openapi.json sends.

import { test } from 'uvu';
import { admitAll } from '../support/admission.ts';
import * as assert from 'uvu/assert';
import { Validator } from '@seriousme/openapi-schema-validator';
import { OPENAPI, openApiText } from '../../host/gateway/openapi.ts';
import { HttpSession } from '../../host/gateway/http.ts';
import { ROUTES } from '../../host/gateway/http-routes.ts';

test('the document is valid OpenAPI 3.1', async () => {
  // Proves the validator accepts the document and reads it as version 3.1.
  const validator = new Validator();
  const result = await validator.validate(JSON.parse(openApiText()));
  assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
  assert.is(validator.version, '3.1');
});

test('a broken document is refused by the same validator', async () => {
  // Proves the validation above can fail: a path without responses is invalid.
  const broken = JSON.parse(openApiText());
  broken.paths['/v1/health'].get.responses = 'none';
  const result = await new Validator().validate(broken);
  assert.not.ok(result.valid);
});

test('every route in code is in the document, and every documented operation is in code', () => {
  // Proves ROUTES and the document agree on (method, path) both ways.
  const inCode = new Set(ROUTES.map((r) => `${r.method} ${r.path}`));
  const inDoc = new Set<string>();
  for (const [path, item] of Object.entries(OPENAPI.paths)) {
    for (const method of Object.keys(item)) inDoc.add(`${method.toUpperCase()} ${path}`);
  }
  for (const r of inCode) assert.ok(inDoc.has(r), `${r} is served but not documented`);
  for (const r of inDoc) assert.ok(inCode.has(r), `${r} is documented but not served`);
  assert.is(inCode.size, ROUTES.length, 'no route is listed twice');
});

test('open routes are exactly the ones the document marks without security', () => {
  // Proves the document tells clients the truth about which routes need a key.
  for (const r of ROUTES) {
    const op = (OPENAPI.paths as unknown as Record<string, Record<string, { security?: unknown[] }>>)[r.path][r.method.toLowerCase()];
    const open = Array.isArray(op.security) && op.security.length === 0;
    assert.is(open, r.gatewayRoute === 0, `${r.method} ${r.path}`);
  }
});

test('GET /v1/openapi.json serves the document without a key', () => {
  // Proves the route answers from the session with the same JSON text.
  const written: Buffer[] = [];
  const session = new HttpSession({
    submit: () => { throw new Error('the document needs no kernel'); },
    write: (b) => written.push(b), end: () => {}, pause: () => {}, resume: () => {},
  }, { ledgers: new Map(), admit: admitAll() });
  session.receive(Buffer.from('GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'));
  const text = Buffer.concat(written).toString('utf8');
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.is(text.slice(text.indexOf('\r\n\r\n') + 4), openApiText());
});

test.run();
