// Peer baseline for the agent-state benchmarks: LangGraph.js PostgresSaver persisting one checkpoint per agent step,
// with the thread's whole message list in the checkpoint (as a LangGraph agent with a `messages` channel does).
//
// Config comes as JSON in BENCH_CONFIG:
//   {"url": "postgresql://...", "schema": "langgraph", "concurrency": [1, 8, 32], "seconds": 6,
//    "stepsPerThread": 20, "messageBytes": 1024, "warmupSeconds": 1}
// Prints one JSON document on stdout: versions, and per concurrency level steps/s, p50/p99 per step, bytes stored
// per step (growth of pg_total_relation_size of the saver's tables / steps) and this process's CPU per step.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { AIMessage, HumanMessage } from "@langchain/core/messages";

const config = JSON.parse(process.env.BENCH_CONFIG ?? "{}");
const url = config.url;
const schema = config.schema ?? "langgraph";
const levels = config.concurrency ?? [1, 8, 32];
const seconds = config.seconds ?? 6;
const stepsPerThread = config.stepsPerThread ?? 20;
const messageBytes = config.messageBytes ?? 1024;
const warmupSeconds = config.warmupSeconds ?? 1;
const run = config.run ?? `${Date.now()}`;

// The same words and xorshift order as the harness's Records.content, so messages are alike on both sides.
const WORDS = ("agent plan search result tool call read write summary user assistant message state session"
  + " version order review draft answer question context memory fact source report table query "
  + "update check error retry budget token model prompt reply step task goal data file page "
  + "note list item value field record event log commit batch stream topic key schema cache "
  + "view store index shard replica node cluster latency through the of and to in for with on "
  + "at by from into over after before while then when because").split(" ");

function content(n, length) {
  let text = `step ${n}:`;
  let x = (Math.imul(n, 0x9E3779B1 | 0) + 1) | 0;
  if (x === 0) x = 1;
  while (text.length < length) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    text += " " + WORDS[(x >>> 0) % WORDS.length];
  }
  return text.slice(0, length);
}

function version(name) {
  const file = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(file, "utf8")).version;
}

const pool = new pg.Pool({ connectionString: url, max: Math.max(...levels) + 2 });
const saver = new PostgresSaver(pool, undefined, { schema });
await saver.setup();

async function storedBytes() {
  const result = await pool.query(
    `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r'`, [schema]);
  return Number(result.rows[0].bytes);
}

// One agent step: the thread's message list grows by one message, and the checkpoint with the new list is put.
async function worker(label, deadline, latencies) {
  let steps = 0;
  for (let t = 0; performance.now() < deadline; t++) {
    const threadId = `${run}-${label}-t${t}`;
    let cfg = { configurable: { thread_id: threadId, checkpoint_ns: "" } };
    const messages = [];
    for (let n = 1; n <= stepsPerThread && performance.now() < deadline; n++) {
      const text = content(n, messageBytes - 120);
      messages.push(n % 2 === 1 ? new HumanMessage({ content: text, id: `${threadId}-m${n}` })
        : new AIMessage({ content: text, id: `${threadId}-m${n}` }));
      const checkpoint = {
        ...emptyCheckpoint(),
        id: uuid6(-1),
        ts: new Date().toISOString(),
        channel_values: { messages: [...messages] },
        channel_versions: { messages: n },
        versions_seen: { agent: { messages: n - 1 } },
      };
      const begin = performance.now();
      cfg = await saver.put(cfg, checkpoint, { source: "loop", step: n, parents: {} }, { messages: n });
      latencies.push(performance.now() - begin);
      steps++;
    }
  }
  return steps;
}

async function level(concurrency, duration, label) {
  const before = await storedBytes();
  const latencies = [];
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const deadline = start + duration * 1000;
  const counts = await Promise.all(Array.from({ length: concurrency }, (_, w) =>
    worker(`${label}-c${concurrency}-w${w}`, deadline, latencies)));
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const steps = counts.reduce((a, b) => a + b, 0);
  const after = await storedBytes();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.max(0, Math.min(latencies.length - 1, Math.ceil(p / 100 * latencies.length) - 1))];
  return {
    concurrency,
    steps,
    seconds: elapsed,
    stepsPerSecond: steps / elapsed,
    p50Ms: pct(50),
    p99Ms: pct(99),
    bytesPerStep: (after - before) / steps,
    nodeCpuMsPerStep: (cpu.user + cpu.system) / 1000 / steps,
  };
}

await level(1, warmupSeconds, "warmup");
const results = [];
for (const concurrency of levels) {
  results.push(await level(concurrency, seconds, "measured"));
}
await pool.end();
process.stdout.write(JSON.stringify({
  node: process.version,
  versions: {
    "@langchain/langgraph": version("@langchain/langgraph"),
    "@langchain/langgraph-checkpoint": version("@langchain/langgraph-checkpoint"),
    "@langchain/langgraph-checkpoint-postgres": version("@langchain/langgraph-checkpoint-postgres"),
    "@langchain/core": version("@langchain/core"),
    pg: version("pg"),
  },
  stepsPerThread,
  messageBytes,
  levels: results,
}) + "\n");
