export interface AgentStateClientOptions {
  /** Base URL of the agent-state service, e.g. `http://localhost:8080`. */
  baseUrl: string | URL;
  /** Sent as `X-API-Key`. */
  apiKey?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** fetch implementation; defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** Retries after the first try on network errors and 429/502/503/504 (default 4). */
  maxRetries?: number;
  /** Timeout of one HTTP request in ms (default 30000). */
  requestTimeoutMs?: number;
  /** How long to poll an append the ledger answered `pending` (202), in ms (default 30000). */
  pendingTimeoutMs?: number;
}

/** A non-success answer of the service; `problem` is the parsed problem+json body. */
export declare class AgentStateError extends Error {
  constructor(
    message: string,
    options?: {
      status?: number;
      problem?: unknown;
      cause?: unknown;
      pending?: boolean;
      sessionId?: string;
      eventId?: string;
      idempotencyKey?: string;
    }
  );
  readonly status: number | undefined;
  readonly problem: unknown;
  /**
   * True when the write (or erasure) was still undecided (202) after `pendingTimeoutMs`: it may still be
   * applied. Poll `GET /sessions/{sessionId}/events/{eventId}` or read the session before writing it again;
   * a retry under a new key could apply it twice.
   */
  readonly pending: boolean;
  /** The session of a pending write. */
  readonly sessionId: string | undefined;
  /** The event id whose decision answers for a pending write (the erasure's key for `deleteSession`). */
  readonly eventId: string | undefined;
  /** The Idempotency-Key the pending request was sent with. */
  readonly idempotencyKey: string | undefined;
}

export interface TimelineEntry {
  eventId: string;
  outcome: "accepted" | "conflict" | "rejected";
  version?: number;
  sessionVersion?: number;
  reason?: string;
  event: {
    id: string;
    source: string;
    type: string;
    subject?: string;
    time?: string;
    data?: unknown;
    [key: string]: unknown;
  };
}

/** The service's answer to an append; `polled` is set when it came from polling a 202. */
export interface AppendAnswer {
  sessionId?: string;
  outcome?: "accepted" | "duplicate";
  eventIds?: string[];
  firstVersion?: number;
  version?: number;
  sessionVersion?: number;
  /**
   * The decision was read by polling the event id after a 202, which does not check that it was taken
   * for this request's body (another writer may have used the same key).
   */
  polled?: true;
  [key: string]: unknown;
}

export interface AppendOptions {
  /** The session version the write expects (`If-Match`); a mismatch fails with status 409. */
  ifMatch?: number;
}

/** Thin HTTP client of the agent-state API used by the saver and the session. */
export declare class AgentStateClient {
  constructor(options: AgentStateClientOptions);
  readonly baseUrl: string;
  /**
   * Appends one event under `eventId` (the Idempotency-Key); resolves once accepted or a duplicate.
   * One event may weigh at most 256 KiB as the service re-encodes it.
   */
  appendEvent(
    sessionId: string,
    eventId: string,
    event: { source: string; type: string; data: unknown },
    options?: AppendOptions
  ): Promise<AppendAnswer>;
  /**
   * Appends an atomic batch (at most 100 events, a body under about 2 MiB − 64 KiB: it becomes one Kafka
   * record); event `i` gets the id `<idempotencyKey>:<i>`. Resolves once accepted or a duplicate.
   */
  appendBatch(
    sessionId: string,
    idempotencyKey: string,
    events: Array<{ source: string; type: string; data: unknown }>,
    options?: AppendOptions
  ): Promise<AppendAnswer>;
  /**
   * Polls a pending event until the ledger decided on it; after `pendingTimeoutMs` throws an
   * AgentStateError with `pending` true.
   */
  awaitDecision(sessionId: string, eventId: string, options?: { idempotencyKey?: string }): Promise<any>;
  /** Every entry of a session's timeline, oldest first; `[]` when it has no event. */
  readTimeline(sessionId: string): Promise<TimelineEntry[]>;
  /** The session's current state (`GET /sessions/{id}`), or null when it has no event. */
  readState(sessionId: string): Promise<any | null>;
  /** Ids of the tenant's sessions that start with `prefix`. */
  listSessionIds(prefix: string): Promise<string[]>;
  /**
   * Erases a session (a session without events counts as erased). Sent with `Idempotency-Key`
   * (`erase-<uuid>` unless given), kept across retries, so a repeat never erases a new life of the
   * session; a 202 is polled until decided, else an AgentStateError with `pending` true and `eventId`
   * the key is thrown (pass it back as `idempotencyKey` to repeat the same erasure).
   */
  deleteSession(sessionId: string, options?: { idempotencyKey?: string }): Promise<void>;
}
