/**
 * LangGraph.js checkpoint saver that keeps every thread in one agent-state
 * session: a checkpoint is a `dev.langgraph.checkpoint` event, a task's
 * pending writes a `dev.langgraph.writes` event. When their values do not fit
 * in one event (256 KiB), the rest goes into `dev.langgraph.blobs` parts of
 * the same atomic batch (a value larger than one event is cut into chunks
 * across parts). Reads fold the session's accepted events into an in-memory
 * index, joining each head with its parts, and answer from it.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  BaseCheckpointSaver,
  TASKS,
  WRITES_IDX_MAP,
  compareWritesSortKeys,
  copyCheckpoint,
  getCheckpointId,
  maxChannelVersion,
  writesSortKey,
} from "@langchain/langgraph-checkpoint";
import {
  AgentStateClient,
  MAX_BATCH_BODY_BYTES,
  MAX_BATCH_EVENTS,
  assertStorableText,
} from "./client.js";

/** CloudEvent type of a stored checkpoint. */
export const CHECKPOINT_EVENT_TYPE = "dev.langgraph.checkpoint";
/** CloudEvent type of one task's pending writes against a checkpoint. */
export const WRITES_EVENT_TYPE = "dev.langgraph.writes";
/**
 * CloudEvent type of a part of a checkpoint or writes event: more of its
 * values, in the same atomic batch, naming the head by `putId`.
 */
export const BLOBS_EVENT_TYPE = "dev.langgraph.blobs";
/** CloudEvent source of every event this saver appends. */
export const EVENT_SOURCE = "agent://langgraph";

const SAFE_THREAD_ID = /^[A-Za-z0-9._:@-]+$/;
const SESSION_PREFIX = /^[A-Za-z0-9._:@-]*$/;
const MAX_ID_LENGTH = 128;
/** `h.` + 40 hex characters. */
const HASHED_THREAD_LENGTH = 42;

/**
 * JSON one event of ours may weigh as we send it: the service refuses an
 * event over 256 KiB as it re-encodes it, with specversion, subject, tenant,
 * time and datacontenttype added; 16 KiB are left for those.
 */
const EVENT_BUDGET_BYTES = 240 * 1024;
/** Entries (values or writes) in one event, well under the service's 10,000 elements per array. */
const MAX_ENTRIES_PER_EVENT = 1000;
/** Stands for the longest event id we send (`lgc-` + 48 hex + `:` + 2 digits) in size estimates. */
const EVENT_ID_PLACEHOLDER = "x".repeat(56);
/** Stands for a put id (`lgc-` + 48 hex) in size estimates. */
const PUT_ID_PLACEHOLDER = "x".repeat(52);

/** @param {string} text */
function sha256Hex(text) {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * @param {Uint8Array | string} bytes
 * @returns {string}
 */
function toBase64(bytes) {
  if (typeof bytes === "string") return Buffer.from(bytes, "utf8").toString("base64");
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/**
 * A fresh Uint8Array (not a view over Node's shared Buffer pool).
 * @param {string} text
 * @returns {Uint8Array}
 */
function fromBase64(text) {
  return new Uint8Array(Buffer.from(text, "base64"));
}

/** @param {unknown} value @returns {number} UTF-8 bytes of its JSON */
function jsonBytes(value) {
  return Buffer.byteLength(JSON.stringify(value), "utf8");
}

/** The type of a blob that records a channel version without a value. */
const EMPTY = "empty";

/**
 * How a serialised value is stored in an event: `{text}`, the bytes as a
 * string, when the serde type is "json", the bytes are UTF-8 text that
 * round-trips exactly and this is no larger than base64; else `{value}`,
 * base64.
 *
 * @param {string} type serde type
 * @param {Uint8Array | string} bytes
 * @returns {{ text: string } | { value: string }}
 */
function encodeValue(type, bytes) {
  const buffer =
    typeof bytes === "string"
      ? Buffer.from(bytes, "utf8")
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (type === "json") {
    const text = buffer.toString("utf8");
    // Invalid UTF-8 decodes to U+FFFD and so does not round-trip; U+0000 is refused by the service.
    if (!text.includes("\0") && Buffer.byteLength(text, "utf8") === buffer.length && Buffer.from(text, "utf8").equals(buffer)) {
      if (jsonBytes(text) <= 4 * Math.ceil(buffer.length / 3) + 2) return { text };
    }
  }
  return { value: buffer.toString("base64") };
}

/**
 * The bytes of a stored value (`{text}` or `{value}` in base64).
 * @param {{ text?: string, value?: string }} stored
 * @returns {Uint8Array}
 */
function decodeValue(stored) {
  return typeof stored.text === "string" ? new Uint8Array(Buffer.from(stored.text, "utf8")) : fromBase64(/** @type {string} */ (stored.value));
}

/** @param {any} entry whether it carries a stored value */
function hasStoredValue(entry) {
  return typeof entry?.text === "string" || typeof entry?.value === "string";
}

/**
 * UTF-8 bytes one UTF-16 code unit takes inside a JSON string (as
 * `JSON.stringify` writes it); the caller counts a surrogate pair as 4.
 * @param {number} code
 */
function escapedUnitBytes(code) {
  if (code === 0x22 || code === 0x5c) return 2;
  if (code < 0x20) return code === 8 || code === 9 || code === 10 || code === 12 || code === 13 ? 2 : 6;
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  if (code >= 0xd800 && code <= 0xdfff) return 6; // alone (a pair is counted by the caller)
  return 3;
}

/**
 * Cuts a string into pieces whose JSON form (quotes included) is at most
 * `capacity` bytes, never inside a surrogate pair.
 * @param {string} text
 * @param {number} capacity
 * @returns {string[]}
 */
function splitForJson(text, capacity) {
  const room = capacity - 2;
  if (room < 8) throw new Error("internal: no room for a chunk");
  const pieces = [];
  let start = 0;
  let size = 0;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    const pair = code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
    const cost = pair ? 4 : escapedUnitBytes(code);
    if (size + cost > room) {
      pieces.push(text.slice(start, i));
      start = i;
      size = 0;
    }
    size += cost;
    if (pair) i += 1;
  }
  if (start < text.length || pieces.length === 0) pieces.push(text.slice(start));
  return pieces;
}

/**
 * Spreads a head event's entries over the head and as many `dev.langgraph.blobs`
 * parts as needed, each under {@link EVENT_BUDGET_BYTES}; an entry too large
 * for one event is cut into chunks (`chunk`, `chunks`) across parts. Throws a
 * RangeError, before anything is written, when the whole cannot go in one
 * atomic batch.
 *
 * @param {object} options
 * @param {string} options.headType
 * @param {Record<string, unknown>} options.head      head data, without its list
 * @param {"blobs" | "writes"} options.listKey
 * @param {any[]} options.entries                    each with `text` or `value`
 * @param {Record<string, unknown>} options.partFields fields of every part's data
 * @param {string} options.what                       for messages
 * @returns {{ head: any[], parts: any[][] }} the entries of the head and of each part
 */
function packEntries({ headType, head, listKey, entries, partFields, what }) {
  const eventBytes = (type, data) => jsonBytes({ source: EVENT_SOURCE, type, data, id: EVENT_ID_PLACEHOLDER });
  const headBase = eventBytes(headType, { ...head, [listKey]: [], parts: MAX_BATCH_EVENTS, putId: PUT_ID_PLACEHOLDER });
  const partBase = eventBytes(BLOBS_EVENT_TYPE, {
    ...partFields,
    putId: PUT_ID_PLACEHOLDER,
    part: MAX_BATCH_EVENTS,
    [listKey]: [],
  });
  if (headBase > EVENT_BUDGET_BYTES) {
    throw new RangeError(
      `${what}: its checkpoint, metadata and ids alone take ${headBase} bytes, more than one event may hold ` +
        `(about ${EVENT_BUDGET_BYTES}); nothing was written`
    );
  }
  const sizes = entries.map((entry) => jsonBytes(entry) + 1);
  const total = headBase + sizes.reduce((a, b) => a + b, 0);
  if (total > MAX_BATCH_BODY_BYTES) {
    throw new RangeError(
      `${what}: it needs about ${total} bytes, more than one atomic batch may carry (it becomes one Kafka record of at ` +
        `most 2 MiB; the saver keeps ${MAX_BATCH_BODY_BYTES} bytes); nothing was written`
    );
  }

  /** @type {any[][]} */
  const lists = [[]];
  let size = headBase;
  const add = (entry, entrySize) => {
    const current = lists[lists.length - 1];
    if (size + entrySize <= EVENT_BUDGET_BYTES && current.length < MAX_ENTRIES_PER_EVENT) {
      current.push(entry);
      size += entrySize;
      return;
    }
    if (partBase + entrySize > EVENT_BUDGET_BYTES) throw new Error("internal: an entry does not fit an empty part");
    lists.push([entry]);
    size = partBase + entrySize;
  };
  entries.forEach((entry, i) => {
    if (partBase + sizes[i] <= EVENT_BUDGET_BYTES) {
      add(entry, sizes[i]);
      return;
    }
    // Too large for any event: chunks of its stored string, each filling a part.
    const field = typeof entry.text === "string" ? "text" : "value";
    const { [field]: whole, ...meta } = entry;
    const overhead = jsonBytes({ ...meta, chunk: 99_999, chunks: 99_999, [field]: "" }) + 1;
    const pieces = splitForJson(whole, EVENT_BUDGET_BYTES - partBase - overhead + 2);
    pieces.forEach((piece, k) => {
      const chunk = { ...meta, chunk: k, chunks: pieces.length, [field]: piece };
      add(chunk, jsonBytes(chunk) + 1);
    });
  });
  if (lists.length > MAX_BATCH_EVENTS) {
    throw new RangeError(
      `${what}: it needs ${lists.length} events, more than the ${MAX_BATCH_EVENTS} of one atomic batch; nothing was written`
    );
  }
  return { head: lists[0], parts: lists.slice(1) };
}

/**
 * The events of one put (head first, then its parts) and their common key.
 * The key digests the session and the whole content, so a byte-identical
 * retry is a duplicate and a put with other content is a new write.
 *
 * @param {object} options
 * @param {string} options.prefix     "lgc" or "lgw"
 * @param {string} options.sessionId
 * @param {string} options.headType
 * @param {Record<string, unknown>} options.head
 * @param {"blobs" | "writes"} options.listKey
 * @param {any[]} options.entries
 * @param {Record<string, unknown>} options.partFields
 * @param {string} options.what
 * @returns {{ key: string, events: { source: string, type: string, data: any }[] }}
 */
function putEvents({ prefix, sessionId, headType, head, listKey, entries, partFields, what }) {
  const packed = packEntries({ headType, head, listKey, entries, partFields, what });
  /** @type {any} */
  const headData = { ...head, [listKey]: packed.head };
  if (packed.parts.length > 0) headData.parts = packed.parts.length;
  const partData = packed.parts.map((list, part) => ({ ...partFields, part, [listKey]: list }));
  const key = `${prefix}-${sha256Hex(JSON.stringify([sessionId, headData, partData])).slice(0, 48)}`;
  if (packed.parts.length > 0) {
    headData.putId = key;
    for (const data of partData) data.putId = key;
  }
  return {
    key,
    events: [
      { source: EVENT_SOURCE, type: headType, data: headData },
      ...partData.map((data) => ({ source: EVENT_SOURCE, type: BLOBS_EVENT_TYPE, data })),
    ],
  };
}

/**
 * A head's complete list of entries: its own, then those of its parts in
 * order, with chunks joined again. Undefined when a part or a chunk is
 * missing (an atomic batch stores all of them or none).
 *
 * @param {any} data head data
 * @param {"blobs" | "writes"} listKey
 * @param {Map<string, Map<number, any>>} parts putId → part number → part data
 * @returns {any[] | undefined}
 */
function joinedEntries(data, listKey, parts) {
  const own = Array.isArray(data[listKey]) ? data[listKey] : [];
  const count = Number.isInteger(data.parts) && data.parts > 0 ? data.parts : 0;
  let list = own;
  if (count > 0) {
    const found = typeof data.putId === "string" ? parts.get(data.putId) : undefined;
    if (!found) return undefined;
    list = [...own];
    for (let i = 0; i < count; i += 1) {
      const part = found.get(i);
      if (!part || !Array.isArray(part[listKey])) return undefined;
      list.push(...part[listKey]);
    }
  }
  /** @type {any[]} */
  const joined = [];
  /** @type {{ field: string, pieces: string[] } | undefined} */
  let open;
  for (const entry of list) {
    if (!entry || typeof entry !== "object" || !Number.isInteger(entry.chunks)) {
      if (open) return undefined;
      joined.push(entry);
      continue;
    }
    const field = typeof entry.text === "string" ? "text" : "value";
    if (typeof entry[field] !== "string") return undefined;
    if (entry.chunk === 0) {
      if (open) return undefined;
      open = { field, pieces: [] };
    } else if (!open || open.field !== field || entry.chunk !== open.pieces.length) {
      return undefined;
    }
    open.pieces.push(entry[field]);
    if (open.pieces.length === entry.chunks) {
      const { chunk, chunks, [field]: last, ...meta } = entry;
      joined.push({ ...meta, [field]: open.pieces.join("") });
      open = undefined;
    }
  }
  return open ? undefined : joined;
}

/** @param {object} obj @param {PropertyKey} key */
function hasOwn(obj, key) {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

/**
 * Sets an own, enumerable property even for keys such as `__proto__`.
 * @param {Record<string, unknown>} obj
 * @param {string} key
 * @param {unknown} value
 */
function setOwn(obj, key, value) {
  if (key === "__proto__") {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/** Key under which a channel version is compared (1 and "1" differ). */
function versionKey(version) {
  return JSON.stringify(version ?? null);
}

/** The thread id as the saver keys it; undefined when absent. */
function threadIdOf(config) {
  const value = config?.configurable?.thread_id;
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  throw new Error(
    `Invalid configurable value for key "thread_id": expected a string (got ${typeof value})`
  );
}

/** @param {unknown} value */
function isSerialized(value) {
  return Array.isArray(value) && typeof value[0] === "string" && typeof value[1] === "string";
}

/**
 * @typedef {object} BlobRecord
 * @property {string} checkpointId checkpoint whose put stored it
 * @property {string} channel
 * @property {string} vkey        versionKey of its version
 * @property {string} type        serde type
 * @property {string} [text]      the serialised bytes as UTF-8 text, or
 * @property {string} [value]     the serialised bytes in base64
 */

/**
 * @typedef {object} CheckpointRecord
 * @property {string} id
 * @property {string | null} parentId
 * @property {[string, string]} checkpoint  serialised checkpoint without channel_values
 * @property {[string, string]} metadata    serialised metadata
 * @property {Map<string, BlobRecord>} blobs channel → value stored with this checkpoint
 */

/**
 * @typedef {object} WriteRecord
 * @property {string} taskId
 * @property {number} idx
 * @property {string} channel
 * @property {string} type
 * @property {string} [text]    UTF-8 text of the bytes, or
 * @property {string} [value]   base64 of the bytes
 * @property {string} taskPath
 */

/**
 * @typedef {object} NamespaceIndex
 * @property {Map<string, CheckpointRecord>} checkpoints        id → record
 * @property {Map<string, Map<string, BlobRecord[]>>} blobs     channel → versionKey → records, timeline order
 * @property {Map<string, Map<string, WriteRecord>>} writes     checkpoint id → "taskId,idx" → write
 */

/** The checkpoints, blobs and writes of one thread, folded from its events. */
class ThreadIndex {
  /** @param {string} threadId */
  constructor(threadId) {
    this.threadId = threadId;
    /** Namespaces in order of first appearance. @type {Map<string, NamespaceIndex>} */
    this.namespaces = new Map();
  }

  /** @param {string} ns @returns {NamespaceIndex} */
  namespace(ns) {
    let index = this.namespaces.get(ns);
    if (!index) {
      index = { checkpoints: new Map(), blobs: new Map(), writes: new Map() };
      this.namespaces.set(ns, index);
    }
    return index;
  }

  /** @param {any} data data of an accepted dev.langgraph.checkpoint event */
  addCheckpoint(data) {
    if (typeof data.id !== "string" || !isSerialized(data.checkpoint) || !isSerialized(data.metadata)) {
      return;
    }
    const ns = typeof data.ns === "string" ? data.ns : "";
    const index = this.namespace(ns);
    /** @type {CheckpointRecord} */
    const record = {
      id: data.id,
      parentId: typeof data.parentId === "string" && data.parentId !== "" ? data.parentId : null,
      checkpoint: data.checkpoint,
      metadata: data.metadata,
      blobs: new Map(),
    };
    for (const blob of Array.isArray(data.blobs) ? data.blobs : []) {
      if (typeof blob?.channel !== "string" || typeof blob.type !== "string") continue;
      if (blob.type !== EMPTY && !hasStoredValue(blob)) continue;
      /** @type {BlobRecord} */
      const stored = {
        checkpointId: record.id,
        channel: blob.channel,
        vkey: versionKey(blob.version),
        type: blob.type,
        ...(blob.type === EMPTY ? {} : typeof blob.text === "string" ? { text: blob.text } : { value: blob.value }),
      };
      record.blobs.set(stored.channel, stored);
      let byVersion = index.blobs.get(stored.channel);
      if (!byVersion) {
        byVersion = new Map();
        index.blobs.set(stored.channel, byVersion);
      }
      const list = byVersion.get(stored.vkey);
      if (list) list.push(stored);
      else byVersion.set(stored.vkey, [stored]);
    }
    // A later put of the same (ns, id) replaces the earlier one, as in MemorySaver.
    index.checkpoints.set(record.id, record);
  }

  /** @param {any} data data of an accepted dev.langgraph.writes event */
  addWrites(data) {
    if (typeof data.checkpointId !== "string" || typeof data.taskId !== "string" || !Array.isArray(data.writes)) {
      return;
    }
    const ns = typeof data.ns === "string" ? data.ns : "";
    const index = this.namespace(ns);
    let stored = index.writes.get(data.checkpointId);
    if (!stored) {
      stored = new Map();
      index.writes.set(data.checkpointId, stored);
    }
    const taskPath = typeof data.taskPath === "string" ? data.taskPath : "";
    data.writes.forEach((write, i) => {
      if (typeof write?.channel !== "string" || typeof write.type !== "string" || !hasStoredValue(write)) {
        return;
      }
      const idx = Number.isInteger(write.idx) ? write.idx : i;
      const key = `${data.taskId},${idx}`;
      // A regular write keeps the first value stored, a special one (idx < 0) the last.
      if (idx >= 0 && stored.has(key)) return;
      stored.set(key, {
        taskId: data.taskId,
        idx,
        channel: write.channel,
        type: write.type,
        ...(typeof write.text === "string" ? { text: write.text } : { value: write.value }),
        taskPath,
      });
    });
  }

  /**
   * The writes stored against one checkpoint, in `writesSortKey` order.
   * @param {NamespaceIndex} index
   * @param {string} checkpointId
   * @returns {WriteRecord[]}
   */
  orderedWrites(index, checkpointId) {
    const stored = index.writes.get(checkpointId);
    if (!stored) return [];
    return [...stored.values()]
      .map((write) => ({ write, key: writesSortKey(write.taskPath, write.taskId, write.idx) }))
      .sort((a, b) => compareWritesSortKeys(a.key, b.key))
      .map(({ write }) => write);
  }

  /**
   * The value a checkpoint holds for a channel at a version: the blob stored
   * for that (ns, channel, version) in the thread. When several checkpoints
   * stored one (integer versions can repeat across forks), the one stored by
   * the checkpoint itself or its nearest ancestor wins, else the first stored.
   *
   * @param {NamespaceIndex} index
   * @param {CheckpointRecord} record
   * @param {string} channel
   * @param {unknown} version
   * @returns {BlobRecord | undefined}
   */
  resolveBlob(index, record, channel, version) {
    const vkey = versionKey(version);
    const candidates = index.blobs.get(channel)?.get(vkey);
    if (!candidates || candidates.length === 0) return undefined;
    if (candidates.length > 1) {
      const seen = new Set();
      for (let current = record; current && !seen.has(current.id); ) {
        seen.add(current.id);
        const own = current.blobs.get(channel);
        if (own && own.vkey === vkey) return own;
        current = current.parentId === null ? undefined : index.checkpoints.get(current.parentId);
      }
    }
    return candidates[0];
  }
}

/**
 * @typedef {object} AgentStateSaverOptions
 * @property {string | URL} baseUrl     agent-state base URL, e.g. http://localhost:8080
 * @property {string} [apiKey]          sent as `X-API-Key`
 * @property {string} [token]           sent as `Authorization: Bearer …`
 * @property {string} [sessionPrefix]   prefix of every session id (default "lg-")
 * @property {import("@langchain/langgraph-checkpoint").SerializerProtocol} [serde]
 * @property {typeof fetch} [fetch]     fetch implementation (default: global fetch)
 * @property {number} [maxRetries]      retries on network errors and 429/502/503/504 (default 4)
 * @property {number} [requestTimeoutMs] per HTTP request (default 30000)
 * @property {number} [pendingTimeoutMs] how long to wait for a pending append (default 30000)
 */

export class AgentStateSaver extends BaseCheckpointSaver {
  /** @param {AgentStateSaverOptions} options */
  constructor(options) {
    const { sessionPrefix = "lg-", serde } = options ?? {};
    super(serde);
    if (typeof sessionPrefix !== "string" || !SESSION_PREFIX.test(sessionPrefix)) {
      throw new Error(
        `AgentStateSaver: sessionPrefix ${JSON.stringify(sessionPrefix)} may only use [A-Za-z0-9._:@-]`
      );
    }
    if (sessionPrefix.length + HASHED_THREAD_LENGTH > MAX_ID_LENGTH) {
      throw new Error(
        `AgentStateSaver: sessionPrefix is too long (at most ${MAX_ID_LENGTH - HASHED_THREAD_LENGTH} characters)`
      );
    }
    /** Prefix of every session id this saver uses. */
    this.sessionPrefix = sessionPrefix;
    /** The HTTP client (exposed for tooling and tests); it takes baseUrl, apiKey, token, fetch and the timeouts. */
    this.client = new AgentStateClient(options);
  }

  /**
   * The agent-state session that holds a thread: `<prefix>t.<threadId>` when
   * the id only uses allowed characters and fits, else
   * `<prefix>h.<first 40 hex of sha256(threadId)>`.
   *
   * @param {string} threadId
   * @returns {string}
   */
  sessionIdFor(threadId) {
    const id = String(threadId);
    if (SAFE_THREAD_ID.test(id) && this.sessionPrefix.length + 2 + id.length <= MAX_ID_LENGTH) {
      return `${this.sessionPrefix}t.${id}`;
    }
    return `${this.sessionPrefix}h.${sha256Hex(id).slice(0, 40)}`;
  }

  /**
   * Whether a session id is one this saver's encoding produces.
   * @param {string} sessionId
   */
  ownsSession(sessionId) {
    if (!sessionId.startsWith(this.sessionPrefix)) return false;
    const rest = sessionId.slice(this.sessionPrefix.length);
    return rest.startsWith("t.") ? rest.length > 2 : /^h\.[0-9a-f]{40}$/.test(rest);
  }

  // ---------------------------------------------------------------- writing

  /**
   * Stores a checkpoint as one `dev.langgraph.checkpoint` event, with the
   * values of the channels named in `newVersions`; values that do not fit in
   * it go into `dev.langgraph.blobs` parts of the same atomic batch. The ids
   * digest the content: a retry of the same put is a duplicate, a put of the
   * same checkpoint id with other content is a new write that replaces it.
   *
   * @param {import("@langchain/core/runnables").RunnableConfig} config
   * @param {import("@langchain/langgraph-checkpoint").Checkpoint} checkpoint
   * @param {import("@langchain/langgraph-checkpoint").CheckpointMetadata} metadata
   * @param {import("@langchain/langgraph-checkpoint").ChannelVersions} newVersions
   */
  async put(config, checkpoint, metadata, newVersions) {
    const threadId = threadIdOf(config);
    if (threadId === undefined) {
      throw new Error(
        'Failed to put checkpoint: the RunnableConfig has no "thread_id" in its "configurable" property. ' +
          'Pass one, e.g. graph.invoke(input, { configurable: { thread_id: "my-thread" } }).'
      );
    }
    const ns = config.configurable?.checkpoint_ns ?? "";
    if (typeof ns !== "string") throw new Error('Failed to put checkpoint: "checkpoint_ns" must be a string');
    if (typeof checkpoint?.id !== "string" || checkpoint.id === "") {
      throw new Error("Failed to put checkpoint: checkpoint.id must be a non-empty string");
    }
    const parent = config.configurable?.checkpoint_id;
    const parentId = typeof parent === "string" && parent !== "" ? parent : null;
    assertStorableText("Failed to put checkpoint: thread_id", threadId);
    assertStorableText("Failed to put checkpoint: checkpoint_ns", ns);
    assertStorableText("Failed to put checkpoint: checkpoint.id", checkpoint.id);
    assertStorableText("Failed to put checkpoint: the parent checkpoint_id", parentId);

    const { channel_values: values, ...rest } = copyCheckpoint(checkpoint);
    const blobs = [];
    for (const [channel, version] of Object.entries(newVersions ?? {})) {
      assertStorableText("Failed to put checkpoint: channel name", channel);
      assertStorableText(`Failed to put checkpoint: version of channel ${JSON.stringify(channel)}`, version);
      if (!hasOwn(values, channel)) {
        // a channel bumped but left without a value (a trigger consumed): said so, as PostgresSaver does, so that a
        // value another fork stored under the same integer version is not taken for this checkpoint's
        blobs.push({ channel, version, type: EMPTY });
        continue;
      }
      const [type, bytes] = await this.serde.dumpsTyped(values[channel]);
      blobs.push({ channel, version, type, ...encodeValue(type, bytes) });
    }
    const [checkpointType, checkpointBytes] = await this.serde.dumpsTyped(rest);
    const [metadataType, metadataBytes] = await this.serde.dumpsTyped(metadata);

    const sessionId = this.sessionIdFor(threadId);
    const { key, events } = putEvents({
      prefix: "lgc",
      sessionId,
      headType: CHECKPOINT_EVENT_TYPE,
      head: {
        threadId,
        ns,
        id: checkpoint.id,
        parentId,
        checkpoint: [checkpointType, toBase64(checkpointBytes)],
        metadata: [metadataType, toBase64(metadataBytes)],
      },
      listKey: "blobs",
      entries: blobs,
      partFields: { threadId, ns, checkpointId: checkpoint.id },
      what: `Failed to put checkpoint ${checkpoint.id}`,
    });
    await this.#appendPut(sessionId, key, events);
    return {
      configurable: {
        thread_id: config.configurable.thread_id,
        checkpoint_ns: ns,
        checkpoint_id: checkpoint.id,
      },
    };
  }

  /**
   * Stores one task's writes against a checkpoint as one
   * `dev.langgraph.writes` event (plus `dev.langgraph.blobs` parts in the same
   * atomic batch when they do not fit). A retry with the same content is a
   * duplicate on the service.
   *
   * @param {import("@langchain/core/runnables").RunnableConfig} config
   * @param {import("@langchain/langgraph-checkpoint").PendingWrite[]} writes
   * @param {string} taskId
   * @param {string} [taskPath]
   */
  async putWrites(config, writes, taskId, taskPath) {
    const threadId = threadIdOf(config);
    if (threadId === undefined) {
      throw new Error(
        'Failed to put writes: the RunnableConfig has no "thread_id" in its "configurable" property.'
      );
    }
    const checkpointId = config.configurable?.checkpoint_id;
    if (typeof checkpointId !== "string" || checkpointId === "") {
      throw new Error(
        'Failed to put writes: the RunnableConfig has no "checkpoint_id" in its "configurable" property.'
      );
    }
    const ns = config.configurable?.checkpoint_ns ?? "";
    if (typeof ns !== "string") throw new Error('Failed to put writes: "checkpoint_ns" must be a string');
    if (typeof taskId !== "string") throw new Error("Failed to put writes: taskId must be a string");
    const path = taskPath ?? "";
    if (typeof path !== "string") throw new Error("Failed to put writes: taskPath must be a string");
    assertStorableText("Failed to put writes: thread_id", threadId);
    assertStorableText("Failed to put writes: checkpoint_ns", ns);
    assertStorableText("Failed to put writes: checkpoint_id", checkpointId);
    assertStorableText("Failed to put writes: taskId", taskId);
    assertStorableText("Failed to put writes: taskPath", path);

    const items = [];
    for (let i = 0; i < (writes ?? []).length; i += 1) {
      const [channel, value] = writes[i];
      if (typeof channel !== "string") throw new Error("Failed to put writes: a channel name must be a string");
      assertStorableText("Failed to put writes: channel name", channel);
      const idx = hasOwn(WRITES_IDX_MAP, channel) ? WRITES_IDX_MAP[channel] : i;
      const [type, bytes] = await this.serde.dumpsTyped(value);
      items.push({ idx, channel, type, ...encodeValue(type, bytes) });
    }
    if (items.length === 0) return;

    const sessionId = this.sessionIdFor(threadId);
    const { key, events } = putEvents({
      prefix: "lgw",
      sessionId,
      headType: WRITES_EVENT_TYPE,
      head: { threadId, ns, checkpointId, taskId, taskPath: path },
      listKey: "writes",
      entries: items,
      partFields: { threadId, ns, checkpointId, taskId },
      what: `Failed to put the writes of task ${JSON.stringify(taskId)}`,
    });
    await this.#appendPut(sessionId, key, events);
  }

  /**
   * One event as such (its id is the key), several as one atomic batch (ids `<key>:<i>`).
   * @param {string} sessionId
   * @param {string} key
   * @param {{ source: string, type: string, data: any }[]} events
   */
  async #appendPut(sessionId, key, events) {
    if (events.length === 1) await this.client.appendEvent(sessionId, key, events[0]);
    else await this.client.appendBatch(sessionId, key, events);
  }

  /**
   * Erases the thread's session (every checkpoint and write of the thread).
   * @param {string} threadId
   */
  async deleteThread(threadId) {
    const id = threadIdOf({ configurable: { thread_id: threadId } });
    if (id === undefined) throw new Error("deleteThread: threadId is required");
    await this.client.deleteSession(this.sessionIdFor(id));
  }

  // ---------------------------------------------------------------- reading

  /**
   * Folds accepted checkpoint and writes events into one index per thread.
   * @param {any[]} entries timeline entries, oldest first
   * @param {string} [onlyThread] keep only this thread's events
   * @returns {Map<string, ThreadIndex>}
   */
  #fold(entries, onlyThread) {
    /** @type {{ type: string, data: any }[]} */
    const heads = [];
    /** putId → part number → part data (the first stored wins). @type {Map<string, Map<number, any>>} */
    const parts = new Map();
    for (const entry of entries) {
      if ((entry?.outcome ?? "accepted") !== "accepted") continue;
      const event = entry.event;
      const type = event?.type;
      if (type !== CHECKPOINT_EVENT_TYPE && type !== WRITES_EVENT_TYPE && type !== BLOBS_EVENT_TYPE) continue;
      const data = event.data;
      if (!data || typeof data !== "object" || typeof data.threadId !== "string") continue;
      if (onlyThread !== undefined && data.threadId !== onlyThread) continue;
      if (type !== BLOBS_EVENT_TYPE) {
        heads.push({ type, data });
        continue;
      }
      if (typeof data.putId !== "string" || !Number.isInteger(data.part)) continue;
      let byPart = parts.get(data.putId);
      if (!byPart) {
        byPart = new Map();
        parts.set(data.putId, byPart);
      }
      if (!byPart.has(data.part)) byPart.set(data.part, data);
    }
    /** @type {Map<string, ThreadIndex>} */
    const threads = new Map();
    for (const { type, data } of heads) {
      const listKey = type === CHECKPOINT_EVENT_TYPE ? "blobs" : "writes";
      const list = joinedEntries(data, listKey, parts);
      if (!list) continue;
      let index = threads.get(data.threadId);
      if (!index) {
        index = new ThreadIndex(data.threadId);
        threads.set(data.threadId, index);
      }
      if (type === CHECKPOINT_EVENT_TYPE) index.addCheckpoint({ ...data, blobs: list });
      else index.addWrites({ ...data, writes: list });
    }
    return threads;
  }

  /**
   * @param {string} threadId
   * @returns {Promise<ThreadIndex>}
   */
  async #loadThread(threadId) {
    const entries = await this.client.readTimeline(this.sessionIdFor(threadId));
    return this.#fold(entries, threadId).get(threadId) ?? new ThreadIndex(threadId);
  }

  /**
   * Every thread stored under this saver's prefix, one session at a time.
   * @returns {AsyncGenerator<ThreadIndex>}
   */
  async *#allThreads() {
    const sessionIds = await this.client.listSessionIds(this.sessionPrefix);
    for (const sessionId of sessionIds) {
      if (!this.ownsSession(sessionId)) continue;
      const entries = await this.client.readTimeline(sessionId);
      for (const index of this.#fold(entries).values()) {
        // Guard against an event whose thread does not belong in this session.
        if (this.sessionIdFor(index.threadId) === sessionId) yield index;
      }
    }
  }

  /** @param {[string, string]} serialized */
  async #load(serialized) {
    return this.serde.loadsTyped(serialized[0], fromBase64(serialized[1]));
  }

  /**
   * Rebuilds a stored checkpoint: its channel_values come from the blobs
   * matching its channel_versions; a checkpoint older than v4 with a parent
   * gets the parent's TASKS writes as channel_values[TASKS].
   *
   * @param {ThreadIndex} thread
   * @param {NamespaceIndex} index
   * @param {CheckpointRecord} record
   * @param {Set<string>} [channels] only rebuild these channels' values
   */
  async #loadCheckpoint(thread, index, record, channels) {
    const checkpoint = await this.#load(record.checkpoint);
    checkpoint.channel_versions ??= {};
    /** @type {Record<string, unknown>} */
    const values = {};
    for (const [channel, version] of Object.entries(checkpoint.channel_versions)) {
      if (channels && !channels.has(channel)) continue;
      const blob = thread.resolveBlob(index, record, channel, version);
      if (blob && blob.type !== EMPTY) setOwn(values, channel, await this.serde.loadsTyped(blob.type, decodeValue(blob)));
    }
    checkpoint.channel_values = values;
    if (checkpoint.v < 4 && record.parentId !== null && (!channels || channels.has(TASKS))) {
      const sends = [];
      for (const write of thread.orderedWrites(index, record.parentId)) {
        if (write.channel === TASKS) sends.push(await this.serde.loadsTyped(write.type, decodeValue(write)));
      }
      checkpoint.channel_values[TASKS] = sends;
      const versions = Object.values(checkpoint.channel_versions);
      checkpoint.channel_versions[TASKS] =
        versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined);
    }
    return checkpoint;
  }

  /**
   * @param {ThreadIndex} thread
   * @param {NamespaceIndex} index
   * @param {string} checkpointId
   * @param {Set<string>} [channels] only writes to these channels
   * @returns {Promise<import("@langchain/langgraph-checkpoint").CheckpointPendingWrite[]>}
   */
  async #pendingWrites(thread, index, checkpointId, channels) {
    const result = [];
    for (const write of thread.orderedWrites(index, checkpointId)) {
      if (channels && !channels.has(write.channel)) continue;
      result.push([write.taskId, write.channel, await this.serde.loadsTyped(write.type, decodeValue(write))]);
    }
    return result;
  }

  /**
   * @param {ThreadIndex} thread
   * @param {string} ns
   * @param {NamespaceIndex} index
   * @param {CheckpointRecord} record
   * @param {any} [metadata] already deserialised metadata
   * @returns {Promise<import("@langchain/langgraph-checkpoint").CheckpointTuple>}
   */
  async #tuple(thread, ns, index, record, metadata) {
    const checkpoint = await this.#loadCheckpoint(thread, index, record);
    /** @type {import("@langchain/langgraph-checkpoint").CheckpointTuple} */
    const tuple = {
      config: { configurable: { thread_id: thread.threadId, checkpoint_ns: ns, checkpoint_id: record.id } },
      checkpoint,
      metadata: metadata === undefined ? await this.#load(record.metadata) : metadata,
      pendingWrites: await this.#pendingWrites(thread, index, record.id),
    };
    if (record.parentId !== null) {
      tuple.parentConfig = {
        configurable: { thread_id: thread.threadId, checkpoint_ns: ns, checkpoint_id: record.parentId },
      };
    }
    return tuple;
  }

  /**
   * The checkpoint a config names, or the newest (largest id) in its namespace.
   * @param {NamespaceIndex | undefined} index
   * @param {string} checkpointId "" for the newest
   */
  static #pick(index, checkpointId) {
    if (!index) return undefined;
    if (checkpointId) return index.checkpoints.get(checkpointId);
    let newest;
    for (const id of index.checkpoints.keys()) if (newest === undefined || id > newest) newest = id;
    return newest === undefined ? undefined : index.checkpoints.get(newest);
  }

  /**
   * @param {import("@langchain/core/runnables").RunnableConfig} config
   * @returns {Promise<import("@langchain/langgraph-checkpoint").CheckpointTuple | undefined>}
   */
  async getTuple(config) {
    const threadId = threadIdOf(config);
    if (threadId === undefined) return undefined;
    const ns = config.configurable?.checkpoint_ns ?? "";
    const thread = await this.#loadThread(threadId);
    const index = thread.namespaces.get(ns);
    const record = AgentStateSaver.#pick(index, getCheckpointId(config));
    if (!record || !index) return undefined;
    return this.#tuple(thread, ns, index, record);
  }

  /**
   * Checkpoints newest first (per namespace), of one thread or of every
   * thread under the prefix.
   *
   * @param {import("@langchain/core/runnables").RunnableConfig} config
   * @param {import("@langchain/langgraph-checkpoint").CheckpointListOptions} [options]
   * @returns {AsyncGenerator<import("@langchain/langgraph-checkpoint").CheckpointTuple>}
   */
  async *list(config, options) {
    const { before, filter } = options ?? {};
    let limit = options?.limit ?? undefined;
    if (limit !== undefined && limit <= 0) return;
    const configurable = config?.configurable ?? {};
    const namespace = configurable.checkpoint_ns;
    const onlyId = configurable.checkpoint_id;
    const beforeId = before?.configurable?.checkpoint_id;
    const threads = configurable.thread_id
      ? [await this.#loadThread(/** @type {string} */ (threadIdOf(config)))]
      : this.#allThreads();

    for await (const thread of threads) {
      for (const [ns, index] of thread.namespaces) {
        if (namespace !== undefined && ns !== namespace) continue;
        const ids = [...index.checkpoints.keys()].sort().reverse();
        for (const id of ids) {
          if (onlyId && id !== onlyId) continue;
          if (beforeId && id >= beforeId) continue;
          const record = /** @type {CheckpointRecord} */ (index.checkpoints.get(id));
          const metadata = await this.#load(record.metadata);
          if (filter && !Object.entries(filter).every(([key, value]) => metadata?.[key] === value)) continue;
          yield await this.#tuple(thread, ns, index, record, metadata);
          if (limit !== undefined) {
            limit -= 1;
            if (limit <= 0) return;
          }
        }
      }
    }
  }

  /**
   * Same contract as {@link BaseCheckpointSaver.getDeltaChannelHistory}, but
   * walks the parent chain over one read of the thread instead of one
   * `getTuple` (one timeline read) per ancestor.
   *
   * @param {{ config: import("@langchain/core/runnables").RunnableConfig, channels: string[] }} options
   */
  async getDeltaChannelHistory(options) {
    const { config, channels } = options;
    if (channels.length === 0) return {};
    /** @type {Record<string, any[]>} */
    const collected = {};
    /** @type {Record<string, unknown>} */
    const seeds = {};
    for (const channel of channels) collected[channel] = [];
    const remaining = new Set(channels);

    const threadId = threadIdOf(config);
    if (threadId !== undefined) {
      const ns = config.configurable?.checkpoint_ns ?? "";
      const thread = await this.#loadThread(threadId);
      const index = thread.namespaces.get(ns);
      const start = AgentStateSaver.#pick(index, getCheckpointId(config));
      const seen = new Set();
      let current =
        index && start && start.parentId !== null ? index.checkpoints.get(start.parentId) : undefined;
      while (index && current && remaining.size > 0 && !seen.has(current.id)) {
        seen.add(current.id);
        // Writes of this step, newest first per channel (reversed at the end).
        const writes = await this.#pendingWrites(thread, index, current.id, remaining);
        /** @type {Map<string, any[]>} */
        const byChannel = new Map();
        for (const write of writes) {
          const block = byChannel.get(write[1]);
          if (block) block.push(write);
          else byChannel.set(write[1], [write]);
        }
        for (const [channel, block] of byChannel) {
          for (let i = block.length - 1; i >= 0; i -= 1) collected[channel].push(block[i]);
        }
        const checkpoint = await this.#loadCheckpoint(thread, index, current, remaining);
        for (const channel of [...remaining]) {
          if (hasOwn(checkpoint.channel_values, channel)) {
            seeds[channel] = checkpoint.channel_values[channel];
            remaining.delete(channel);
          }
        }
        current = current.parentId === null ? undefined : index.checkpoints.get(current.parentId);
      }
    }

    /** @type {Record<string, import("@langchain/langgraph-checkpoint").DeltaChannelHistory>} */
    const result = {};
    for (const channel of channels) {
      /** @type {any} */
      const entry = { writes: collected[channel].slice().reverse() };
      if (hasOwn(seeds, channel)) entry.seed = seeds[channel];
      result[channel] = entry;
    }
    return result;
  }
}
