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
  constructor(message: string, options?: { status?: number; problem?: unknown; cause?: unknown });
  readonly status: number | undefined;
  readonly problem: unknown;
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

export interface AppendOptions {
  /** The session version the write expects (`If-Match`); a mismatch fails with status 409. */
  ifMatch?: number;
}

/** Thin HTTP client of the agent-state API used by the saver and the session. */
export declare class AgentStateClient {
  constructor(options: AgentStateClientOptions);
  readonly baseUrl: string;
  /** Appends one event under `eventId` (the Idempotency-Key); resolves once accepted or a duplicate. */
  appendEvent(
    sessionId: string,
    eventId: string,
    event: { source: string; type: string; data: unknown },
    options?: AppendOptions
  ): Promise<any>;
  /**
   * Appends an atomic batch (at most 100 events); event `i` gets the id `<idempotencyKey>:<i>`.
   * Resolves once accepted or a duplicate.
   */
  appendBatch(
    sessionId: string,
    idempotencyKey: string,
    events: Array<{ source: string; type: string; data: unknown }>,
    options?: AppendOptions
  ): Promise<any>;
  /** Polls a pending event until the ledger decided on it. */
  awaitDecision(sessionId: string, eventId: string): Promise<any>;
  /** Every entry of a session's timeline, oldest first; `[]` when it has no event. */
  readTimeline(sessionId: string): Promise<TimelineEntry[]>;
  /** Ids of the tenant's sessions that start with `prefix`. */
  listSessionIds(prefix: string): Promise<string[]>;
  /** Erases a session (a session without events counts as erased). */
  deleteSession(sessionId: string): Promise<void>;
}
