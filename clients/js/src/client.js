/**
 * Minimal HTTP client for the agent-state service: append an event or an
 * atomic batch (optionally conditional on the session version), read a
 * session's timeline, list sessions by prefix, erase a session.
 *
 * Only global `fetch` is used. Every request is retried a few times with
 * back-off on network errors and on 429/502/503/504; this is safe for appends
 * and erasures because each carries an `Idempotency-Key` kept across the
 * retries (a repeat with the same body is a `duplicate`).
 *
 * @module
 */

import { randomUUID } from "node:crypto";

/** Characters the service allows in session and event ids. */
export const ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;

/** Statuses after which a request is sent again (same body, same key). */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

/** The service refuses an event over 256 KiB as it re-encodes it (its envelope included). */
export const MAX_EVENT_BYTES = 256 * 1024;
/**
 * An atomic batch becomes one Kafka record, whose producer limit
 * (`max.request.size`) is 2 MiB: a body over it is refused with 413. Stay
 * 64 KiB under it, for what the service adds to every event (subject, tenant,
 * time, datacontenttype) and the record's own overhead.
 */
export const MAX_BATCH_BODY_BYTES = 2 * 1024 * 1024 - 64 * 1024;
/** Events in one atomic batch. */
export const MAX_BATCH_EVENTS = 100;
/** Deepest JSON nesting of an event, its envelope counting as level 1. */
export const MAX_EVENT_DEPTH = 32;
/** Most elements of one JSON array in an event. */
export const MAX_ARRAY_ELEMENTS = 10_000;

/**
 * Whether the service can store a string: no U+0000 and no unpaired UTF-16
 * surrogate (it refuses the whole request with 400 otherwise, keys included).
 * @param {string} text
 */
export function isStorableText(text) {
  return !text.includes("\0") && text.isWellFormed();
}

/**
 * Throws a TypeError, before anything is sent, for a string the service
 * would refuse.
 * @param {string} what  what the string is, for the message
 * @param {unknown} text
 */
export function assertStorableText(what, text) {
  if (typeof text === "string" && !isStorableText(text)) {
    throw new TypeError(
      `${what} ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)} holds U+0000 or an ` +
        "unpaired UTF-16 surrogate, which the agent-state service refuses (400); nothing was written"
    );
  }
}

/**
 * Error raised for an answer of the service that is not a success.
 * `detail` of an `application/problem+json` answer is part of the message.
 */
export class AgentStateError extends Error {
  /**
   * @param {string} message
   * @param {{ status?: number, problem?: any, cause?: unknown, pending?: boolean, sessionId?: string, eventId?: string, idempotencyKey?: string }} [options]
   */
  constructor(message, options = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = "AgentStateError";
    /** HTTP status, when the service answered. @type {number | undefined} */
    this.status = options.status;
    /** Parsed problem+json body, when there was one. */
    this.problem = options.problem;
    /**
     * True when the write was still undecided (202) when the client gave up
     * waiting: it may still be applied. Poll `eventId` (or read the session)
     * before writing it again; a retry under a new key would write it twice.
     */
    this.pending = options.pending === true;
    /** The session of a pending write. @type {string | undefined} */
    this.sessionId = options.sessionId;
    /** The event id whose decision answers for a pending write (`GET /sessions/{sessionId}/events/{eventId}`). @type {string | undefined} */
    this.eventId = options.eventId;
    /** The Idempotency-Key the pending request was sent with. @type {string | undefined} */
    this.idempotencyKey = options.idempotencyKey;
  }
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Exponential back-off with a little jitter: ~100, 200, 400, 800 ms … ≤ 2 s. */
function backoff(attempt) {
  return Math.min(100 * 2 ** attempt, 2000) + Math.floor(Math.random() * 50);
}

/**
 * Milliseconds asked for by a `Retry-After` header (seconds form), capped.
 * @param {Response} res
 * @returns {number | undefined}
 */
function retryAfterMs(res) {
  const header = res.headers.get("retry-after");
  if (!header) return undefined;
  const seconds = Number(header);
  if (!Number.isFinite(seconds) || seconds < 0) return undefined;
  return Math.min(seconds * 1000, 5000);
}

/** Drops a body we do not read, so the connection can be reused. */
async function discard(res) {
  try {
    await res.body?.cancel();
  } catch {
    // ignore
  }
}

/**
 * @param {Response} res
 * @returns {Promise<any>}
 */
async function readJson(res) {
  const text = await res.text();
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new AgentStateError(
      `agent-state answered HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`,
      { status: res.status }
    );
  }
}

/**
 * Builds an error from a failed answer, surfacing the problem's `detail`.
 * @param {Response} res
 * @param {string} what  what was being done, for the message
 */
async function errorFrom(res, what) {
  let text = "";
  try {
    text = await res.text();
  } catch {
    // ignore
  }
  let problem;
  try {
    problem = text ? JSON.parse(text) : undefined;
  } catch {
    problem = undefined;
  }
  const detail =
    (problem && typeof problem === "object" && (problem.detail || problem.title)) ||
    text.slice(0, 500) ||
    res.statusText ||
    "no detail";
  return new AgentStateError(`${what} failed with HTTP ${res.status}: ${detail}`, {
    status: res.status,
    problem,
  });
}

/**
 * Throws when an id would not be accepted by the service.
 * @param {string} kind
 * @param {unknown} id
 */
export function assertServiceId(kind, id) {
  if (typeof id !== "string" || !ID_PATTERN.test(id)) {
    throw new Error(
      `Invalid ${kind} ${JSON.stringify(id)}: it must match [A-Za-z0-9._:@-]{1,128}`
    );
  }
  // A URL path collapses these segments: the request would reach another resource.
  if (id === "." || id === "..") {
    throw new Error(`Invalid ${kind} ${JSON.stringify(id)}: "." and ".." cannot be addressed in a URL path`);
  }
}

/**
 * The `If-Match` header for an expected session version, or none.
 * @param {number | undefined} version
 * @returns {Record<string, string>}
 */
function ifMatchHeader(version) {
  if (version === undefined || version === null) return {};
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new Error(`Invalid expected version ${JSON.stringify(version)}: it must be an integer >= 0`);
  }
  return { "If-Match": String(version) };
}

export class AgentStateClient {
  /**
   * @param {object} options
   * @param {string | URL} options.baseUrl
   * @param {string} [options.apiKey]      sent as `X-API-Key`
   * @param {string} [options.token]       sent as `Authorization: Bearer …`
   * @param {typeof fetch} [options.fetch] fetch implementation (default: global fetch)
   * @param {number} [options.maxRetries]  retries after the first try (default 4)
   * @param {number} [options.requestTimeoutMs] per request (default 30 s)
   * @param {number} [options.pendingTimeoutMs] how long to poll a pending append (default 30 s)
   */
  constructor(options) {
    const { baseUrl, apiKey, token } = options ?? {};
    if (!baseUrl) throw new Error("AgentStateClient: baseUrl is required");
    /** @type {string} */
    this.baseUrl = String(baseUrl).replace(/\/+$/, "");
    // Validate early, with a clear message.
    try {
      new URL(this.baseUrl);
    } catch {
      throw new Error(`AgentStateClient: baseUrl ${JSON.stringify(String(baseUrl))} is not a URL`);
    }
    this.apiKey = apiKey || undefined;
    this.token = token || undefined;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof this.fetchImpl !== "function") {
      throw new Error("AgentStateClient: no fetch implementation (Node >= 20 provides one)");
    }
    this.maxRetries = options.maxRetries ?? 4;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.pendingTimeoutMs = options.pendingTimeoutMs ?? 30_000;
  }

  /**
   * @param {string} path  already made of valid id characters
   * @param {Record<string, string | number | undefined>} [query]
   */
  url(path, query) {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    }
    return url;
  }

  /** @param {Record<string, string>} [extra] */
  headers(extra) {
    /** @type {Record<string, string>} */
    const headers = { Accept: "application/json, application/problem+json", ...extra };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (this.apiKey) headers["X-API-Key"] = this.apiKey;
    return headers;
  }

  /**
   * Sends one request, retrying network errors and retryable statuses.
   * Returns the last response, whatever its status.
   *
   * @param {string} method
   * @param {string} path
   * @param {{ query?: Record<string, string | number | undefined>, body?: string, headers?: Record<string, string> }} [init]
   * @returns {Promise<Response>}
   */
  async request(method, path, init = {}) {
    const url = this.url(path, init.query);
    const headers = this.headers(init.headers);
    for (let attempt = 0; ; attempt += 1) {
      let res;
      try {
        res = await this.fetchImpl(url, {
          method,
          headers,
          body: init.body,
          signal: AbortSignal.timeout(this.requestTimeoutMs),
        });
      } catch (err) {
        if (attempt >= this.maxRetries) {
          const reason = err instanceof Error ? err.message : String(err);
          throw new AgentStateError(`${method} ${url.pathname} failed: ${reason}`, { cause: err });
        }
        await sleep(backoff(attempt));
        continue;
      }
      if (RETRYABLE_STATUSES.has(res.status) && attempt < this.maxRetries) {
        const wait = retryAfterMs(res) ?? backoff(attempt);
        await discard(res);
        await sleep(wait);
        continue;
      }
      return res;
    }
  }

  /**
   * Appends one event (a CloudEvent without id/subject) under the given id.
   * Resolves once the ledger stored it (`accepted`) or had stored it before
   * (`duplicate`); polls while it is `pending`.
   *
   * @param {string} sessionId
   * @param {string} eventId
   * @param {{ source: string, type: string, data: unknown }} event
   * @param {{ ifMatch?: number }} [options] `ifMatch`: the session version the
   *   write expects (sent as `If-Match`); a mismatch is an AgentStateError with status 409
   * @returns {Promise<any>} the service's answer
   */
  async appendEvent(sessionId, eventId, event, options = {}) {
    assertServiceId("session id", sessionId);
    assertServiceId("event id", eventId);
    return this.#append(sessionId, eventId, eventId, JSON.stringify(event), {
      "Content-Type": "application/json",
      "Idempotency-Key": eventId,
      ...ifMatchHeader(options.ifMatch),
    }, `appending event ${eventId} to session ${sessionId}`);
  }

  /**
   * Appends an atomic batch (`application/cloudevents-batch+json`): every
   * event is applied, with consecutive versions, or none is. Event `i` gets
   * the id `<idempotencyKey>:<i>`, the service's own convention for a batch,
   * so a retry of the same batch is a `duplicate`. `ifMatch` applies to the
   * batch (the version the session must be at before it). The body must stay
   * under {@link MAX_BATCH_BODY_BYTES} (one Kafka record), each event under
   * 256 KiB as the service re-encodes it.
   *
   * @param {string} sessionId
   * @param {string} idempotencyKey  prefix of the event ids
   * @param {{ source: string, type: string, data: unknown }[]} events at most 100
   * @param {{ ifMatch?: number }} [options]
   * @returns {Promise<any>} the service's answer
   */
  async appendBatch(sessionId, idempotencyKey, events, options = {}) {
    assertServiceId("session id", sessionId);
    if (!Array.isArray(events) || events.length === 0) {
      throw new Error("appendBatch: at least one event is required");
    }
    if (events.length > MAX_BATCH_EVENTS) {
      throw new RangeError(`appendBatch: ${events.length} events, more than the ${MAX_BATCH_EVENTS} of one atomic batch`);
    }
    assertServiceId("idempotency key", idempotencyKey);
    const withIds = events.map((event, i) => ({ ...event, id: `${idempotencyKey}:${i}` }));
    for (const event of withIds) assertServiceId("event id", event.id);
    const firstId = withIds[0].id;
    return this.#append(sessionId, firstId, idempotencyKey, JSON.stringify(withIds), {
      "Content-Type": "application/cloudevents-batch+json",
      "Idempotency-Key": idempotencyKey,
      ...ifMatchHeader(options.ifMatch),
    }, `appending a batch of ${withIds.length} events (${firstId} …) to session ${sessionId}`);
  }

  /**
   * @param {string} sessionId
   * @param {string} firstEventId the id whose decision answers for the request
   * @param {string} idempotencyKey the request's key
   * @param {string} body
   * @param {Record<string, string>} headers
   * @param {string} what
   */
  async #append(sessionId, firstEventId, idempotencyKey, body, headers, what) {
    const res = await this.request("POST", `/sessions/${sessionId}/events`, { body, headers });
    if (res.status === 200 || res.status === 201 || res.status === 202) {
      const answer = await readJson(res);
      const outcome = answer?.outcome ?? (res.status === 202 ? "pending" : "accepted");
      if (outcome === "accepted" || outcome === "duplicate") return answer;
      if (outcome === "pending") {
        // The poll reads the decision on the id, without the service's check
        // that it was taken for this body: `polled` tells callers that rely on
        // the body (a key derived from something else than the content) to
        // verify what was stored.
        const decided = await this.awaitDecision(sessionId, firstEventId, { idempotencyKey });
        return { ...(decided ?? {}), polled: true };
      }
      throw new AgentStateError(
        `${what} was not accepted (outcome ${outcome}): ${answer?.reason ?? answer?.detail ?? "no reason given"}`,
        { status: res.status, problem: answer }
      );
    }
    throw await errorFrom(res, what);
  }

  /**
   * Polls `GET /sessions/{sessionId}/events/{eventId}` until the ledger has
   * decided (200); 404 means not yet. Gives up after `pendingTimeoutMs` with
   * an AgentStateError whose `pending` is true: the write may still land.
   *
   * @param {string} sessionId
   * @param {string} eventId
   * @param {{ idempotencyKey?: string }} [options] the request's key, carried by a pending error
   */
  async awaitDecision(sessionId, eventId, options = {}) {
    const answer = await this.#poll(sessionId, eventId, `event ${eventId}`, options.idempotencyKey ?? eventId);
    const outcome = answer?.outcome ?? "accepted";
    if (outcome === "accepted" || outcome === "duplicate") return answer;
    throw new AgentStateError(
      `event ${eventId} in session ${sessionId} was not accepted (outcome ${outcome}): ${answer?.reason ?? "no reason given"}`,
      { status: 200, problem: answer }
    );
  }

  /**
   * The decision on an event id once there is one (any outcome).
   * @param {string} sessionId
   * @param {string} eventId
   * @param {string} what  for messages
   * @param {string} idempotencyKey  carried by a pending error
   */
  async #poll(sessionId, eventId, what, idempotencyKey) {
    assertServiceId("event id", eventId);
    const deadline = Date.now() + this.pendingTimeoutMs;
    let delay = 50;
    for (;;) {
      const res = await this.request("GET", `/sessions/${sessionId}/events/${eventId}`);
      if (res.status === 200) return (await readJson(res)) ?? {};
      if (res.status !== 404) {
        throw await errorFrom(res, `waiting for ${what} in session ${sessionId}`);
      }
      await discard(res);
      if (Date.now() + delay > deadline) {
        throw new AgentStateError(
          `${what} in session ${sessionId} was still pending after ${this.pendingTimeoutMs} ms: it may still be ` +
            `applied. Poll GET /sessions/${sessionId}/events/${eventId} (or read the session) before writing it ` +
            `again, or repeat it with the same Idempotency-Key ${idempotencyKey}; a retry under a new key could apply it twice`,
          { status: 202, pending: true, sessionId, eventId, idempotencyKey }
        );
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 500);
    }
  }

  /**
   * A session's current state (`GET /sessions/{id}`), or null when it has no
   * event.
   *
   * @param {string} sessionId
   * @returns {Promise<any | null>}
   */
  async readState(sessionId) {
    assertServiceId("session id", sessionId);
    const res = await this.request("GET", `/sessions/${sessionId}`);
    if (res.status === 404) {
      await discard(res);
      return null;
    }
    if (!res.ok) throw await errorFrom(res, `reading session ${sessionId}`);
    return readJson(res);
  }

  /**
   * Every timeline entry of a session, oldest first. A session without any
   * event (404) reads as empty.
   *
   * @param {string} sessionId
   * @returns {Promise<any[]>}
   */
  async readTimeline(sessionId) {
    assertServiceId("session id", sessionId);
    /** @type {any[]} */
    const entries = [];
    /** @type {string | undefined} */
    let cursor;
    for (;;) {
      const res = await this.request("GET", `/sessions/${sessionId}/events`, {
        query: { limit: 1000, cursor },
      });
      if (res.status === 404) {
        // No event at all, or erased while we were reading it.
        await discard(res);
        return [];
      }
      if (!res.ok) throw await errorFrom(res, `reading the timeline of session ${sessionId}`);
      const page = await readJson(res);
      if (Array.isArray(page?.entries)) entries.push(...page.entries);
      const next = page?.next;
      if (next === undefined || next === null || next === "") return entries;
      if (next === cursor) {
        throw new AgentStateError(`the timeline of session ${sessionId} repeats cursor ${next}`);
      }
      cursor = next;
    }
  }

  /**
   * Ids of the tenant's sessions whose id starts with `prefix`.
   * @param {string} prefix
   * @returns {Promise<string[]>}
   */
  async listSessionIds(prefix) {
    if (typeof prefix !== "string" || !/^[A-Za-z0-9._:@-]{0,128}$/.test(prefix)) {
      throw new Error(`Invalid session prefix ${JSON.stringify(prefix)}`);
    }
    /** @type {string[]} */
    const ids = [];
    /** @type {string | undefined} */
    let cursor;
    for (;;) {
      const res = await this.request("GET", "/sessions", {
        query: { prefix, limit: 1000, cursor },
      });
      if (res.status === 404) {
        await discard(res);
        return ids;
      }
      if (!res.ok) throw await errorFrom(res, `listing sessions with prefix ${prefix}`);
      const page = await readJson(res);
      for (const session of page?.sessions ?? []) {
        if (typeof session?.sessionId === "string") ids.push(session.sessionId);
      }
      const next = page?.next;
      if (next === undefined || next === null || next === "") return ids;
      if (next === cursor) {
        throw new AgentStateError(`listing sessions with prefix ${prefix} repeats cursor ${next}`);
      }
      cursor = next;
    }
  }

  /**
   * Erases a session; one without any event (404) counts as erased.
   *
   * The request carries an `Idempotency-Key` (`erase-<uuid>` unless one is
   * given), kept across its retries: a repeat answers like the first erasure
   * and never erases a new life of the session begun meanwhile (a keyless
   * DELETE would be a new erasure at every retry). A 202 (not decided yet) is
   * polled at `GET /sessions/{id}/events/<key>` until decided, within
   * `pendingTimeoutMs`; after that an AgentStateError with `pending` true and
   * `eventId` the key is thrown (the erasure may still happen: repeat it with
   * `{ idempotencyKey: err.eventId }`).
   *
   * @param {string} sessionId
   * @param {{ idempotencyKey?: string }} [options]
   */
  async deleteSession(sessionId, options = {}) {
    assertServiceId("session id", sessionId);
    const key = options.idempotencyKey ?? `erase-${randomUUID()}`;
    assertServiceId("idempotency key", key);
    const res = await this.request("DELETE", `/sessions/${sessionId}`, { headers: { "Idempotency-Key": key } });
    if (res.status === 202) {
      await discard(res);
      // Any decision settles it: accepted is erased, a refusal means there was
      // no session to erase (the service answers those 404).
      await this.#poll(sessionId, key, `the erasure ${key}`, key);
      return;
    }
    if (res.ok || res.status === 404) {
      await discard(res);
      return;
    }
    throw await errorFrom(res, `erasing session ${sessionId}`);
  }
}
