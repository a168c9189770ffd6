import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type DeltaChannelHistory,
  type PendingWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";

/** CloudEvent type of a stored checkpoint: `dev.langgraph.checkpoint`. */
export declare const CHECKPOINT_EVENT_TYPE: "dev.langgraph.checkpoint";
/** CloudEvent type of one task's pending writes: `dev.langgraph.writes`. */
export declare const WRITES_EVENT_TYPE: "dev.langgraph.writes";
/** CloudEvent source of every event the saver appends. */
export declare const EVENT_SOURCE: "agent://langgraph";

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

export interface AgentStateSaverOptions extends AgentStateClientOptions {
  /** Prefix of every session id, at most 86 characters of `[A-Za-z0-9._:@-]` (default `"lg-"`). */
  sessionPrefix?: string;
  /** Serializer for checkpoints, metadata, channel values and writes. */
  serde?: SerializerProtocol;
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

/** Thin HTTP client of the agent-state API used by the saver. */
export declare class AgentStateClient {
  constructor(options: AgentStateClientOptions);
  readonly baseUrl: string;
  /** Appends one event under `eventId` (the Idempotency-Key); resolves once accepted or a duplicate. */
  appendEvent(
    sessionId: string,
    eventId: string,
    event: { source: string; type: string; data: unknown }
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

/**
 * LangGraph checkpoint saver keeping each thread in one agent-state session.
 */
export declare class AgentStateSaver extends BaseCheckpointSaver<number> {
  constructor(options: AgentStateSaverOptions);
  /** Prefix of every session id this saver uses. */
  readonly sessionPrefix: string;
  /** The underlying HTTP client. */
  readonly client: AgentStateClient;
  /** The session that holds a thread: `<prefix>t.<threadId>` or `<prefix>h.<sha256 hex, 40>`. */
  sessionIdFor(threadId: string): string;
  /** Whether a session id has the shape this saver's thread encoding produces. */
  ownsSession(sessionId: string): boolean;
  getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined>;
  list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple>;
  put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions
  ): Promise<RunnableConfig>;
  putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void>;
  deleteThread(threadId: string): Promise<void>;
  getDeltaChannelHistory(options: {
    config: RunnableConfig;
    channels: string[];
  }): Promise<Record<string, DeltaChannelHistory>>;
}
