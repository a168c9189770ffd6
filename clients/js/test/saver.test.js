import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { BLOBS_EVENT_TYPE, CHECKPOINT_EVENT_TYPE, WRITES_EVENT_TYPE } from "../src/index.js";
import { createSaver, destroySaver, serviceOptions } from "./helpers.js";

serviceOptions();

const SESSION_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
const meta = { source: "loop", step: 0, parents: {} };

/** A checkpoint holding `values`, each at version `version`. */
function checkpointWith(values, version = 1) {
  return {
    ...emptyCheckpoint(),
    id: uuid6(-1),
    channel_values: values,
    channel_versions: Object.fromEntries(Object.keys(values).map((k) => [k, version])),
  };
}

async function collect(generator) {
  const items = [];
  for await (const item of generator) items.push(item);
  return items;
}

async function acceptedOfType(saver, threadId, type) {
  const entries = await saver.client.readTimeline(saver.sessionIdFor(threadId));
  return entries.filter((e) => e.outcome === "accepted" && e.event?.type === type);
}

describe("AgentStateSaver", () => {
  let saver;
  beforeAll(() => {
    saver = createSaver();
  });
  afterAll(async () => {
    if (saver) await destroySaver(saver);
  });

  it("round-trips thread, namespace and task ids outside the session-id alphabet", async () => {
    const threads = ["user/42 — ünïcode ✓ #1", "x".repeat(300), "plain-id_1.2:3@4"];
    const ns = "parent:1|child/x y";
    for (const threadId of threads) {
      const sessionId = saver.sessionIdFor(threadId);
      expect(sessionId).toMatch(SESSION_ID);
      expect(sessionId.startsWith(saver.sessionPrefix)).toBe(true);

      const checkpoint = checkpointWith({ greeting: `hello ${threadId.slice(0, 20)}` });
      const config = await saver.put({ configurable: { thread_id: threadId, checkpoint_ns: ns } }, checkpoint, meta, {
        greeting: 1,
      });
      expect(config).toEqual({ configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpoint.id } });
      await saver.putWrites(config, [["greeting", "bye"]], "task/with space", "path~1");

      const byId = await saver.getTuple(config);
      expect(byId?.config).toEqual(config);
      expect(byId?.checkpoint).toEqual(checkpoint);
      expect(byId?.metadata).toEqual(meta);
      expect(byId?.pendingWrites).toEqual([["task/with space", "greeting", "bye"]]);

      const latest = await saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: ns } });
      expect(latest?.checkpoint.id).toBe(checkpoint.id);

      const listed = await collect(saver.list({ configurable: { thread_id: threadId } }));
      expect(listed.map((t) => t.config.configurable?.thread_id)).toEqual([threadId]);
    }
    expect(saver.sessionIdFor(threads[2])).toBe(`${saver.sessionPrefix}t.${threads[2]}`);

    // Without a thread, list() reports the real thread ids.
    const all = await collect(saver.list({}));
    expect(new Set(all.map((t) => t.config.configurable?.thread_id))).toEqual(new Set(threads));
  });

  it("treats a retried put or putWrites as a duplicate", async () => {
    const threadId = `retry-${uuid6(-1)}`;
    const checkpoint = checkpointWith({ count: 1 });
    const args = [{ configurable: { thread_id: threadId, checkpoint_ns: "" } }, checkpoint, meta, { count: 1 }];
    const first = await saver.put(...args);
    const second = await saver.put(...args);
    expect(second).toEqual(first);
    await saver.putWrites(first, [["count", 2]], "task-1");
    await saver.putWrites(first, [["count", 2]], "task-1");

    expect(await acceptedOfType(saver, threadId, CHECKPOINT_EVENT_TYPE)).toHaveLength(1);
    expect(await acceptedOfType(saver, threadId, WRITES_EVENT_TYPE)).toHaveLength(1);
    const listed = await collect(saver.list({ configurable: { thread_id: threadId } }));
    expect(listed).toHaveLength(1);
    expect(listed[0].pendingWrites).toEqual([["task-1", "count", 2]]);
  });

  it("round-trips a channel value near 200 KB", async () => {
    const threadId = `large-${uuid6(-1)}`;
    // ~190 KB: stored as its JSON text, it still fits one 256 KiB event.
    const big = "0123456789abcdef".repeat(11_875);
    const checkpoint = checkpointWith({ big, small: [1, 2, 3] });
    const config = await saver.put({ configurable: { thread_id: threadId } }, checkpoint, meta, { big: 1, small: 1 });
    const tuple = await saver.getTuple(config);
    expect(tuple?.checkpoint.channel_values.big.length).toBe(big.length);
    expect(tuple?.checkpoint).toEqual(checkpoint);
    expect(await acceptedOfType(saver, threadId, BLOBS_EVENT_TYPE)).toHaveLength(0);
  });

  it("keeps putting checkpoints once the message history outgrows one event", async () => {
    const threadId = `history-${uuid6(-1)}`;
    let config = { configurable: { thread_id: threadId, checkpoint_ns: "" } };
    const history = [];
    const puts = [];
    // ~128 KB of messages more per step (quotes and non-ASCII included): 128, 256, 384, 512 KB.
    for (let step = 1; step <= 4; step += 1) {
      for (let i = 0; i < 40; i += 1) {
        history.push({ role: i % 2 ? "assistant" : "user", content: `step ${step} message ${i} ` + 'ü✓ "q" '.repeat(200) });
      }
      const checkpoint = checkpointWith({ messages: history.slice(), step }, step);
      config = await saver.put(config, checkpoint, { ...meta, step }, { messages: step, step });
      puts.push({ config, checkpoint });
    }
    for (const { config: stored, checkpoint } of puts) {
      expect((await saver.getTuple(stored))?.checkpoint).toEqual(checkpoint);
    }
    const latest = await saver.getTuple({ configurable: { thread_id: threadId } });
    expect(latest?.checkpoint.channel_values.messages).toHaveLength(160);
    expect(latest?.parentConfig?.configurable?.checkpoint_id).toBe(puts[2].checkpoint.id);

    // The last put: one head, then its parts, as one atomic batch (consecutive versions, same putId).
    const entries = (await saver.client.readTimeline(saver.sessionIdFor(threadId))).filter((e) => e.outcome === "accepted");
    const head = entries.filter((e) => e.event.type === CHECKPOINT_EVENT_TYPE).at(-1);
    expect(head.event.data.id).toBe(puts[3].checkpoint.id);
    expect(head.event.data.parts).toBeGreaterThan(0);
    const parts = entries.filter((e) => e.event.type === BLOBS_EVENT_TYPE && e.event.data.putId === head.event.data.putId);
    expect(parts.map((e) => e.version)).toEqual(parts.map((_, i) => head.version + 1 + i));
    expect(parts.map((e) => e.event.data.part)).toEqual(parts.map((_, i) => i));
    expect(parts.every((e) => e.event.data.checkpointId === head.event.data.id)).toBe(true);
  });

  it("chunks single values larger than one event, without splitting a surrogate pair", async () => {
    const threadId = `chunked-${uuid6(-1)}`;
    const checkpoint = checkpointWith({
      ascii: "x".repeat(600_000),
      // 9 bytes per repetition, a surrogate pair included: ~540 KB over several events.
      unicode: "é✓😀".repeat(60_000),
      small: { a: [1, 2, 3] },
    });
    const config = await saver.put({ configurable: { thread_id: threadId } }, checkpoint, meta, {
      ascii: 1,
      unicode: 1,
      small: 1,
    });
    expect((await saver.getTuple(config))?.checkpoint).toEqual(checkpoint);
    expect((await acceptedOfType(saver, threadId, BLOBS_EVENT_TYPE)).length).toBeGreaterThanOrEqual(5);

    // The same for one task's writes.
    await saver.putWrites(config, [["big", "w".repeat(400_000)], ["tiny", 1]], "task-big");
    const tuple = await saver.getTuple(config);
    expect(tuple?.pendingWrites).toEqual([
      ["task-big", "big", "w".repeat(400_000)],
      ["task-big", "tiny", 1],
    ]);
    expect(await acceptedOfType(saver, threadId, WRITES_EVENT_TYPE)).toHaveLength(1);
  });

  it("stores a checkpoint near the atomic batch limit, and refuses a larger one before writing", async () => {
    const threadId = `near-limit-${uuid6(-1)}`;
    // ~1.8 MB: under the 2 MiB Kafka record that one atomic batch becomes.
    const near = checkpointWith({ v: "q".repeat(1_800_000) });
    const config = await saver.put({ configurable: { thread_id: threadId } }, near, meta, { v: 1 });
    expect((await saver.getTuple(config))?.checkpoint).toEqual(near);

    const tooLarge = `too-large-${uuid6(-1)}`;
    await expect(
      saver.put({ configurable: { thread_id: tooLarge } }, checkpointWith({ huge: "z".repeat(2_500_000) }), meta, {
        huge: 1,
      })
    ).rejects.toThrow(RangeError);
    expect(await saver.client.readTimeline(saver.sessionIdFor(tooLarge))).toEqual([]);
  });

  it("replaces a checkpoint put again under the same id with other content", async () => {
    const threadId = `re-put-${uuid6(-1)}`;
    const first = checkpointWith({ count: 1 });
    const second = { ...first, channel_values: { count: 2 } };
    const config = { configurable: { thread_id: threadId, checkpoint_ns: "" } };
    await saver.put(config, first, meta, { count: 1 });
    // The same id with other content is a new event, not a reused key (422).
    const stored = await saver.put(config, second, { ...meta, step: 1 }, { count: 1 });
    expect((await saver.getTuple(stored))?.checkpoint.channel_values).toEqual({ count: 2 });
    expect((await saver.getTuple(stored))?.metadata).toEqual({ ...meta, step: 1 });
    // A byte-identical retry of it stays a duplicate.
    await saver.put(config, second, { ...meta, step: 1 }, { count: 1 });
    expect(await acceptedOfType(saver, threadId, CHECKPOINT_EVENT_TYPE)).toHaveLength(2);
    expect(await collect(saver.list({ configurable: { thread_id: threadId } }))).toHaveLength(1);
  });

  it("refuses ids and channel names the service cannot store, before writing anything", async () => {
    const lone = "bad\ud800";
    const nul = "bad\u0000";
    const cases = [
      [{ thread_id: `t-${lone}` }, { a: 1 }],
      [{ thread_id: `t-nul-${uuid6(-1)}`, checkpoint_ns: nul }, { a: 1 }],
      [{ thread_id: `t-chan-${uuid6(-1)}` }, { [`c${lone}`]: 1 }],
    ];
    for (const [configurable, values] of cases) {
      const checkpoint = checkpointWith(values);
      await expect(
        saver.put({ configurable }, checkpoint, meta, Object.fromEntries(Object.keys(values).map((k) => [k, 1])))
      ).rejects.toThrow(TypeError);
      expect(await saver.client.readTimeline(saver.sessionIdFor(configurable.thread_id))).toEqual([]);
    }
    const threadId = `t-writes-${uuid6(-1)}`;
    const config = await saver.put({ configurable: { thread_id: threadId } }, checkpointWith({ a: 1 }), meta, { a: 1 });
    await expect(saver.putWrites(config, [["a", 2]], `task${nul}`)).rejects.toThrow(TypeError);
    await expect(saver.putWrites(config, [["a", 2]], "task", `path${lone}`)).rejects.toThrow(TypeError);
    await expect(saver.putWrites(config, [[`ch${nul}`, 2]], "task")).rejects.toThrow(TypeError);
    expect(await acceptedOfType(saver, threadId, WRITES_EVENT_TYPE)).toHaveLength(0);
  });

  it("rebuilds each fork's own value when integer versions repeat across forks", async () => {
    const threadId = `fork-${uuid6(-1)}`;
    const root = checkpointWith({ foo: "a", keep: "k" }, 1);
    const rootConfig = await saver.put({ configurable: { thread_id: threadId } }, root, meta, { foo: 1, keep: 1 });
    const left = { ...checkpointWith({ foo: "left", keep: "k" }, 1), channel_versions: { foo: 2, keep: 1 } };
    const right = { ...checkpointWith({ foo: "right", keep: "k" }, 1), channel_versions: { foo: 2, keep: 1 } };
    const leftConfig = await saver.put(rootConfig, left, meta, { foo: 2 });
    const rightConfig = await saver.put(rootConfig, right, meta, { foo: 2 });

    expect((await saver.getTuple(leftConfig))?.checkpoint.channel_values).toEqual({ foo: "left", keep: "k" });
    expect((await saver.getTuple(rightConfig))?.checkpoint.channel_values).toEqual({ foo: "right", keep: "k" });
    expect((await saver.getTuple(rightConfig))?.parentConfig?.configurable?.checkpoint_id).toBe(root.id);
  });

  it("leaves a channel empty in the fork that bumped it without a value, whatever another fork stored", async () => {
    const threadId = `empty-${uuid6(-1)}`;
    const root = checkpointWith({ trigger: "go" }, 1);
    const rootConfig = await saver.put({ configurable: { thread_id: threadId } }, root, meta, { trigger: 1 });
    // one fork writes the trigger again at version 2; the other consumes it (version 2, no value), as a node run does
    const left = { ...checkpointWith({ trigger: "again" }, 2) };
    const right = { ...checkpointWith({}, 1), channel_versions: { trigger: 2 } };
    const leftConfig = await saver.put(rootConfig, left, meta, { trigger: 2 });
    const rightConfig = await saver.put(rootConfig, right, meta, { trigger: 2 });

    expect((await saver.getTuple(leftConfig))?.checkpoint.channel_values).toEqual({ trigger: "again" });
    expect((await saver.getTuple(rightConfig))?.checkpoint.channel_values).toEqual({});
  });

  it("erases a thread with deleteThread, and accepts erasing it twice", async () => {
    const threadId = `erase-${uuid6(-1)}`;
    await saver.put({ configurable: { thread_id: threadId } }, checkpointWith({ a: 1 }), meta, { a: 1 });
    expect(await saver.getTuple({ configurable: { thread_id: threadId } })).toBeDefined();
    await saver.deleteThread(threadId);
    await saver.deleteThread(threadId);
    expect(await saver.getTuple({ configurable: { thread_id: threadId } })).toBeUndefined();
  });
});
