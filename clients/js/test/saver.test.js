import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { AgentStateError, CHECKPOINT_EVENT_TYPE, WRITES_EVENT_TYPE } from "../src/index.js";
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
    // ~190 KB: its base64 form (4/3 larger) still fits one 256 KiB event.
    const big = "0123456789abcdef".repeat(11_875);
    const checkpoint = checkpointWith({ big, small: [1, 2, 3] });
    const config = await saver.put({ configurable: { thread_id: threadId } }, checkpoint, meta, { big: 1, small: 1 });
    const tuple = await saver.getTuple(config);
    expect(tuple?.checkpoint.channel_values.big.length).toBe(big.length);
    expect(tuple?.checkpoint).toEqual(checkpoint);
  });

  it("surfaces the service's 413 for a checkpoint over the event size limit", async () => {
    const threadId = `too-large-${uuid6(-1)}`;
    const checkpoint = checkpointWith({ huge: "x".repeat(300_000) });
    const error = await saver
      .put({ configurable: { thread_id: threadId } }, checkpoint, meta, { huge: 1 })
      .then(() => undefined, (err) => err);
    expect(error).toBeInstanceOf(AgentStateError);
    expect(error.status).toBe(413);
    expect(await saver.getTuple({ configurable: { thread_id: threadId } })).toBeUndefined();
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

  it("erases a thread with deleteThread, and accepts erasing it twice", async () => {
    const threadId = `erase-${uuid6(-1)}`;
    await saver.put({ configurable: { thread_id: threadId } }, checkpointWith({ a: 1 }), meta, { a: 1 });
    expect(await saver.getTuple({ configurable: { thread_id: threadId } })).toBeDefined();
    await saver.deleteThread(threadId);
    await saver.deleteThread(threadId);
    expect(await saver.getTuple({ configurable: { thread_id: threadId } })).toBeUndefined();
  });
});
