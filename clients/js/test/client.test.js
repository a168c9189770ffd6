/**
 * The HTTP client against a live agent-state service (AGENT_STATE_URL): erasures
 * carry an Idempotency-Key kept across retries, a 202 is polled until decided,
 * and an undecided write is reported as pending with its key. The fetch given
 * to the client passes every request to the service; some tests drop an answer
 * (as a lost connection would) or answer 202 in its place.
 */
import { AgentStateClient, AgentStateError } from "../src/index.js";
import { serviceOptions } from "./helpers.js";
import { randomText } from "./agents-helpers.js";

serviceOptions();

const prefix = `cl-${randomText()}-`;
const note = (text) => ({ source: "agent://agent-state-js-test", type: "dev.agentstate.test.note", data: { text } });
const accepted = (entries) => entries.filter((e) => e.outcome === "accepted").map((e) => e.event.data?.text);

describe("AgentStateClient", () => {
  const plain = new AgentStateClient(serviceOptions());
  const used = new Set();
  const sessionId = () => {
    const id = `${prefix}${randomText(12)}`;
    used.add(id);
    return id;
  };
  afterAll(async () => {
    for (const id of used) await plain.deleteSession(id);
  });

  it("keeps an erasure's Idempotency-Key across retries, so a retry never erases a new life", async () => {
    const id = sessionId();
    await plain.appendEvent(id, `note-${randomText()}`, note("before"));
    const keys = [];
    let dropAnswer = true;
    const client = new AgentStateClient({
      ...serviceOptions(),
      fetch: async (url, init) => {
        if (init?.method === "DELETE") keys.push(init.headers["Idempotency-Key"]);
        const res = await fetch(url, init);
        if (init?.method === "DELETE" && dropAnswer) {
          // The erasure happened but its answer is lost; the session starts a new life before the retry.
          dropAnswer = false;
          await res.body?.cancel();
          await plain.appendEvent(id, `note-${randomText()}`, note("new life"));
          return new Response(null, { status: 503 });
        }
        return res;
      },
    });
    await client.deleteSession(id);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^erase-[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(accepted(await plain.readTimeline(id))).toEqual(["new life"]);
  });

  it("polls an erasure answered 202 until it is decided", async () => {
    const id = sessionId();
    await plain.appendEvent(id, `note-${randomText()}`, note("to erase"));
    /** @type {Promise<unknown> | undefined} */
    let sent;
    const client = new AgentStateClient({
      ...serviceOptions(),
      fetch: async (url, init) => {
        if (init?.method === "DELETE") {
          // Undecided for now: the erasure reaches the service only a little later.
          sent = new Promise((resolve) => setTimeout(resolve, 800)).then(async () => {
            const res = await fetch(url, init);
            await res.body?.cancel();
            return res.status;
          });
          return new Response(null, { status: 202 });
        }
        return fetch(url, init);
      },
    });
    await client.deleteSession(id);
    // Resolved only once the service decided: the session is gone.
    expect(await plain.readTimeline(id)).toEqual([]);
    expect(await sent).toBe(204);
  });

  it("reports an erasure still undecided after the timeout as pending, with its key", async () => {
    const id = sessionId();
    await plain.appendEvent(id, `note-${randomText()}`, note("kept"));
    const client = new AgentStateClient({
      ...serviceOptions(),
      pendingTimeoutMs: 1000,
      fetch: async (url, init) => (init?.method === "DELETE" ? new Response(null, { status: 202 }) : fetch(url, init)),
    });
    const error = await client.deleteSession(id).then(() => undefined, (err) => err);
    expect(error).toBeInstanceOf(AgentStateError);
    expect(error.pending).toBe(true);
    expect(error.eventId).toMatch(/^erase-/);
    expect(accepted(await plain.readTimeline(id))).toEqual(["kept"]);
    // The same erasure, repeated under its key, completes it.
    await plain.deleteSession(id, { idempotencyKey: error.eventId });
    expect(await plain.readTimeline(id)).toEqual([]);
  });

  it("reports an append still undecided after the timeout as pending, with its key", async () => {
    const id = sessionId();
    const client = new AgentStateClient({
      ...serviceOptions(),
      pendingTimeoutMs: 1000,
      fetch: async (url, init) =>
        init?.method === "POST"
          ? new Response(JSON.stringify({ outcome: "pending" }), { status: 202, headers: { "Content-Type": "application/json" } })
          : fetch(url, init),
    });
    const key = `batch-${randomText()}`;
    const error = await client.appendBatch(id, key, [note("a"), note("b")]).then(() => undefined, (err) => err);
    expect(error).toBeInstanceOf(AgentStateError);
    expect(error.pending).toBe(true);
    expect(error.eventId).toBe(`${key}:0`);
    expect(error.idempotencyKey).toBe(key);
    expect(error.message).toMatch(/may still be applied/);
  });

  it("refuses ids a URL path would collapse", async () => {
    await expect(plain.readTimeline(".")).rejects.toThrow(/cannot be addressed/);
    await expect(plain.deleteSession("..")).rejects.toThrow(/cannot be addressed/);
  });
});
