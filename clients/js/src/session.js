/**
 * An OpenAI Agents SDK (`@openai/agents-core`) `Session` that keeps a
 * conversation's items in one agent-state session, as custom events:
 *
 * - `dev.openai.agents.items.added`        `{items}`: items appended, in order
 * - `dev.openai.agents.item.popped`        `{itemSeq}`: the item with that sequence number removed
 * - `dev.openai.agents.cleared`            `{}`: every item removed (the events stay, for audit)
 * - `dev.openai.agents.history.transaction` `{operationId, kind, fingerprint, itemCount, expectedSuffix?}`:
 *   the head of a history transaction; its items follow in the same atomic batch as
 *   `items.added` events carrying the same `operationId`
 *
 * The items are a fold of these events in version order. Every item gets a
 * sequence number (0, 1, 2, … in the order it was added, never reused), which
 * is what a pop names.
 *
 * Nothing here imports `@openai/agents-core`: the `Session` interface is
 * structural, so this module only needs `fetch` and `node:crypto`.
 *
 * @module
 */

import { createHash, randomUUID } from "node:crypto";
import {
  AgentStateClient,
  AgentStateError,
  MAX_ARRAY_ELEMENTS,
  MAX_BATCH_BODY_BYTES,
  MAX_BATCH_EVENTS,
  MAX_EVENT_BYTES,
  MAX_EVENT_DEPTH,
  assertStorableText,
  isStorableText,
} from "./client.js";

/** CloudEvent type of appended items. */
export const ITEMS_ADDED_EVENT_TYPE = "dev.openai.agents.items.added";
/** CloudEvent type of a popped item. */
export const ITEM_POPPED_EVENT_TYPE = "dev.openai.agents.item.popped";
/** CloudEvent type of a cleared session. */
export const CLEARED_EVENT_TYPE = "dev.openai.agents.cleared";
/** CloudEvent type of the head of a history transaction. */
export const HISTORY_TRANSACTION_EVENT_TYPE = "dev.openai.agents.history.transaction";
/** CloudEvent source of every event the session appends. */
export const AGENTS_EVENT_SOURCE = "agent://openai-agents";

const SAFE_SESSION_ID = /^[A-Za-z0-9._:@-]+$/;
const HASHED_SESSION_ID = /^h\.[0-9a-f]{40}$/;
const SESSION_PREFIX = /^[A-Za-z0-9._:@-]*$/;
const MAX_ID_LENGTH = 128;
/** `h.` + 40 hex characters. */
const HASHED_LENGTH = 42;

/** What one event of ours may weigh as we send it: room is left for the fields the service adds. */
const EVENT_BUDGET_BYTES = MAX_EVENT_BYTES - 12 * 1024;
/**
 * An atomic batch is one Kafka record, limited to 2 MiB (`max.request.size`),
 * not by the 4 MiB HTTP body limit: stay 64 KiB under it.
 */
const BODY_BUDGET_BYTES = MAX_BATCH_BODY_BYTES;
/** The service refuses arrays of more than 10,000 elements; keep each event's item list well under. */
const MAX_ITEMS_PER_EVENT = 1000;
/**
 * Nesting an item may have, the item itself counting as level 1: the service
 * counts the envelope (1), `data` (2) and `data.items` (3) above it.
 */
const MAX_ITEM_DEPTH = MAX_EVENT_DEPTH - 3;

/** @param {string} text */
function sha256Hex(text) {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** @param {unknown} value */
function isPlainObject(value) {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A JSON copy of a value, refusing what JSON would change or lose (binary
 * data, dates, class instances, non-finite numbers, functions, cycles) and
 * what the service would refuse with a 400 for the whole request (strings or
 * keys with U+0000 or an unpaired surrogate, nesting deeper than
 * {@link MAX_ITEM_DEPTH}, arrays over 10,000 elements).
 * Properties whose value is `undefined` are left out, as `JSON.stringify` does.
 *
 * @param {unknown} value
 * @param {string} path for the error message
 * @param {Set<object>} ancestors
 * @param {number} [depth] nesting level of `value` (the item is 1)
 * @returns {unknown}
 */
function jsonCopy(value, path, ancestors, depth = 1) {
  if (typeof value === "string") {
    if (!isStorableText(value)) {
      throw new TypeError(
        `${path} holds U+0000 or an unpaired UTF-16 surrogate, which the agent-state service refuses (400)`
      );
    }
    return value;
  }
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`${path} is ${value}, which JSON cannot hold`);
    return value;
  }
  if (typeof value !== "object") {
    throw new TypeError(`${path} is a ${typeof value}, which JSON cannot hold`);
  }
  if (ancestors.has(value)) throw new TypeError(`${path} is a cyclic reference`);
  if (depth > MAX_ITEM_DEPTH) {
    throw new TypeError(
      `${path} is nested ${depth} levels deep in its item; the agent-state service refuses events nested deeper ` +
        `than ${MAX_EVENT_DEPTH} levels, which leaves ${MAX_ITEM_DEPTH} to an item (the item itself counting as 1)`
    );
  }
  if (Array.isArray(value)) {
    if (value.length > MAX_ARRAY_ELEMENTS) {
      throw new TypeError(
        `${path} has ${value.length} elements; the agent-state service refuses arrays over ${MAX_ARRAY_ELEMENTS}`
      );
    }
    ancestors.add(value);
    try {
      const copy = [];
      for (let i = 0; i < value.length; i += 1) {
        const entry = value[i];
        if (entry === undefined) throw new TypeError(`${path}[${i}] is undefined, which JSON cannot hold`);
        copy.push(jsonCopy(entry, `${path}[${i}]`, ancestors, depth + 1));
      }
      return copy;
    } finally {
      ancestors.delete(value);
    }
  }
  if (!isPlainObject(value)) {
    const kind = ArrayBuffer.isView(value) || value instanceof ArrayBuffer ? "binary data" : "not a plain object";
    throw new TypeError(
      `${path} is ${kind} (${Object.prototype.toString.call(value)}), which JSON cannot hold; ` +
        "pass binary content as a base64 string or a data URL"
    );
  }
  ancestors.add(value);
  try {
    /** @type {Record<string, unknown>} */
    const copy = {};
    for (const key of Object.keys(value)) {
      const entry = /** @type {any} */ (value)[key];
      if (entry === undefined) continue;
      if (!isStorableText(key)) {
        throw new TypeError(
          `${path} has a key ${JSON.stringify(key)} with U+0000 or an unpaired UTF-16 surrogate, which the ` +
            "agent-state service refuses (400)"
        );
      }
      const child = jsonCopy(entry, `${path}.${key}`, ancestors, depth + 1);
      if (key === "__proto__") {
        Object.defineProperty(copy, key, { value: child, enumerable: true, writable: true, configurable: true });
      } else {
        copy[key] = child;
      }
    }
    return copy;
  } finally {
    ancestors.delete(value);
  }
}

/**
 * JSON copies of session items; each must be a plain object.
 * @param {unknown} items
 * @param {string} what
 * @returns {any[]}
 */
function jsonItems(items, what) {
  if (!Array.isArray(items)) throw new TypeError(`${what} must be an array of items`);
  return items.map((item, i) => {
    if (!isPlainObject(item)) throw new TypeError(`${what}[${i}] must be a plain object (an AgentInputItem)`);
    return jsonCopy(item, `${what}[${i}]`, new Set());
  });
}

/**
 * JSON with object keys sorted, for fingerprints: two values that are
 * structurally equal (whatever their key order) give the same text.
 * @param {unknown} value a JSON value
 * @returns {string}
 */
function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(/** @type {any} */ (value)[key])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** @param {unknown[]} items */
function itemsDigest(items) {
  return sha256Hex(canonicalJson(items));
}

/** @param {string} text */
function utf8Length(text) {
  return Buffer.byteLength(text, "utf8");
}

/**
 * @param {number} ms
 */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** @param {unknown} err */
function isVersionConflict(err) {
  return (
    err instanceof AgentStateError &&
    (err.status === 409 || (err.problem && typeof err.problem === "object" && err.problem.outcome === "conflict"))
  );
}

/** @param {unknown} err */
function isKeyReused(err) {
  if (!(err instanceof AgentStateError) || err.status !== 422) return false;
  const type = err.problem && typeof err.problem === "object" ? String(err.problem.type ?? "") : "";
  return type.endsWith("idempotency-key-reused") || /Idempotency-Key reused/i.test(String(err.problem?.title ?? ""));
}

// Messages as MemorySession words them.
const DIFFERENT_TRANSACTION = "Session history operation was already applied with a different transaction.";
const SUFFIX_MISMATCH = "Session history suffix no longer matches the transaction precondition.";

/**
 * Validates `applyHistoryTransaction` arguments as MemorySession does and
 * returns a JSON snapshot of the transaction.
 *
 * @param {unknown} args
 * @returns {{ operationId: string, transaction: { type: "append_items", items: any[] } | { type: "replace_suffix", expectedSuffix: any[], replacement: any[] } }}
 */
function snapshotTransactionArgs(args) {
  if (!args || typeof args !== "object") throw new TypeError("Session history transaction arguments are invalid.");
  const { operationId, transaction } = /** @type {any} */ (args);
  if (typeof operationId !== "string" || !operationId.trim()) {
    throw new TypeError("Session history transaction operationId must be a non-empty string.");
  }
  assertStorableText("Session history transaction operationId", operationId);
  if (!transaction || typeof transaction !== "object") {
    throw new TypeError("Session history transaction must be an object.");
  }
  const keys = Object.keys(transaction).sort().join(",");
  if (transaction.type === "append_items") {
    if (keys !== "items,type" || !Array.isArray(transaction.items)) {
      throw new TypeError("Session history append transaction fields are invalid.");
    }
    return {
      operationId,
      transaction: { type: "append_items", items: jsonItems(transaction.items, "transaction.items") },
    };
  }
  if (transaction.type === "replace_suffix") {
    if (
      keys !== "expectedSuffix,replacement,type" ||
      !Array.isArray(transaction.expectedSuffix) ||
      !Array.isArray(transaction.replacement)
    ) {
      throw new TypeError("Session history suffix transaction fields are invalid.");
    }
    return {
      operationId,
      transaction: {
        type: "replace_suffix",
        expectedSuffix: jsonItems(transaction.expectedSuffix, "transaction.expectedSuffix"),
        replacement: jsonItems(transaction.replacement, "transaction.replacement"),
      },
    };
  }
  throw new TypeError("Unsupported session history transaction type.");
}

/**
 * Packs items into `items.added` events, each under the event size budget
 * and the per-event item count. An item too large for any event still gets
 * an event of its own, so that the service, which has the last word on
 * sizes, answers 413 for it.
 *
 * @param {any[]} items
 * @param {Record<string, unknown>} extra more fields of every event's data
 * @returns {{ source: string, type: string, data: any }[]}
 */
function itemEvents(items, extra = {}) {
  // The envelope without items, with the longest id we send: its size is the fixed cost of an event.
  const overhead = utf8Length(
    JSON.stringify({
      source: AGENTS_EVENT_SOURCE,
      type: ITEMS_ADDED_EVENT_TYPE,
      data: { ...extra, items: [] },
      id: "x".repeat(MAX_ID_LENGTH),
    })
  );
  /** @type {any[][]} */
  const chunks = [];
  let current = [];
  let size = overhead;
  for (const item of items) {
    const itemSize = utf8Length(JSON.stringify(item)) + 1; // + the comma
    if (current.length > 0 && (size + itemSize > EVENT_BUDGET_BYTES || current.length >= MAX_ITEMS_PER_EVENT)) {
      chunks.push(current);
      current = [];
      size = overhead;
    }
    current.push(item);
    size += itemSize;
  }
  if (current.length > 0) chunks.push(current);
  return chunks.map((chunk) => ({
    source: AGENTS_EVENT_SOURCE,
    type: ITEMS_ADDED_EVENT_TYPE,
    data: { ...extra, items: chunk },
  }));
}

/**
 * Throws before anything is sent when the events cannot go in one atomic request.
 * @param {{ source: string, type: string, data: any }[]} events
 * @param {string} what
 */
function assertOneRequest(events, what) {
  if (events.length > MAX_BATCH_EVENTS) {
    throw new RangeError(
      `${what} needs ${events.length} events, more than the ${MAX_BATCH_EVENTS} one atomic batch may hold; ` +
        "store fewer or smaller items per call"
    );
  }
  const body = utf8Length(JSON.stringify(events)) + events.length * 140; // + the ids
  if (body > BODY_BUDGET_BYTES) {
    throw new RangeError(
      `${what} needs about ${body} bytes, more than one atomic batch may carry (it becomes one Kafka record of ` +
        `at most 2 MiB; the client keeps ${BODY_BUDGET_BYTES} bytes); store fewer or smaller items per call`
    );
  }
}

/**
 * @typedef {object} StoredItem
 * @property {number} seq  order of addition in the session, never reused
 * @property {any} item
 */

/**
 * @typedef {object} OperationRecord
 * @property {string} fingerprint  sha256 of the canonical transaction
 * @property {boolean} applied     false when its suffix precondition failed at its place in the log
 * @property {number} remaining    items of its batch still to come in the fold
 */

/** The session's items and applied operations, folded from its timeline. */
export class HistoryFold {
  constructor() {
    /** Items in order. @type {StoredItem[]} */
    this.items = [];
    /** Sequence number of the next item added. */
    this.nextSeq = 0;
    /** operationId → record. Survives `cleared`, as the timeline does. @type {Map<string, OperationRecord>} */
    this.operations = new Map();
    /** The session version the fold reflects (0: no event). */
    this.version = 0;
  }

  /**
   * Folds a timeline (entries of `GET /sessions/{id}/events`, any order).
   * @param {any[]} entries
   * @returns {HistoryFold}
   */
  static of(entries) {
    const fold = new HistoryFold();
    /** @type {any[]} */
    const accepted = [];
    for (const entry of entries) {
      const reached = Number(entry?.sessionVersion ?? entry?.version ?? 0);
      if (Number.isFinite(reached) && reached > fold.version) fold.version = reached;
      if ((entry?.outcome ?? "accepted") === "accepted" && typeof entry?.event?.type === "string") {
        accepted.push(entry);
      }
    }
    // Versions order the log; entries without one keep their timeline order.
    accepted
      .map((entry, index) => ({ entry, index }))
      .sort((a, b) => (Number(a.entry.version ?? 0) - Number(b.entry.version ?? 0)) || a.index - b.index)
      .forEach(({ entry }) => fold.apply(entry.event.type, entry.event.data));
    return fold;
  }

  /**
   * @param {string} type
   * @param {any} data
   */
  apply(type, data) {
    if (!data || typeof data !== "object") return;
    switch (type) {
      case ITEMS_ADDED_EVENT_TYPE: {
        if (!Array.isArray(data.items)) return;
        if (data.operationId !== undefined) {
          const op = this.operations.get(String(data.operationId));
          if (!op || op.remaining <= 0) return;
          op.remaining -= data.items.length;
          if (!op.applied) return;
        }
        for (const item of data.items) this.items.push({ seq: this.nextSeq++, item });
        return;
      }
      case ITEM_POPPED_EVENT_TYPE: {
        const index = this.items.findIndex((stored) => stored.seq === data.itemSeq);
        if (index >= 0) this.items.splice(index, 1);
        return;
      }
      case CLEARED_EVENT_TYPE:
        this.items = [];
        return;
      case HISTORY_TRANSACTION_EVENT_TYPE: {
        const operationId = data.operationId;
        if (typeof operationId !== "string" || this.operations.has(operationId)) return;
        let applied = true;
        if (data.kind === "replace_suffix") {
          const count = Number(data.expectedSuffix?.count);
          applied =
            Number.isInteger(count) &&
            count >= 0 &&
            this.suffixMatches(count, String(data.expectedSuffix?.sha256 ?? ""));
          if (applied && count > 0) this.items.splice(this.items.length - count, count);
        } else if (data.kind !== "append_items") {
          applied = false;
        }
        this.operations.set(operationId, {
          fingerprint: String(data.fingerprint ?? ""),
          applied,
          remaining: Number.isInteger(data.itemCount) ? data.itemCount : 0,
        });
        return;
      }
      default:
    }
  }

  /**
   * Whether the last `count` items have the given digest.
   * @param {number} count
   * @param {string} digest
   */
  suffixMatches(count, digest) {
    if (count > this.items.length) return false;
    return itemsDigest(this.items.slice(this.items.length - count).map((stored) => stored.item)) === digest;
  }
}

/**
 * @typedef {object} AgentStateSessionOptions
 * @property {string | URL} baseUrl     agent-state base URL, e.g. http://localhost:8080
 * @property {string} [apiKey]          sent as `X-API-Key`
 * @property {string} [token]           sent as `Authorization: Bearer …`
 * @property {string} sessionId         the conversation's id (any non-empty string)
 * @property {string} [sessionPrefix]   prefix of the agent-state session id (default "oa-")
 * @property {typeof fetch} [fetch]     fetch implementation (default: global fetch)
 * @property {number} [maxRetries]      retries on network errors and 429/502/503/504 (default 4)
 * @property {number} [requestTimeoutMs] per HTTP request (default 30000)
 * @property {number} [pendingTimeoutMs] how long to wait for a pending append (default 30000)
 * @property {number} [maxPopAttempts]  tries of one popItem against concurrent writers (default 32)
 */

/**
 * OpenAI Agents SDK session (`Session` and `SessionHistoryTransactionAwareSession`
 * of `@openai/agents-core`) backed by one agent-state session.
 */
export class AgentStateSession {
  /** @param {AgentStateSessionOptions} options */
  constructor(options) {
    const { sessionId, sessionPrefix = "oa-" } = options ?? {};
    if (typeof sessionId !== "string" || sessionId === "") {
      throw new Error("AgentStateSession: sessionId must be a non-empty string");
    }
    if (typeof sessionPrefix !== "string" || !SESSION_PREFIX.test(sessionPrefix)) {
      throw new Error(
        `AgentStateSession: sessionPrefix ${JSON.stringify(sessionPrefix)} may only use [A-Za-z0-9._:@-]`
      );
    }
    if (sessionPrefix.length + HASHED_LENGTH > MAX_ID_LENGTH) {
      throw new Error(
        `AgentStateSession: sessionPrefix is too long (at most ${MAX_ID_LENGTH - HASHED_LENGTH} characters)`
      );
    }
    const maxPopAttempts = options.maxPopAttempts ?? 32;
    if (!Number.isInteger(maxPopAttempts) || maxPopAttempts < 1) {
      throw new Error("AgentStateSession: maxPopAttempts must be an integer >= 1");
    }
    /** The conversation id, as given (what getSessionId returns). */
    this.sessionId = sessionId;
    /** Prefix of the agent-state session id. */
    this.sessionPrefix = sessionPrefix;
    /** The agent-state session that holds the items. */
    this.agentStateSessionId = AgentStateSession.agentStateSessionIdFor(sessionId, sessionPrefix);
    this.maxPopAttempts = maxPopAttempts;
    /** The HTTP client (exposed for tooling and tests); it takes baseUrl, apiKey, token, fetch and the timeouts. */
    this.client = new AgentStateClient(options);
  }

  /**
   * The agent-state session id for a conversation id: `<prefix><sessionId>`
   * when the id only uses `[A-Za-z0-9._:@-]` and fits in 128 characters, else
   * `<prefix>h.<first 40 hex of sha256(sessionId)>` (an id that itself looks
   * like `h.<40 hex>` is hashed too, so the two forms cannot collide, and so is
   * one that would be made only of dots, which a URL path cannot address).
   *
   * @param {string} sessionId
   * @param {string} [sessionPrefix]
   */
  static agentStateSessionIdFor(sessionId, sessionPrefix = "oa-") {
    const id = String(sessionId);
    if (
      SAFE_SESSION_ID.test(id) &&
      !HASHED_SESSION_ID.test(id) &&
      sessionPrefix.length + id.length <= MAX_ID_LENGTH &&
      // "." and ".." would collapse in the URL path: an id made only of dots is hashed.
      !/^\.+$/.test(sessionPrefix + id)
    ) {
      return `${sessionPrefix}${id}`;
    }
    return `${sessionPrefix}h.${sha256Hex(id).slice(0, 40)}`;
  }

  /** @returns {Promise<string>} */
  async getSessionId() {
    return this.sessionId;
  }

  /**
   * The items in order; with `limit`, the last `limit` of them (none for `limit <= 0`).
   * @param {number} [limit]
   * @returns {Promise<any[]>}
   */
  async getItems(limit) {
    const fold = await this.readFold();
    const items = fold.items.map((stored) => stored.item);
    if (limit === undefined || limit === null) return items;
    if (limit <= 0) return [];
    return items.slice(Math.max(items.length - limit, 0));
  }

  /**
   * Appends items, as one event, or as one atomic batch of several when
   * they do not fit in one event.
   * @param {any[]} items
   */
  async addItems(items) {
    const copies = jsonItems(items, "items");
    if (copies.length === 0) return;
    const events = itemEvents(copies);
    const key = `oa-add-${randomUUID()}`;
    if (events.length === 1) {
      await this.client.appendEvent(this.agentStateSessionId, key, events[0]);
      return;
    }
    assertOneRequest(events, `addItems of ${copies.length} items`);
    await this.client.appendBatch(this.agentStateSessionId, key, events);
  }

  /**
   * Removes and returns the last item (undefined when there is none). The
   * removal is conditional on the version read (`If-Match`), so concurrent
   * pops each remove a different item; on a conflict it reads again and
   * retries, with jittered back-off, up to `maxPopAttempts` times.
   * @returns {Promise<any | undefined>}
   */
  async popItem() {
    for (let attempt = 1; ; attempt += 1) {
      const fold = await this.readFold();
      const last = fold.items.at(-1);
      if (!last) return undefined;
      try {
        await this.client.appendEvent(
          this.agentStateSessionId,
          `oa-pop-${randomUUID()}`,
          { source: AGENTS_EVENT_SOURCE, type: ITEM_POPPED_EVENT_TYPE, data: { itemSeq: last.seq } },
          { ifMatch: fold.version }
        );
        return last.item;
      } catch (err) {
        if (!isVersionConflict(err)) throw err;
        if (attempt >= this.maxPopAttempts) {
          throw new AgentStateError(
            `popItem on session ${this.agentStateSessionId} gave up after ${attempt} version conflicts`,
            { status: 409, problem: /** @type {any} */ (err).problem, cause: err }
          );
        }
        await sleep(Math.floor(Math.random() * Math.min(1000, 20 * 2 ** attempt)) + 5);
      }
    }
  }

  /**
   * Empties the session's history by appending a `dev.openai.agents.cleared`
   * event; earlier events stay in the agent-state timeline (use
   * {@link deleteSession} to erase them).
   */
  async clearSession() {
    await this.client.appendEvent(this.agentStateSessionId, `oa-clear-${randomUUID()}`, {
      source: AGENTS_EVENT_SOURCE,
      type: CLEARED_EVENT_TYPE,
      data: {},
    });
  }

  /**
   * Erases the agent-state session: every event, for good. The session id can
   * be used again afterwards, from an empty history.
   */
  async deleteSession() {
    await this.client.deleteSession(this.agentStateSessionId);
  }

  /**
   * Applies a history transaction atomically and idempotently: one atomic
   * batch whose event ids derive from the session and `operationId`, so a
   * repeat is a duplicate on the service and changes nothing. The same
   * `operationId` with another transaction, or a `replace_suffix` whose
   * `expectedSuffix` is not the current end of the history, fails without
   * changing the history.
   *
   * @param {{ operationId: string, transaction: any }} args
   */
  async applyHistoryTransaction(args) {
    const { operationId, transaction } = snapshotTransactionArgs(args);
    // Structural equality, as MemorySession compares transactions: key order does not count.
    const fingerprint = sha256Hex(canonicalJson(transaction));

    const before = await this.readFold();
    const known = before.operations.get(operationId);
    if (known) return AgentStateSession.#settle(known, fingerprint);

    /** @type {Record<string, unknown>} */
    const head = { operationId, kind: transaction.type, fingerprint };
    /** @type {any[]} */
    let items;
    if (transaction.type === "replace_suffix") {
      const expected = { count: transaction.expectedSuffix.length, sha256: itemsDigest(transaction.expectedSuffix) };
      if (!before.suffixMatches(expected.count, expected.sha256)) throw new Error(SUFFIX_MISMATCH);
      head.expectedSuffix = expected;
      items = transaction.replacement;
    } else {
      items = transaction.items;
    }
    head.itemCount = items.length;
    const events = [
      { source: AGENTS_EVENT_SOURCE, type: HISTORY_TRANSACTION_EVENT_TYPE, data: head },
      ...itemEvents(items, { operationId }),
    ];
    assertOneRequest(events, `the history transaction ${JSON.stringify(operationId)}`);
    const key = `oa-op-${sha256Hex(JSON.stringify([this.agentStateSessionId, operationId])).slice(0, 40)}`;
    let answer;
    try {
      answer = await this.client.appendBatch(this.agentStateSessionId, key, events);
    } catch (err) {
      if (!isKeyReused(err)) throw err;
      // Its ids were used with another body: the same operation with another
      // transaction, or the same one with its keys in another order.
      const recorded = (await this.readFold()).operations.get(operationId);
      if (recorded) return AgentStateSession.#settle(recorded, fingerprint);
      throw new Error(DIFFERENT_TRANSACTION, { cause: err });
    }
    // A polled decision (after a 202) is the decision on the key, whatever body
    // it was taken for: another writer of the same operationId with another
    // transaction would look like success. Only the fold can tell.
    if (transaction.type === "append_items" && !answer?.polled) return undefined;
    // A concurrent writer may have changed the end of the history between the
    // check above and the batch: the fold decides at the batch's place in the log.
    const recorded = (await this.readFold()).operations.get(operationId);
    if (!recorded) {
      throw new AgentStateError(
        `the history transaction ${JSON.stringify(operationId)} was accepted but is not in the timeline of ${this.agentStateSessionId}`
      );
    }
    return AgentStateSession.#settle(recorded, fingerprint);
  }

  /**
   * @param {OperationRecord} record
   * @param {string} fingerprint
   */
  static #settle(record, fingerprint) {
    if (record.fingerprint !== fingerprint) throw new Error(DIFFERENT_TRANSACTION);
    if (!record.applied) throw new Error(SUFFIX_MISMATCH);
    return undefined;
  }

  /**
   * Reads the whole timeline and folds it.
   * @returns {Promise<HistoryFold>}
   */
  async readFold() {
    return HistoryFold.of(await this.client.readTimeline(this.agentStateSessionId));
  }
}
