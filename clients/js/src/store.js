import { createHash, randomUUID } from "node:crypto";
import { BaseStore, InvalidNamespaceError, getTextAtPath, validateNamespace } from "@langchain/langgraph-checkpoint";
import {
  AgentStateClient,
  AgentStateError,
  ID_PATTERN,
  MAX_BATCH_BODY_BYTES,
  MAX_BATCH_EVENTS,
  assertStorableText,
} from "./client.js";

/** The source of the store's events. */
export const STORE_SOURCE = "agent://langgraph-store";

const MAX_ID_LENGTH = 128;
const NAMED = "n.";
const HASHED = "h.";
const SCOPE = "shared";
const MAX_ATTEMPTS = 30;
/** The longest fact the service takes (`agentstate.memory.recorded`). */
const MAX_FACT_CHARS = 20000;
/** The most facts a search ranks per namespace (the service's largest page by default). */
const MAX_RANKED = 1000;
/** The longest query the service ranks by. */
const MAX_QUERY_CHARS = 2000;
/** The most texts of one item that are indexed, so that one item's old and new facts always fit one atomic batch. */
const MAX_TEXTS_PER_ITEM = 48;
/** The most UTF-8 bytes of one item's indexed texts (the rest are not indexed), for the same reason. */
const MAX_TEXT_BYTES_PER_ITEM = 768 * 1024;

/**
 * A text the service can store as a fact: cut to at most `max` UTF-16 units
 * without splitting a surrogate pair, U+0000 and unpaired surrogates replaced
 * by U+FFFD (the value itself keeps them: it is stored as escaped JSON).
 */
function storable(text, max) {
  let out = text.length <= max ? text : text.slice(0, /[\uD800-\uDBFF]/.test(text[max - 1]) ? max - 1 : max);
  out = out.toWellFormed();
  return out.includes("\u0000") ? out.replaceAll("\u0000", "\uFFFD") : out;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A namespace label in the session-id alphabet: letters, digits, `_` and `-`
 * as they are, any other UTF-8 byte as `@xx`. Labels never hold `.`, which
 * joins them.
 *
 * @param {string} label
 */
function encodeLabel(label) {
  let out = "";
  for (const byte of Buffer.from(label, "utf8")) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(ch) ? ch : `@${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/** @param {string} encoded @returns {string | null} null when it is not this encoding */
function decodeLabel(encoded) {
  const bytes = [];
  for (let i = 0; i < encoded.length; i += 1) {
    if (encoded[i] === "@") {
      if (!/^[0-9a-f]{2}$/.test(encoded.slice(i + 1, i + 3))) return null;
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(encoded.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** The operators of LangGraph's store filters, with `InMemoryStore`'s meaning. */
function matches(itemValue, filterValue) {
  const operators = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin"];
  if (typeof filterValue === "object" && filterValue !== null && Object.keys(filterValue).every((k) => operators.includes(k))) {
    return Object.entries(filterValue).every(([op, value]) => {
      switch (op) {
        case "$eq": return itemValue === value;
        case "$ne": return itemValue !== value;
        case "$gt": return Number(itemValue) > Number(value);
        case "$gte": return Number(itemValue) >= Number(value);
        case "$lt": return Number(itemValue) < Number(value);
        case "$lte": return Number(itemValue) <= Number(value);
        case "$in": return Array.isArray(value) ? value.includes(itemValue) : false;
        case "$nin": return Array.isArray(value) ? !value.includes(itemValue) : true;
        default: return false;
      }
    });
  }
  return itemValue === filterValue;
}

/** Whether a namespace meets a `listNamespaces` match condition (`*` matches any label). */
function meets(condition, namespace) {
  const { matchType, path } = condition;
  if (path.length > namespace.length) return false;
  const offset = matchType === "suffix" ? namespace.length - path.length : 0;
  if (matchType !== "prefix" && matchType !== "suffix") throw new Error(`Unsupported match type: ${matchType}`);
  return path.every((label, i) => label === "*" || namespace[offset + i] === label);
}

/**
 * @typedef {object} AgentStateStoreOptions
 * @property {string | URL} baseUrl   agent-state base URL, e.g. http://localhost:8080
 * @property {string} [apiKey]        sent as `X-API-Key`
 * @property {string} [token]         sent as `Authorization: Bearer …`
 * @property {string} [sessionPrefix] prefix of every session id (default "lgs-")
 * @property {typeof fetch} [fetch]
 * @property {number} [maxRetries]
 * @property {number} [requestTimeoutMs]
 * @property {number} [pendingTimeoutMs]
 * @property {false | true | { fields?: string[] }} [index] semantic search:
 *   each put's text at `fields` (LangGraph paths, default `["$"]`, the whole
 *   value) is recorded as a fact that the service embeds; `search` with a
 *   `query` ranks by it. An `embeddings` or `dims` given (LangGraph's
 *   IndexConfig) is ignored: the service's model embeds. Default off.
 * @property {number} [indexTimeoutMs] how long a `search` with a query waits
 *   for facts not embedded yet (default 10,000 ms, for the whole search);
 *   then it ranks the facts that are embedded
 */

/**
 * A LangGraph `BaseStore` (long-term memory across threads) on agent-state:
 * each namespace is a session, each item a field of its `shared` scope
 * (`items.<key>` = `{v: JSON text of the value, c: createdAt, u: updatedAt}`),
 * written by `agentstate.state.patched` events conditional on the version
 * read, so concurrent writers never lose each other's items. Encrypted,
 * tenant-scoped, versioned and audited like every session; the timeline shows
 * every put and delete.
 *
 * Without `index`, behaves as `InMemoryStore` without one: `search` filters
 * and pages, its `query` ranks nothing (scores are undefined). With `index`,
 * each indexed text of an item is also a long-term fact of the service
 * (`agentstate.memory.recorded`, `distinct`, user id = the namespace's session
 * id), written in the same atomic batch as the item, and `search` with a
 * `query` ranks by the service's similarity search, as `InMemoryStore` with an
 * index ranks by its vectors.
 */
export class AgentStateStore extends BaseStore {
  /** @param {AgentStateStoreOptions} options */
  constructor(options) {
    super();
    const { sessionPrefix = "lgs-", index = false, indexTimeoutMs = 10_000 } = options ?? {};
    if (typeof sessionPrefix !== "string" || !/^[A-Za-z0-9._:@-]{0,64}$/.test(sessionPrefix)) {
      throw new Error(`AgentStateStore: sessionPrefix ${JSON.stringify(sessionPrefix)} may only use [A-Za-z0-9._:@-], at most 64`);
    }
    /** Prefix of every session id this store uses. */
    this.sessionPrefix = sessionPrefix;
    /** The HTTP client; it takes baseUrl, apiKey, token, fetch and the timeouts. */
    this.client = new AgentStateClient(options);
    if (index !== false && index !== true && (typeof index !== "object" || index === null)) {
      throw new Error("AgentStateStore: index is false, true or { fields: [...] }");
    }
    const fields = index === true ? ["$"] : index ? (index.fields ?? ["$"]) : null;
    if (fields !== null && (!Array.isArray(fields) || fields.some((f) => typeof f !== "string" || f.length === 0))) {
      throw new Error("AgentStateStore: index.fields is an array of paths such as \"$\", \"text\" or \"tags[*]\"");
    }
    /** The indexed paths, or null without an index. */
    this.indexFields = fields;
    if (typeof indexTimeoutMs !== "number" || !Number.isFinite(indexTimeoutMs) || indexTimeoutMs < 0) {
      throw new Error("AgentStateStore: indexTimeoutMs is a number of milliseconds, 0 or more");
    }
    this.indexTimeoutMs = indexTimeoutMs;
  }

  /**
   * The texts of a value that are embedded: at the op's own `index` paths, or
   * the store's; none when the op says `index: false` or the store has no index.
   */
  #texts(op) {
    // as InMemoryStore: a store without an index embeds nothing, whatever a put asks
    if (op.value === null || op.index === false || this.indexFields === null) return [];
    const paths = Array.isArray(op.index) ? op.index : this.indexFields;
    const texts = [];
    let bytes = 0;
    for (const path of paths) {
      for (const text of getTextAtPath(op.value, path)) {
        if (typeof text !== "string" || text.trim() === "") continue;
        const fact = storable(text, MAX_FACT_CHARS);
        bytes += Buffer.byteLength(fact, "utf8");
        // beyond the per-item budget a text is not indexed (the item is stored whole all the same)
        if (texts.length >= MAX_TEXTS_PER_ITEM || bytes > MAX_TEXT_BYTES_PER_ITEM) return texts;
        texts.push(fact);
      }
    }
    return texts;
  }

  /**
   * The session that holds a namespace: `<prefix>n.<label>.<label>…` (labels
   * escaped into the session-id alphabet), or `<prefix>h.<sha256>` when that
   * is longer than a session id may be.
   *
   * @param {string[]} namespace
   */
  sessionIdFor(namespace) {
    const named = `${this.sessionPrefix}${NAMED}${namespace.map(encodeLabel).join(".")}`;
    if (named.length <= MAX_ID_LENGTH && ID_PATTERN.test(named)) return named;
    const digest = createHash("sha256").update(namespace.join("\u0000"), "utf8").digest("hex").slice(0, 40);
    return `${this.sessionPrefix}${HASHED}${digest}`;
  }

  /** @param {import("@langchain/langgraph-checkpoint").Operation[]} operations */
  async batch(operations) {
    /** @type {Map<string, Promise<any>>} states read in this batch, by session id */
    const reads = new Map();
    const read = (sessionId) => {
      if (!reads.has(sessionId)) reads.set(sessionId, this.client.readState(sessionId));
      return reads.get(sessionId);
    };
    /** @type {Map<string, { namespace: string[], ops: Map<string, any> }>} */
    const puts = new Map();
    const results = [];
    for (const op of operations) {
      if ("namespace" in op) {
        validateNamespace(op.namespace, { allowReservedRoot: true });
        // a label the service cannot store (an unpaired surrogate, U+0000) would read as another label's namespace
        op.namespace.forEach((label) => assertStorableText("AgentStateStore: namespace label", label));
      }
      if ("namespacePrefix" in op) {
        op.namespacePrefix.forEach((label) => assertStorableText("AgentStateStore: namespace label", label));
      }
      if ("namespacePrefix" in op) {
        results.push(await this.#search(op, read));
      } else if ("matchConditions" in op || (!("namespace" in op) && !("key" in op))) {
        results.push(await this.#listNamespaces(op, read));
      } else if ("value" in op) {
        if (op.value !== null && (typeof op.value !== "object" || Array.isArray(op.value))) {
          throw new TypeError(`AgentStateStore: the value of ${op.key} must be an object or null`);
        }
        assertStorableText("AgentStateStore: key", op.key);
        const sessionId = this.sessionIdFor(op.namespace);
        if (!puts.has(sessionId)) puts.set(sessionId, { namespace: op.namespace, ops: new Map() });
        puts.get(sessionId).ops.set(op.key, op);
        results.push(null);
      } else {
        const state = await read(this.sessionIdFor(op.namespace));
        results.push(this.#item(op.namespace, op.key, state));
      }
    }
    // writes land after the reads of the batch, as in InMemoryStore; the last put of a key wins
    for (const [sessionId, { namespace, ops }] of puts) await this.#write(sessionId, namespace, [...ops.values()]);
    return results;
  }

  /** @returns {import("@langchain/langgraph-checkpoint").Item | null} */
  #item(namespace, key, state) {
    const items = state?.scopes?.[SCOPE]?.items;
    const stored = items && Object.prototype.hasOwnProperty.call(items, key) ? items[key] : undefined;
    if (!stored || typeof stored.v !== "string") return null;
    return { namespace, key, value: JSON.parse(stored.v), createdAt: new Date(stored.c), updatedAt: new Date(stored.u) };
  }

  // In the order the keys were first put (each item keeps its sequence number `s`): a JSON object's integer-like keys
  // would otherwise come first.
  #items(namespace, state) {
    const items = state?.scopes?.[SCOPE]?.items ?? {};
    return Object.keys(items)
      .sort((a, b) => (items[a]?.s ?? 0) - (items[b]?.s ?? 0))
      .map((key) => this.#item(namespace, key, state))
      .filter((item) => item !== null);
  }

  // One conditional write per namespace: read its version, patch its items, retry on a lost race.
  async #write(sessionId, namespace, ops) {
    for (let attempt = 0; ; attempt += 1) {
      const state = await this.client.readState(sessionId);
      const now = new Date().toISOString();
      const current = state?.scopes?.[SCOPE]?.items ?? {};
      const existing = (key) => (Object.prototype.hasOwnProperty.call(current, key) ? current[key] : undefined);
      let next = Math.max(0, ...Object.values(current).map((item) => item?.s ?? 0)) + 1;
      // no prototype: a key such as "__proto__" is a key like any other
      /** @type {Record<string, unknown>} */
      const items = Object.create(null);
      const facts = new FactPlan(sessionId);
      for (const op of ops) {
        const before = existing(op.key);
        if (op.value === null) {
          if (before) items[op.key] = null;
          facts.forget(before?.m);
        } else {
          const item = { v: JSON.stringify(op.value), c: before?.c ?? now, u: now, s: before?.s ?? next++ };
          const texts = this.#texts(op);
          if (texts.length > 0) {
            const digest = createHash("sha256").update(JSON.stringify(texts), "utf8").digest("hex").slice(0, 32);
            // the same texts keep their facts: nothing to embed again
            if (before?.x === digest && Array.isArray(before?.m)) {
              item.m = before.m;
            } else {
              facts.forget(before?.m);
              item.m = texts.map((text) => facts.record(text));
            }
            item.x = digest;
          } else {
            facts.forget(before?.m);
          }
          items[op.key] = item;
        }
      }
      if (Object.keys(items).length === 0) return;
      if (!facts.fits() && ops.length > 1) {
        // the patch and its facts must be one atomic batch: write the ops in two halves, each its own conditional write
        const half = Math.ceil(ops.length / 2);
        await this.#write(sessionId, namespace, ops.slice(0, half));
        await this.#write(sessionId, namespace, ops.slice(half));
        return;
      }
      // the namespace is written with every patch that finds it missing, so a hashed session can always be listed
      const patch = state?.scopes?.[SCOPE]?.namespace ? { items } : { namespace, items };
      const patched = { source: STORE_SOURCE, type: "agentstate.state.patched", data: { scope: SCOPE, patch } };
      try {
        if (facts.empty()) {
          await this.client.appendEvent(sessionId, `lgs-${randomUUID()}`, patched, { ifMatch: state?.version ?? 0 });
        } else {
          // the patch and its facts in one atomic, conditional batch: an item and its facts never part
          await this.client.appendBatch(sessionId, facts.key, [patched, ...facts.events], { ifMatch: state?.version ?? 0 });
        }
        return;
      } catch (err) {
        // a conflict is a 409, or a decision polled after a 202 whose outcome is conflict
        const conflict = err instanceof AgentStateError && (err.status === 409 || err.problem?.outcome === "conflict");
        if (!conflict || attempt + 1 >= MAX_ATTEMPTS) throw err;
        // another writer took the version: read again after a short, jittered pause
        await new Promise((resolve) => setTimeout(resolve, Math.min(20 * (attempt + 1), 200) * Math.random()));
      }
    }
  }

  // Every namespace of this store, with its session id, sorted as InMemoryStore sorts them.
  async #namespaces(read) {
    const ids = await this.client.listSessionIds(this.sessionPrefix);
    const found = [];
    for (const id of ids) {
      const rest = id.slice(this.sessionPrefix.length);
      if (rest.startsWith(NAMED)) {
        const namespace = rest.slice(NAMED.length).split(".").map(decodeLabel);
        // a session under the prefix that this store did not name is not one of its namespaces
        if (namespace.every((label) => label !== null) && this.sessionIdFor(namespace) === id) found.push({ id, namespace });
      } else if (rest.startsWith(HASHED)) {
        const namespace = (await read(id))?.scopes?.[SCOPE]?.namespace;
        if (Array.isArray(namespace)) found.push({ id, namespace });
      }
    }
    return found.sort((a, b) => a.namespace.join(":").localeCompare(b.namespace.join(":")));
  }

  async #search(op, read) {
    validateNamespace(op.namespacePrefix, { allowEmpty: true, allowReservedRoot: true });
    const prefix = op.namespacePrefix;
    const offset = op.offset ?? 0;
    const limit = op.limit ?? 10;
    // a blank query ranks nothing (the service refuses it); a long one is cut to what the service takes
    const query = typeof op.query === "string" ? storable(op.query, MAX_QUERY_CHARS) : "";
    const ranked = query.trim() !== "" && this.indexFields !== null;
    /** @type {{ item: any, facts: string[], sessionId: string }[]} */
    const candidates = [];
    for (const { id, namespace } of await this.#namespaces(read)) {
      if (prefix.some((label, i) => namespace[i] !== label)) continue;
      const state = await read(id);
      const stored = state?.scopes?.[SCOPE]?.items ?? {};
      for (const item of this.#items(namespace, state)) {
        if (!op.filter || Object.entries(op.filter).every(([field, wanted]) => matches(item.value[field], wanted))) {
          const facts = Array.isArray(stored[item.key]?.m) ? stored[item.key].m : [];
          candidates.push({ item: { ...item, score: undefined }, facts, sessionId: id });
        }
      }
    }
    if (!ranked) return candidates.slice(offset, offset + limit).map((c) => c.item);
    // each namespace's facts ranked by the service; an item scores as its best fact, as in InMemoryStore
    const scores = new Map();
    const deadline = Date.now() + this.indexTimeoutMs;
    for (const sessionId of new Set(candidates.filter((c) => c.facts.length > 0).map((c) => c.sessionId))) {
      for (const fact of await this.#rank(sessionId, query, deadline)) {
        scores.set(fact.memoryId, Math.max(scores.get(fact.memoryId) ?? -Infinity, fact.score));
      }
    }
    const scored = [];
    const scoreless = [];
    for (const candidate of candidates) {
      const best = Math.max(...candidate.facts.map((id) => scores.get(id) ?? -Infinity));
      if (best === -Infinity) scoreless.push(candidate.item);
      else scored.push({ ...candidate.item, score: best });
    }
    // a stable sort: equal scores keep the namespaces' order
    scored.sort((a, b) => b.score - a.score);
    const kept = scored.slice(offset, offset + limit);
    // items without a vector come after the ranked ones, as InMemoryStore lists them
    return kept.length < limit ? [...kept, ...scoreless.slice(0, limit - kept.length)] : kept;
  }

  // The facts of one namespace ranked by similarity to the query, waiting (until the deadline) for those not embedded.
  async #rank(sessionId, query, deadline) {
    const path = `/users/${encodeURIComponent(sessionId)}/memories`;
    for (let pause = 25; ; pause = Math.min(pause * 2, 500)) {
      const res = await this.client.request("GET", path, { query: { query, limit: MAX_RANKED } });
      if (res.status !== 200) {
        const problem = await res.json().catch(() => null);
        throw new AgentStateError(`searching the facts of ${sessionId} answered ${res.status}: ${problem?.detail ?? ""}`, {
          status: res.status,
          problem,
        });
      }
      const found = await res.json();
      const unindexed = Number(res.headers.get("Memory-Unindexed") ?? "0");
      if (unindexed === 0 || Date.now() >= deadline) return found;
      await sleep(pause);
    }
  }

  async #listNamespaces(op, read) {
    let namespaces = (await this.#namespaces(read)).map((n) => n.namespace);
    if (op.matchConditions?.length) namespaces = namespaces.filter((ns) => op.matchConditions.every((c) => meets(c, ns)));
    if (op.maxDepth !== undefined) {
      const seen = new Set();
      namespaces = namespaces.map((ns) => ns.slice(0, op.maxDepth)).filter((ns) => {
        const key = ns.join("\u0000");
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      namespaces.sort((a, b) => a.join(":").localeCompare(b.join(":")));
    }
    const offset = op.offset ?? 0;
    return namespaces.slice(offset, offset + (op.limit ?? namespaces.length));
  }
}

/**
 * The memory events of one write: the facts it forgets and records, sent in
 * one atomic batch after the patch. A recorded fact's id is the id its event
 * gets in that batch (`<key>:<index>`, the patch at index 0), so the patch
 * can name it before it is sent.
 */
class FactPlan {
  /** @param {string} userId the namespace's session id */
  constructor(userId) {
    this.userId = userId;
    /** @type {{ source: string, type: string, data: any }[]} */
    this.events = [];
    this.key = `lgm-${randomUUID()}`;
    // the patch is at most one event of 256 KiB; the rest of the body is the facts
    this.bytes = 256 * 1024;
  }

  empty() {
    return this.events.length === 0;
  }

  /** Whether the patch and these events fit one atomic batch (one Kafka record). */
  fits() {
    return this.events.length + 1 <= MAX_BATCH_EVENTS && this.bytes <= MAX_BATCH_BODY_BYTES;
  }

  /** @param {unknown} ids the facts of an item's earlier value */
  forget(ids) {
    if (!Array.isArray(ids)) return;
    for (const memoryId of ids) {
      this.#add({ source: STORE_SOURCE, type: "agentstate.memory.forgotten", data: { userId: this.userId, memoryId } });
    }
  }

  /** @param {string} fact @returns {string} the id the fact will have */
  record(fact) {
    return this.#add({
      source: STORE_SOURCE,
      type: "agentstate.memory.recorded",
      data: { userId: this.userId, fact, tags: ["langgraph-store"], distinct: true },
    });
  }

  #add(event) {
    this.events.push(event);
    // the event as sent, the id the patch names, and the envelope the service adds
    this.bytes += Buffer.byteLength(JSON.stringify(event), "utf8") + 512;
    return `${this.key}:${this.events.length}`;
  }
}

export { InvalidNamespaceError };
