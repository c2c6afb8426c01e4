// SPDX-License-Identifier: Apache-2.0
// Test files run in parallel against one testbed phone, which answers an account's newest
// challenge: two files sharing an account would answer each other's logins. This check reads
// every test file's phoneAccount(kind, n[, { on }]) calls and fails when two files share one.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'node_modules') return [];
    const path = join(dir, e.name);
    return e.isDirectory() ? testFiles(path) : e.name.endsWith('.test.mjs') ? [path] : [];
  });
}

/** The accounts a source text takes: 'kind n on' keys. */
export function accountsTaken(text) {
  const out = new Set();
  const call = /phoneAccount\(\s*'(\w+)'\s*(?:,\s*(\d+)\s*)?(?:,\s*\{\s*on(?:\s*:\s*'(\w+)')?\s*\}\s*)?\)/g;
  for (const m of text.matchAll(call)) {
    let on = m[3];
    if (on === undefined && /\{\s*on\s*\}/.test(m[0])) {
      on = text.match(/const on = '(\w+)'/)?.[1] ?? '?';
    }
    out.add(`${m[1]} ${m[2] ?? 0} ${on ?? 'main'}`);
  }
  return out;
}

test('accountsTaken reads the three call shapes', () => {
  const taken = accountsTaken(`const on = 'strict';
    phoneAccount('practitioner', 2); phoneAccount('insured'); phoneAccount('practitioner', 1, { on });
    phoneAccount('practitioner', 4, { on: 'strict' });`);
  assert.deepEqual([...taken].sort(), ['insured 0 main', 'practitioner 1 strict', 'practitioner 2 main', 'practitioner 4 strict']);
});

test('no two test files use the same phone account', () => {
  const owner = new Map();
  const self = fileURLToPath(import.meta.url);
  for (const file of testFiles(root).filter((f) => f !== self)) {
    for (const key of accountsTaken(readFileSync(file, 'utf8'))) {
      const name = relative(root, file);
      assert.ok(!owner.has(key) || owner.get(key) === name, `${owner.get(key)} and ${name} both use phone account ${key}`);
      owner.set(key, name);
    }
  }
  assert.ok(owner.size >= 10, `the login tests' accounts were found (${owner.size})`);
});
