// SPDX-License-Identifier: Apache-2.0
/**
 * The run's shared browser: scripts/test-browser.sh starts this once, and every test file
 * connects to it (VISTALID_BROWSER_WS) instead of launching its own Chromium. It launches
 * Chromium with the harness's options, listens on 127.0.0.1 only (a random port and a random
 * path), writes the WebSocket endpoint to the file named by its argument, and closes the
 * browser when its standard input closes or on SIGTERM / SIGINT.
 *
 * Usage: node lib/browser-server.mjs ENDPOINT_FILE
 * @module
 */
import { renameSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { launchOptions } from './harness.mjs';

const out = process.argv[2];
if (!out) {
  console.error('usage: node lib/browser-server.mjs ENDPOINT_FILE');
  process.exit(2);
}
const server = await chromium.launchServer({ ...launchOptions(), host: '127.0.0.1' });
writeFileSync(`${out}.tmp`, server.wsEndpoint());
renameSync(`${out}.tmp`, out);
let closing = false;
const stop = async () => {
  if (closing) return;
  closing = true;
  await server.close();
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
