#!/usr/bin/env node
// search_code round trips through the official TypeScript MCP SDK (@modelcontextprotocol/sdk),
// over stdio and over streamable HTTP (one client, one kept-alive connection), on an indexed
// data dir: median, p90 and p99 per transport, and HTTP minus stdio.
//
// Usage: node mcp_latency_node.mjs CODEINTEL DATA_DIR [CALLS] [SDK_DIR]
//   SDK_DIR: the folder scripts/setup-node.sh installed (default: $CODEINTEL_TEST_NODE_DIR).
// The data dir must already hold an index (bench/index.sh builds one in bench/out/data-index).
// The two clients take turns call by call, so both see the same machine load.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [binary, dataDir, callsArg, sdkArg] = process.argv.slice(2);
const calls = Number(callsArg || 500);
const sdkDir = sdkArg || process.env.CODEINTEL_TEST_NODE_DIR;
if (!binary || !dataDir || !sdkDir || !(calls > 0)) {
  console.error('usage: mcp_latency_node.mjs CODEINTEL DATA_DIR [CALLS] [SDK_DIR]');
  process.exit(2);
}
if (!fs.existsSync(path.join(dataDir, 'index.db'))) {
  console.error(`no index in ${dataDir} (run bench/index.sh first)`);
  process.exit(1);
}

async function sdk(sub) {
  const root = path.join(sdkDir, 'node_modules', '@modelcontextprotocol', 'sdk');
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  return import(pathToFileURL(path.join(root, pkg.exports['./*'].import.replace('*', sub))).href);
}
const { Client } = await sdk('client/index.js');
const { StdioClientTransport } = await sdk('client/stdio.js');
const { StreamableHTTPClientTransport } = await sdk('client/streamableHttp.js');

// The same queries as the Python figure (bench/search_latency.py).
const here = path.dirname(fileURLToPath(import.meta.url));
const source = fs.readFileSync(path.join(here, 'search_latency.py'), 'utf8');
const block = /QUERIES = \[([\s\S]*?)\]/.exec(source)[1];
const QUERIES = [...block.matchAll(/"([^"]*)"/g)].map((m) => m[1]);

// No scan paths: the servers only serve the existing index (no background indexing).
const env = {
  CODEINTEL_DATA_DIR: dataDir,
  CODEINTEL_ENV_FILE: '/dev/null',
  AUTO_SYNC_ENABLED: 'false',
  AUTO_SYNC_AUTO_WATCH: 'false',
  HOME: process.env.HOME || '/',
  // No embedding model download, no background embedding while timing.
  CODEINTEL_EMBED_PROVIDER: process.env.CODEINTEL_EMBED_PROVIDER || 'none',
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function startHttp() {
  const child = spawn(binary, ['serve', '--http', '127.0.0.1:0'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  let exited = false;
  child.on('exit', () => { exited = true; });
  child.stderr.on('data', (d) => { log += d; });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = /codeintel MCP server at (http:\/\/\S+\/mcp)/.exec(log);
    if (m) return { child, url: m[1] };
    if (exited || Date.now() > deadline) throw new Error(`serve --http did not start:\n${log}`);
    await sleep(20);
  }
}

async function timed(client, query) {
  const t = performance.now();
  const result = await client.callTool({ name: 'search_code', arguments: { query, limit: 10 } });
  const ms = performance.now() - t;
  if (result.isError) throw new Error(`search_code ${query}: ${JSON.stringify(result.content)}`);
  return ms;
}

function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { median, p90: at(0.9), p99: at(0.99) };
}

const stdio = new Client({ name: 'codeintel-bench', version: '1.0.0' });
const http = new Client({ name: 'codeintel-bench', version: '1.0.0' });
const server = await startHttp();
try {
  await stdio.connect(new StdioClientTransport({ command: binary, args: ['serve'], env, stderr: 'ignore' }));
  await http.connect(new StreamableHTTPClientTransport(new URL(server.url)));
  await stdio.listTools();
  await http.listTools();
  for (let i = 0; i < 20; i++) {
    await timed(stdio, QUERIES[i % QUERIES.length]);
    await timed(http, QUERIES[i % QUERIES.length]);
  }
  const times = { stdio: [], http: [] };
  for (let i = 0; i < calls; i++) {
    const q = QUERIES[i % QUERIES.length];
    times.stdio.push(await timed(stdio, q));
    times.http.push(await timed(http, q));
  }
  const f = (x) => x.toFixed(1);
  const d = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
  const s = stats(times.stdio);
  const h = stats(times.http);
  for (const [name, r] of [['stdio', s], ['http', h]]) {
    console.log(`search_code over ${name} (TypeScript SDK): median ${f(r.median)} ms, p90 ${f(r.p90)} ms, ` +
      `p99 ${f(r.p99)} ms over ${calls} calls`);
  }
  console.log(`http - stdio (TypeScript SDK): median ${d(h.median - s.median)} ms, p90 ${d(h.p90 - s.p90)} ms, ` +
    `p99 ${d(h.p99 - s.p99)} ms (target: median within 2 ms)`);
} finally {
  await stdio.close().catch(() => {});
  await http.close().catch(() => {});
  server.child.kill('SIGTERM');
}
process.exit(0);
