/**
 * Contract tests of AgentStateSession against a live agent-state service
 * (AGENT_STATE_URL), compared with the SDK's own MemorySession where the
 * contract leaves room for interpretation.
 */
import { MemorySession, protocol } from "@openai/agents-core";
import {
  AgentStateError,
  AgentStateSession,
  CLEARED_EVENT_TYPE,
  HISTORY_TRANSACTION_EVENT_TYPE,
  ITEMS_ADDED_EVENT_TYPE,
  ITEM_POPPED_EVENT_TYPE,
} from "../src/openai-agents.js";
import { serviceOptions } from "./helpers.js";
import { SessionFactory, acceptedEvents, randomText } from "./agents-helpers.js";

// Fail the file at once, with a clear message, when no service is given.
serviceOptions();

const user = (text) => ({ role: "user", content: text });

/** An item nested `depth` levels deep, the item itself counting as level 1. */
const nested = (depth) => {
  let value = { leaf: true };
  for (let level = 2; level < depth; level += 1) value = { n: value };
  return depth === 1 ? { role: "user", content: "flat" } : { role: "user", content: value };
};

/** A fetch that answers every POST with a 202 without sending it (the rest goes to the service). */
const pendingPosts = (before) => async (url, init) => {
  if (init?.method === "POST") {
    if (before) await before();
    return new Response(JSON.stringify({ outcome: "pending", reason: "the ledger has not decided yet" }), {
      status: 202,
      headers: { "Content-Type": "application/json" },
    });
  }
  return fetch(url, init);
};
const assistant = (text) => ({
  type: "message",
  role: "assistant",
  status: "completed",
  content: [{ type: "output_text", text }],
});

/** One item of every AgentInputItem kind (and several shapes of the richer ones). */
const EVERY_KIND = [
  { type: "message", role: "user", content: "plain text, ünïcode ✓, emoji 🧪, quotes \" and \\ and \n newline" },
  {
    role: "user",
    content: [
      { type: "input_text", text: "look at these", promptCacheBreakpoint: { mode: "explicit" } },
      { type: "input_image", image: "https://example.com/cat.png", detail: "high" },
      { type: "input_image", image: { id: "file-img-1" } },
      { type: "input_file", file: "data:application/pdf;base64,JVBERi0xLjQK", filename: "a.pdf" },
      { type: "input_file", file: { url: "https://example.com/b.txt" } },
      { type: "audio", audio: "UklGRiQAAABXQVZF", format: "wav", transcript: null },
    ],
    providerData: { nested: { list: [1, 2.5, -3, true, false, null, "x"], empty: {}, none: [] } },
  },
  { type: "message", role: "system", content: "You are terse." },
  {
    type: "message",
    role: "assistant",
    id: "msg_1",
    status: "completed",
    phase: "final_answer",
    content: [
      { type: "output_text", text: "Here you are." },
      { type: "refusal", refusal: "I cannot do that part." },
      { type: "audio", audio: { id: "audio-1" } },
      { type: "image", image: "data:image/png;base64,iVBORw0KGgo=" },
    ],
  },
  { type: "reasoning", id: "rs_1", content: [{ type: "input_text", text: "thinking…" }], rawContent: [{ type: "reasoning_text", text: "raw" }], providerData: { encrypted_content: "gAAAA" } },
  { type: "function_call", id: "fc_1", callId: "call_1", name: "get_weather", namespace: "weather", status: "completed", arguments: "{\"city\":\"Paris\"}", caller: { type: "direct" } },
  { type: "function_call_result", callId: "call_1", name: "get_weather", status: "completed", output: "sunny" },
  { type: "function_call_result", callId: "call_2", name: "get_weather", status: "completed", output: { type: "text", text: "rainy" } },
  {
    type: "function_call_result",
    callId: "call_3",
    name: "render",
    status: "incomplete",
    output: [
      { type: "input_text", text: "see image" },
      { type: "input_image", image: "https://example.com/chart.png" },
    ],
  },
  { type: "hosted_tool_call", id: "ws_1", name: "web_search_call", arguments: "{\"q\":\"x\"}", status: "completed", output: "results", providerData: { action: { type: "search" } } },
  { type: "tool_search_call", id: "ts_1", callId: "call_ts", execution: "client", arguments: { query: "weather", paths: ["a", "b"] }, status: "completed" },
  { type: "tool_search_output", callId: "call_ts", execution: "client", status: "completed", tools: [{ type: "tool_reference", functionName: "get_weather" }, { name: "x", parameters: { type: "object" } }], toolSearchAgentName: "agent" },
  { type: "program", id: "pg_1", callId: "call_pg", code: "print(1)", fingerprint: "fp" },
  { type: "program_output", callId: "call_pg", output: "1\n", status: "completed" },
  { type: "computer_call", id: "cc_1", callId: "call_cc", status: "completed", action: { type: "click", x: 10, y: 20, button: "left" } },
  { type: "computer_call_result", callId: "call_cc", output: { type: "computer_screenshot", data: "data:image/png;base64,iVBORw0KGgo=" } },
  { type: "shell_call", callId: "call_sh", status: "completed", action: { commands: ["ls -la"], timeoutMs: 1000, maxOutputLength: 4096 } },
  { type: "shell_call_output", callId: "call_sh", maxOutputLength: 4096, output: [{ stdout: "a\nb\n", stderr: "", outcome: { type: "exit", exitCode: 0 } }, { stdout: "", stderr: "slow", outcome: { type: "timeout" } }] },
  { type: "apply_patch_call", callId: "call_ap", status: "completed", operation: { type: "update_file", path: "src/a.js", diff: "@@ -1 +1 @@\n-a\n+b\n" } },
  { type: "apply_patch_call_output", callId: "call_ap", status: "completed", output: "patched" },
  { type: "compaction", id: "cmp_1", encrypted_content: "opaque==", created_by: "server" },
  { type: "unknown", id: "u_1", providerData: { anything: { goes: [1, { deep: "yes" }] } } },
];

describe("AgentStateSession", () => {
  const factory = new SessionFactory();
  afterAll(async () => {
    await factory.cleanup();
  });

  it("fixtures cover valid items of every kind", () => {
    for (const item of EVERY_KIND) {
      const parsed = protocol.ModelItem.safeParse(item);
      expect(parsed.success, JSON.stringify(item)).toBe(true);
    }
    // The 19 members of the AgentInputItem union, messages counted per role.
    const kinds = new Set(
      EVERY_KIND.map((item) => (item.type === undefined || item.type === "message" ? `message:${item.role}` : item.type))
    );
    expect(kinds.size).toBe(19);
  });

  it("round-trips every AgentInputItem kind unchanged", async () => {
    const session = factory.create();
    await session.addItems(EVERY_KIND);
    expect(await session.getItems()).toEqual(EVERY_KIND);
    // A new instance (another process) reads the same history.
    const again = factory.create(session.sessionId);
    expect(await again.getItems()).toEqual(EVERY_KIND);
    // One addItems is one event.
    const added = await acceptedEvents(session, ITEMS_ADDED_EVENT_TYPE);
    expect(added).toHaveLength(1);
    expect(added[0].event.source).toBe("agent://openai-agents");
    expect(added[0].event.data).toEqual({ items: EVERY_KIND });
  });

  it("returns the last `limit` items in order, as MemorySession does", async () => {
    const items = [user("1"), assistant("2"), user("3"), assistant("4"), user("5")];
    const session = factory.create();
    const memory = new MemorySession();
    await session.addItems(items.slice(0, 2));
    await session.addItems(items.slice(2));
    await memory.addItems(items);
    for (const limit of [undefined, 0, -1, 1, 2, 5, 6, 100]) {
      const got = await session.getItems(limit);
      expect(got, `limit ${limit}`).toEqual(await memory.getItems(limit));
    }
    expect(await session.getItems(2)).toEqual([assistant("4"), user("5")]);
    await session.addItems([]);
    expect(await acceptedEvents(session, ITEMS_ADDED_EVENT_TYPE)).toHaveLength(2);
  });

  it("pops the most recent item first, and undefined when empty", async () => {
    const empty = factory.create();
    expect(await empty.popItem()).toBeUndefined();
    expect(await empty.getItems()).toEqual([]);
    // Nothing was written for it.
    expect(await empty.client.readTimeline(empty.agentStateSessionId)).toEqual([]);

    const session = factory.create();
    const [a, b, c] = [user("a"), assistant("b"), user("c")];
    await session.addItems([a, b]);
    await session.addItems([c]);
    expect(await session.popItem()).toEqual(c);
    expect(await session.popItem()).toEqual(b);
    expect(await session.getItems()).toEqual([a]);
    await session.addItems([c]);
    expect(await session.getItems()).toEqual([a, c]);
    expect(await session.popItem()).toEqual(c);
    expect(await session.popItem()).toEqual(a);
    expect(await session.popItem()).toBeUndefined();
    expect(await session.getItems()).toEqual([]);
    expect(await acceptedEvents(session, ITEM_POPPED_EVENT_TYPE)).toHaveLength(4);
  });

  it("clears the history with an event, keeping the timeline for audit", async () => {
    const session = factory.create();
    await session.addItems([user("a"), assistant("b")]);
    await session.clearSession();
    expect(await session.getItems()).toEqual([]);
    expect(await session.popItem()).toBeUndefined();
    await session.addItems([user("after")]);
    expect(await session.getItems()).toEqual([user("after")]);
    expect(await session.popItem()).toEqual(user("after"));

    const types = (await acceptedEvents(session)).map((e) => e.event.type);
    expect(types).toEqual([ITEMS_ADDED_EVENT_TYPE, CLEARED_EVENT_TYPE, ITEMS_ADDED_EVENT_TYPE, ITEM_POPPED_EVENT_TYPE]);

    // Erasure is a separate, explicit call.
    await session.deleteSession();
    expect(await session.client.readTimeline(session.agentStateSessionId)).toEqual([]);
    expect(await session.getItems()).toEqual([]);
  });

  it("pops each item exactly once under 20 concurrent pops of 10 items", async () => {
    const first = factory.create();
    const items = Array.from({ length: 10 }, (_, i) => user(`item ${i}`));
    await first.addItems(items);
    // Twenty independent instances, as twenty processes would have.
    const poppers = Array.from({ length: 20 }, () => factory.create(first.sessionId));
    const results = await Promise.all(poppers.map((session) => session.popItem()));

    const popped = results.filter((r) => r !== undefined);
    expect(popped).toHaveLength(10);
    expect(results.filter((r) => r === undefined)).toHaveLength(10);
    const texts = popped.map((item) => item.content);
    expect(new Set(texts).size).toBe(10);
    expect([...texts].sort()).toEqual(items.map((item) => item.content).sort());
    expect(await first.getItems()).toEqual([]);
    expect(await acceptedEvents(first, ITEM_POPPED_EVENT_TYPE)).toHaveLength(10);
  }, 180_000);

  it("applies a history transaction once, however often it is repeated", async () => {
    const session = factory.create();
    const memory = new MemorySession();
    const both = async (fn) => {
      const outcomes = [];
      for (const target of [session, memory]) {
        try {
          await fn(target);
          outcomes.push("ok");
        } catch (err) {
          outcomes.push(String(err?.message ?? err));
        }
      }
      return outcomes;
    };
    const opId = `run-${randomText()}:1:blocked_append:0:2`;
    const append = { operationId: opId, transaction: { type: "append_items", items: [user("q"), assistant("a")] } };

    await both((s) => s.addItems([user("before")]));
    expect(await both((s) => s.applyHistoryTransaction(append))).toEqual(["ok", "ok"]);
    expect(await both((s) => s.applyHistoryTransaction(append))).toEqual(["ok", "ok"]);
    // The same transaction with its keys in another order is the same transaction.
    const reordered = {
      operationId: opId,
      transaction: { items: [{ content: "q", role: "user" }, assistant("a")], type: "append_items" },
    };
    expect(await both((s) => s.applyHistoryTransaction(reordered))).toEqual(["ok", "ok"]);
    expect(await session.getItems()).toEqual([user("before"), user("q"), assistant("a")]);

    // The same operation id with another transaction fails and changes nothing.
    const other = { operationId: opId, transaction: { type: "append_items", items: [user("other")] } };
    const [mine, theirs] = await both((s) => s.applyHistoryTransaction(other));
    expect(mine).toMatch(/already applied with a different transaction/);
    expect(theirs).toMatch(/already applied with a different transaction/);
    expect(await session.getItems()).toEqual([user("before"), user("q"), assistant("a")]);

    // replace_suffix: applied once, repeats are no-ops.
    const replace = {
      operationId: `run-${randomText()}:1:accepted_replace:0:2`,
      transaction: { type: "replace_suffix", expectedSuffix: [assistant("a")], replacement: [assistant("A"), user("z")] },
    };
    expect(await both((s) => s.applyHistoryTransaction(replace))).toEqual(["ok", "ok"]);
    expect(await both((s) => s.applyHistoryTransaction(replace))).toEqual(["ok", "ok"]);
    expect(await session.getItems()).toEqual([user("before"), user("q"), assistant("A"), user("z")]);

    // A suffix that does not match fails without changing history.
    const stale = {
      operationId: `run-${randomText()}:2:accepted_replace:0:1`,
      transaction: { type: "replace_suffix", expectedSuffix: [assistant("a")], replacement: [user("nope")] },
    };
    const [mineStale, theirsStale] = await both((s) => s.applyHistoryTransaction(stale));
    expect(mineStale).toMatch(/no longer matches/);
    expect(theirsStale).toMatch(/no longer matches/);

    expect(await session.getItems()).toEqual(await memory.getItems());
    expect(await acceptedEvents(session, HISTORY_TRANSACTION_EVENT_TYPE)).toHaveLength(2);
  });

  it("writes a history transaction as one atomic batch with ids from the operation id", async () => {
    const session = factory.create();
    const operationId = `op-${randomText()}`;
    await session.applyHistoryTransaction({
      operationId,
      transaction: { type: "append_items", items: [user("x"), assistant("y")] },
    });
    const events = await acceptedEvents(session);
    expect(events.map((e) => e.event.type)).toEqual([HISTORY_TRANSACTION_EVENT_TYPE, ITEMS_ADDED_EVENT_TYPE]);
    const [head, items] = events;
    expect(head.event.data).toMatchObject({ operationId, kind: "append_items", itemCount: 2 });
    expect(items.event.data).toEqual({ operationId, items: [user("x"), assistant("y")] });
    expect(items.version).toBe(head.version + 1);
    expect(head.eventId).toMatch(/^oa-op-[0-9a-f]{40}:0$/);
    expect(items.eventId).toBe(head.eventId.replace(/:0$/, ":1"));
  });

  it("splits items too large for one event into one atomic batch", async () => {
    const session = factory.create();
    // Three items of ~150 KB: no two fit in one 256 KiB event.
    const big = [0, 1, 2].map((i) => user(`${i}:` + "x".repeat(150_000)));
    await session.addItems([user("small"), ...big]);
    expect(await session.getItems()).toEqual([user("small"), ...big]);
    const added = await acceptedEvents(session, ITEMS_ADDED_EVENT_TYPE);
    expect(added.length).toBe(3);
    expect(added.map((e) => e.version)).toEqual([added[0].version, added[0].version + 1, added[0].version + 2]);
    expect(await session.popItem()).toEqual(big[2]);
    expect(await session.getItems(1)).toEqual([big[1]]);
  });

  it("maps conversation ids outside the id alphabet to a hashed session", async () => {
    const id = "user/42 — ünïcode ✓ #1";
    const session = factory.create(id);
    expect(session.agentStateSessionId).toMatch(new RegExp(`^${session.sessionPrefix}h\\.[0-9a-f]{40}$`));
    expect(await session.getSessionId()).toBe(id);
    await session.addItems([user("hi")]);
    expect(await factory.create(id).getItems()).toEqual([user("hi")]);
    expect(AgentStateSession.agentStateSessionIdFor("plain-id_1.2:3@4", "oa-")).toBe("oa-plain-id_1.2:3@4");
    expect(AgentStateSession.agentStateSessionIdFor(`h.${"0".repeat(40)}`, "oa-")).toMatch(/^oa-h\.[0-9a-f]{40}$/);
    expect(AgentStateSession.agentStateSessionIdFor(`h.${"0".repeat(40)}`, "oa-")).not.toBe(`oa-h.${"0".repeat(40)}`);
  });

  it("refuses items JSON cannot hold, before writing anything", async () => {
    const session = factory.create();
    await expect(
      session.addItems([{ role: "user", content: [{ type: "input_image", image: new Uint8Array([1, 2]) }] }])
    ).rejects.toThrow(/binary data/);
    await expect(session.addItems([{ role: "user", content: "x", n: Number.NaN }])).rejects.toThrow(/JSON/);
    expect(await session.client.readTimeline(session.agentStateSessionId)).toEqual([]);
  });

  it("refuses text and shapes the service would refuse, and stores those at its limits", async () => {
    const session = factory.create();
    const refused = [
      [user("nul \u0000 inside")],
      [user("lone \ud800 high")],
      [user("lone \udc00 low")],
      [{ role: "user", content: "x", providerData: { ["key \ud83d"]: 1 } }],
      [{ role: "user", content: "x", providerData: { ["key \u0000"]: 1 } }],
      [nested(30)],
      [{ role: "user", content: "x", providerData: { list: new Array(10_001).fill(0) } }],
    ];
    for (const items of refused) {
      await expect(session.addItems(items)).rejects.toThrow(TypeError);
      await expect(
        session.applyHistoryTransaction({ operationId: `op-${randomText()}`, transaction: { type: "append_items", items } })
      ).rejects.toThrow(TypeError);
    }
    await expect(
      session.applyHistoryTransaction({ operationId: "op-\ud800", transaction: { type: "append_items", items: [user("x")] } })
    ).rejects.toThrow(TypeError);
    expect(await session.client.readTimeline(session.agentStateSessionId)).toEqual([]);

    // At the limits: 29 levels in one event and in an atomic batch (one more level above the items), 10,000 elements.
    const deep = nested(29);
    const wide = { role: "user", content: "x", providerData: { list: new Array(10_000).fill(0) } };
    const pair = "emoji 😀 and ünïcode";
    await session.addItems([deep, wide, user(pair)]);
    // Two items of 150 KB do not fit in one event: an atomic batch, `deep` in its first event.
    const large = [user("y".repeat(150_000)), user("z".repeat(150_000))];
    await session.addItems([deep, ...large]);
    await session.applyHistoryTransaction({
      operationId: `op-${randomText()}`,
      transaction: { type: "append_items", items: [deep] },
    });
    expect(await session.getItems()).toEqual([deep, wide, user(pair), deep, ...large, deep]);
  });

  it("keeps one atomic batch under the 2 MiB Kafka record, refusing larger ones before writing", async () => {
    const session = factory.create();
    const items = (n) => Array.from({ length: n }, (_, i) => user(`${i}:` + "x".repeat(195_000)));
    // ~1.95 MB over 10 events: accepted by the service.
    await session.addItems(items(10));
    expect(await session.getItems()).toHaveLength(10);
    // ~2.15 MB: over the record limit (the service would answer 413), refused here.
    await expect(session.addItems(items(11))).rejects.toThrow(RangeError);
    expect(await acceptedEvents(session, ITEMS_ADDED_EVENT_TYPE)).toHaveLength(10);
  }, 120_000);

  it("reports a write still pending after the timeout with its key, and that it may still land", async () => {
    const session = factory.create(undefined, { fetch: pendingPosts(), pendingTimeoutMs: 1000 });
    const error = await session.addItems([user("maybe")]).then(() => undefined, (err) => err);
    expect(error).toBeInstanceOf(AgentStateError);
    expect(error.pending).toBe(true);
    expect(error.eventId).toMatch(/^oa-add-/);
    expect(error.sessionId).toBe(session.agentStateSessionId);
    expect(error.message).toMatch(/may still be applied/);
    const cleared = await session.clearSession().then(() => undefined, (err) => err);
    expect(cleared?.pending).toBe(true);
    expect(cleared?.eventId).toMatch(/^oa-clear-/);
  });

  it("checks a polled append transaction against the fold, not just the decision on its key", async () => {
    const conversation = `conv-${randomText(12)}`;
    const other = factory.create(conversation);
    const operationId = `op-${randomText()}`;
    // While this writer's batch is in flight, another applies the same operation id with another
    // transaction; this writer's answer is a 202, and the poll finds the other's decision.
    const session = factory.create(conversation, {
      fetch: pendingPosts(() =>
        other.applyHistoryTransaction({ operationId, transaction: { type: "append_items", items: [user("theirs")] } })
      ),
    });
    await expect(
      session.applyHistoryTransaction({ operationId, transaction: { type: "append_items", items: [user("mine")] } })
    ).rejects.toThrow(/already applied with a different transaction/);
    expect(await other.getItems()).toEqual([user("theirs")]);
  });

  it("hashes conversation ids that would be made only of dots", async () => {
    for (const id of [".", ".."]) {
      const session = factory.create(id, { sessionPrefix: "" });
      expect(session.agentStateSessionId).toMatch(/^h\.[0-9a-f]{40}$/);
      // Not under this file's random prefix: start from an empty session.
      await session.deleteSession();
      await session.addItems([user(`dots ${id}`)]);
      expect(await factory.create(id, { sessionPrefix: "" }).getItems()).toEqual([user(`dots ${id}`)]);
      await session.deleteSession();
      expect(await session.getItems()).toEqual([]);
    }
    expect(AgentStateSession.agentStateSessionIdFor(".", ".")).toMatch(/^\.h\.[0-9a-f]{40}$/);
    expect(AgentStateSession.agentStateSessionIdFor("...", "x")).toBe("x...");
  });
});
