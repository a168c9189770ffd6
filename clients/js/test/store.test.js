import { HumanMessage } from "@langchain/core/messages";
import { MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { InMemoryStore, InvalidNamespaceError } from "@langchain/langgraph-checkpoint";
import { AgentStateStore, STORE_SOURCE } from "../src/index.js";
import { randomPrefix, serviceOptions } from "./helpers.js";

serviceOptions();

// What a caller sees of an item, without the clock: createdAt and updatedAt are checked apart.
const seen = (item) => (item === null ? null : { namespace: item.namespace, key: item.key, value: item.value, score: item.score });

describe("AgentStateStore, against InMemoryStore", () => {
  let ours;
  let theirs;
  beforeAll(() => {
    ours = new AgentStateStore({ ...serviceOptions(), sessionPrefix: randomPrefix() });
    theirs = new InMemoryStore();
  });
  afterAll(async () => {
    if (!ours) return;
    for (const id of await ours.client.listSessionIds(ours.sessionPrefix)) await ours.client.deleteSession(id);
  });

  /** Runs one call on both stores and expects the same answer. */
  async function both(call, project = (x) => x) {
    const [a, b] = await Promise.all([call(ours), call(theirs)]);
    expect(project(a)).toEqual(project(b));
    return a;
  }

  it("puts, gets, updates and deletes like InMemoryStore, keeping createdAt", async () => {
    await both((s) => s.put(["users", "u1"], "prefs", { theme: "dark", nested: { a: [1, null, "é 😀"] }, none: null }));
    const first = await both((s) => s.get(["users", "u1"], "prefs"), seen);
    expect(first.value).toEqual({ theme: "dark", nested: { a: [1, null, "é 😀"] }, none: null });
    expect(first.createdAt).toBeInstanceOf(Date);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await both((s) => s.put(["users", "u1"], "prefs", { theme: "light" }));
    const updated = await both((s) => s.get(["users", "u1"], "prefs"), seen);
    expect(updated.value).toEqual({ theme: "light" });
    expect(updated.createdAt.getTime()).toBe(first.createdAt.getTime());
    expect(updated.updatedAt.getTime()).toBeGreaterThan(first.updatedAt.getTime());
    await both((s) => s.delete(["users", "u1"], "prefs"));
    await both((s) => s.get(["users", "u1"], "prefs"), seen);
    expect(await ours.get(["users", "u1"], "prefs")).toBeNull();
    await both((s) => s.get(["users", "nobody"], "prefs"), seen);
  });

  it("searches by namespace prefix with filters, limit and offset", async () => {
    for (const [ns, key, value] of [
      [["docs", "a"], "1", { kind: "note", size: 3, tag: "x" }],
      [["docs", "a"], "2", { kind: "todo", size: 8, tag: "y" }],
      [["docs", "b"], "3", { kind: "note", size: 5, tag: "z" }],
      [["docs"], "4", { kind: "note", size: 1 }],
      [["docsx"], "5", { kind: "note", size: 2 }],
    ]) {
      await both((s) => s.put(ns, key, value));
    }
    const keys = (items) => items.map((i) => `${i.namespace.join("/")}:${i.key}`).sort();
    await both((s) => s.search(["docs"]), keys);
    await both((s) => s.search(["docs", "a"]), keys);
    await both((s) => s.search(["docs"], { filter: { kind: "note" } }), keys);
    await both((s) => s.search(["docs"], { filter: { size: { $gt: 2, $lte: 5 } } }), keys);
    await both((s) => s.search(["docs"], { filter: { tag: { $in: ["x", "z"] } } }), keys);
    await both((s) => s.search(["docs"], { filter: { kind: { $ne: "note" } } }), keys);
    // pages within one namespace come in insertion order, as in InMemoryStore
    await both((s) => s.search(["docs", "a"], { limit: 1 }), (items) => items.map(seen));
    await both((s) => s.search(["docs", "a"], { limit: 1, offset: 1 }), (items) => items.map(seen));
    expect((await ours.search(["docs"], { query: "anything" })).every((i) => i.score === undefined)).toBe(true);
    expect(await ours.search(["docs"], { limit: 2 })).toHaveLength(2);
    // insertion order even for keys that look like integers (a JSON object would put them first)
    await both((s) => s.put(["order"], "b", { n: 1 }));
    await both((s) => s.put(["order"], "1", { n: 2 }));
    await both((s) => s.put(["order"], "b", { n: 3 }));
    await both((s) => s.search(["order"]), (items) => items.map(seen));
  });

  it("lists namespaces by prefix, suffix, wildcard and depth, paged", async () => {
    for (const ns of [["a", "b", "c"], ["a", "b", "d"], ["a", "e"], ["f", "b"], ["a", "b"]]) {
      await both((s) => s.put(ns, "k", { v: 1 }));
    }
    const mine = (list) => list.filter((ns) => ["a", "f"].includes(ns[0]));
    await both((s) => s.listNamespaces(), mine);
    await both((s) => s.listNamespaces({ prefix: ["a"] }));
    await both((s) => s.listNamespaces({ prefix: ["a", "*"] }));
    await both((s) => s.listNamespaces({ suffix: ["b"] }), mine);
    await both((s) => s.listNamespaces({ prefix: ["a"], maxDepth: 2 }));
    await both((s) => s.listNamespaces({ prefix: ["a"], limit: 2, offset: 1 }));
  });

  it("answers the reads of a batch from before its writes, the last put of a key winning", async () => {
    await both((s) => s.put(["batch"], "k", { n: 0 }));
    const batch = [
      { namespace: ["batch"], key: "k", value: { n: 1 } },
      { namespace: ["batch"], key: "k" },
      { namespace: ["batch"], key: "k", value: { n: 2 } },
      { namespacePrefix: ["batch"], limit: 10, offset: 0 },
    ];
    const results = await ours.batch(batch);
    expect(results[0]).toBeNull();
    expect(results[2]).toBeNull();
    // the reads see the namespace as it was before the batch's writes. (InMemoryStore returns its live item object,
    // which its later put then changes in place, so the same batch there shows {n: 2}: an aliasing artefact not copied.)
    expect(seen(results[1]).value).toEqual({ n: 0 });
    expect(results[3].map((i) => i.value)).toEqual([{ n: 0 }]);
    await theirs.batch(batch);
    await both((s) => s.get(["batch"], "k"), seen);
    expect((await ours.get(["batch"], "k")).value).toEqual({ n: 2 });
  });

  it("keeps a namespace too long for a session id, and refuses what InMemoryStore refuses", async () => {
    const long = ["long", "x".repeat(150), "ünïcode label"];
    await both((s) => s.put(long, "k", { ok: true }));
    await both((s) => s.get(long, "k"), seen);
    expect(ours.sessionIdFor(long)).toMatch(/h\.[0-9a-f]{40}$/);
    expect(await ours.listNamespaces({ prefix: ["long"] })).toEqual([long]);
    expect((await ours.search(["long"])).map((i) => i.key)).toEqual(["k"]);
    // "__proto__" is a key like any other
    await both((s) => s.put(["proto"], "__proto__", { polluted: false }));
    await both((s) => s.get(["proto"], "__proto__"), seen);
    expect((await ours.get(["proto"], "__proto__"))?.value).toEqual({ polluted: false });
    // a label the service cannot store is refused on reads too, never answered as another namespace
    await expect(ours.get(["\uD800"], "k")).rejects.toThrow();
    for (const bad of [[], ["a.b"], ["a:b"], [""], ["langgraph"]]) {
      await expect(ours.put(bad, "k", { v: 1 })).rejects.toBeInstanceOf(InvalidNamespaceError);
      await expect(theirs.put(bad, "k", { v: 1 })).rejects.toBeInstanceOf(InvalidNamespaceError);
    }
  });

  it("loses no item when two stores write one namespace at once, and shows each write in the timeline", async () => {
    const other = new AgentStateStore({ ...serviceOptions(), sessionPrefix: ours.sessionPrefix });
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? ours : other).put(["race"], `k${i}`, { i }))
    );
    const items = await ours.search(["race"], { limit: 100 });
    expect(items.map((i) => i.key).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`).sort());
    const entries = await ours.client.readTimeline(ours.sessionIdFor(["race"]));
    const accepted = entries.filter((e) => e.outcome === "accepted");
    expect(accepted).toHaveLength(10);
    expect(accepted.every((e) => e.event.source === STORE_SOURCE && e.event.type === "agentstate.state.patched")).toBe(
      true
    );
  });

  it("is the long-term memory of a real graph, shared across threads", async () => {
    const graph = new StateGraph(MessagesAnnotation)
      .addNode("remember", async (state, config) => {
        const said = state.messages[state.messages.length - 1].content;
        const known = await config.store.search(["memories", "u-graph"], { limit: 100 });
        await config.store.put(["memories", "u-graph"], `m${known.length}`, { text: said });
        return {};
      })
      .addEdge(START, "remember")
      .compile({ store: ours });
    await graph.invoke({ messages: [new HumanMessage("I like tea")] }, { configurable: { thread_id: "t1" } });
    await graph.invoke({ messages: [new HumanMessage("I live in Oslo")] }, { configurable: { thread_id: "t2" } });
    const memories = await new AgentStateStore({ ...serviceOptions(), sessionPrefix: ours.sessionPrefix }).search(
      ["memories", "u-graph"]
    );
    expect(memories.map((m) => m.value.text)).toEqual(["I like tea", "I live in Oslo"]);
  });
});

describe("AgentStateStore with an index: search by meaning through the service's memory", () => {
  let store;
  const texts = {
    theme: "Prefers a dark theme in every editor and app",
    allergy: "Is allergic to hazelnuts and almonds",
    city: "Lives in Oslo, Norway, near the harbour",
    job: "Works as a nurse on night shifts",
    music: "Plays the cello in a community orchestra",
  };
  beforeAll(() => {
    store = new AgentStateStore({ ...serviceOptions(), sessionPrefix: randomPrefix(), index: { fields: ["text"] } });
  });
  afterAll(async () => {
    if (!store) return;
    for (const id of await store.client.listSessionIds(store.sessionPrefix)) await store.client.deleteSession(id);
  });

  const keys = (items) => items.map((i) => i.key);
  /** The facts the service holds for a namespace (its session id is their user id). */
  async function facts(namespace) {
    const res = await store.client.request("GET", `/users/${encodeURIComponent(store.sessionIdFor(namespace))}/memories`, {
      query: { limit: 1000 },
    });
    expect(res.status).toBe(200);
    return res.json();
  }

  it("ranks a namespace's items by similarity to the query, best first, with scores", async () => {
    for (const [key, text] of Object.entries(texts)) await store.put(["prefs", "u1"], key, { text, kind: "profile" });
    const colour = await store.search(["prefs", "u1"], { query: "which colour scheme does she want for the UI?" });
    expect(keys(colour)[0]).toBe("theme");
    expect(colour).toHaveLength(5);
    const scores = colour.map((i) => i.score);
    expect(scores.every((s) => typeof s === "number" && s <= 1 && s >= -1)).toBe(true);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(keys(await store.search(["prefs", "u1"], { query: "which nuts is she allergic to?" }))[0]).toBe("allergy");
    expect(keys(await store.search(["prefs", "u1"], { query: "what city is home?" }))[0]).toBe("city");
    expect(keys(await store.search(["prefs", "u1"], { query: "her job at the hospital" }))[0]).toBe("job");
    // limit and offset page the ranking
    const ranked = await store.search(["prefs", "u1"], { query: "musical instrument" });
    expect(ranked[0].key).toBe("music");
    expect(keys(await store.search(["prefs", "u1"], { query: "musical instrument", limit: 2, offset: 1 }))).toEqual(
      keys(ranked).slice(1, 3)
    );
    // the items are what was put; the facts are the service's, one per item, each distinct
    expect((await store.get(["prefs", "u1"], "theme")).value).toEqual({ text: texts.theme, kind: "profile" });
    const stored = await facts(["prefs", "u1"]);
    expect(stored.map((f) => f.fact).sort()).toEqual(Object.values(texts).sort());
    expect(stored.every((f) => f.source === STORE_SOURCE && f.sessionId === store.sessionIdFor(["prefs", "u1"]))).toBe(true);
  });

  it("filters before ranking, and ranks across the namespaces under a prefix", async () => {
    await store.put(["prefs", "u2"], "tea", { text: "Drinks green tea every morning", kind: "habit" });
    await store.put(["prefs", "u2"], "run", { text: "Runs ten kilometres on Sundays", kind: "habit" });
    const both = await store.search(["prefs"], { query: "a hot drink in the morning", limit: 3 });
    expect(keys(both)[0]).toBe("tea");
    expect(both[0].namespace).toEqual(["prefs", "u2"]);
    const habits = await store.search(["prefs"], { query: "hazelnut allergy", filter: { kind: "habit" } });
    expect(keys(habits).sort()).toEqual(["run", "tea"]);
  });

  it("keeps near-identical items apart, re-embeds a changed text and forgets a deleted item", async () => {
    const ns = ["dups"];
    await store.put(ns, "a", { text: "Likes green tea" });
    await store.put(ns, "b", { text: "Likes green tea." });
    expect(keys(await store.search(ns, { query: "green tea", limit: 2 })).sort()).toEqual(["a", "b"]);
    const before = (await store.client.readState(store.sessionIdFor(ns))).scopes.shared.items.a.m;
    // the same text again keeps its fact; another text replaces it
    await store.put(ns, "a", { text: "Likes green tea" });
    expect((await store.client.readState(store.sessionIdFor(ns))).scopes.shared.items.a.m).toEqual(before);
    await store.put(ns, "a", { text: "Collects vintage fountain pens" });
    expect(keys(await store.search(ns, { query: "pens and ink", limit: 1 }))).toEqual(["a"]);
    expect((await facts(ns)).map((f) => f.fact).sort()).toEqual(["Collects vintage fountain pens", "Likes green tea."]);
    await store.delete(ns, "b");
    expect(keys(await store.search(ns, { query: "green tea" }))).toEqual(["a"]);
    expect((await facts(ns)).map((f) => f.fact)).toEqual(["Collects vintage fountain pens"]);
    const types = (await store.client.readTimeline(store.sessionIdFor(ns)))
      .filter((e) => e.outcome === "accepted")
      .map((e) => e.event.type);
    expect(types.filter((t) => t === "agentstate.memory.recorded")).toHaveLength(3);
    expect(types.filter((t) => t === "agentstate.memory.forgotten")).toHaveLength(2);
  });

  it("writes a batch too large for one atomic write in parts, each item with its facts", async () => {
    const ns = ["many"];
    const ops = Array.from({ length: 120 }, (_, i) => ({ namespace: ns, key: `k${i}`, value: { text: `Fact number ${i} about item ${i}` } }));
    await store.batch(ops);
    const items = (await store.client.readState(store.sessionIdFor(ns))).scopes.shared.items;
    expect(Object.keys(items)).toHaveLength(120);
    const stored = await facts(ns);
    expect(stored).toHaveLength(120);
    // every item names the fact recorded with it, and no fact is left without its item
    const ids = new Set(stored.map((f) => f.memoryId));
    expect(Object.values(items).every((item) => item.m.length === 1 && ids.has(item.m[0]))).toBe(true);
    const byFact = new Map(stored.map((f) => [f.memoryId, f.fact]));
    expect(Object.entries(items).every(([key, item]) => byFact.get(item.m[0]) === `Fact number ${key.slice(1)} about item ${key.slice(1)}`)).toBe(true);
    const found = await store.search(ns, { query: "Fact number 77 about item 77", limit: 1 });
    expect(found.map((i) => i.key)).toEqual(["k77"]);
  });

  it("stores what the service cannot hold as a fact, ranks nothing for a blank query, and refuses a bad timeout", async () => {
    const ns = ["odd"];
    await store.put(ns, "nul", { text: "a null \u0000 and a lone \uD800 surrogate in a note about kayaks" });
    expect((await store.get(ns, "nul")).value.text).toBe("a null \u0000 and a lone \uD800 surrogate in a note about kayaks");
    expect((await facts(ns))[0].fact).toBe("a null \uFFFD and a lone \uFFFD surrogate in a note about kayaks");
    expect((await store.search(ns, { query: "kayaks" }))[0].score).toBeGreaterThan(0);
    expect((await store.search(ns, { query: "   " }))[0].score).toBeUndefined();
    expect((await store.search(ns, { query: "kayak ".repeat(1000) }))[0].key).toBe("nul");
    expect(() => new AgentStateStore({ ...serviceOptions(), index: true, indexTimeoutMs: "5000" })).toThrow(/indexTimeoutMs/);
  });

  it("lists an item put with index: false after the ranked ones, without a score", async () => {
    const ns = ["mixed"];
    await store.put(ns, "plain", { text: "Owns a red bicycle" }, false);
    await store.put(ns, "indexed", { text: "Owns a blue kayak" });
    const found = await store.search(ns, { query: "bicycle" });
    expect(keys(found)).toEqual(["indexed", "plain"]);
    expect(typeof found[0].score).toBe("number");
    expect(found[1].score).toBeUndefined();
    expect(await facts(ns)).toHaveLength(1);
  });
});
