import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  BaseStore,
  type Operation,
  type OperationResults,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type DeltaChannelHistory,
  type PendingWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import type { AgentStateClient, AgentStateClientOptions } from "./client.js";

export {
  AgentStateClient,
  AgentStateError,
  type AgentStateClientOptions,
  type AppendAnswer,
  type AppendOptions,
  type TimelineEntry,
} from "./client.js";
export {
  AgentStateSession,
  AGENTS_EVENT_SOURCE,
  CLEARED_EVENT_TYPE,
  HISTORY_TRANSACTION_EVENT_TYPE,
  ITEMS_ADDED_EVENT_TYPE,
  ITEM_POPPED_EVENT_TYPE,
  type AgentStateSessionOptions,
} from "./openai-agents.js";

/** CloudEvent type of a stored checkpoint: `dev.langgraph.checkpoint`. */
export declare const CHECKPOINT_EVENT_TYPE: "dev.langgraph.checkpoint";
/** CloudEvent type of one task's pending writes: `dev.langgraph.writes`. */
export declare const WRITES_EVENT_TYPE: "dev.langgraph.writes";
/** CloudEvent type of a part of a checkpoint or writes event (values that did not fit), same atomic batch. */
export declare const BLOBS_EVENT_TYPE: "dev.langgraph.blobs";
/** CloudEvent source of every event the saver appends. */
export declare const EVENT_SOURCE: "agent://langgraph";

export interface AgentStateSaverOptions extends AgentStateClientOptions {
  /** Prefix of every session id, at most 86 characters of `[A-Za-z0-9._:@-]` (default `"lg-"`). */
  sessionPrefix?: string;
  /** Serializer for checkpoints, metadata, channel values and writes. */
  serde?: SerializerProtocol;
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

/** The `source` of the store's events. */
export declare const STORE_SOURCE: "agent://langgraph-store";

export interface AgentStateStoreOptions extends AgentStateClientOptions {
  /** Prefix of every session id (default "lgs-"). */
  sessionPrefix?: string;
  /**
   * Semantic search: each put's text at `fields` (LangGraph paths, default `["$"]`) is recorded as a fact the service
   * embeds, and `search` with a `query` ranks by it. `embeddings` and `dims` of LangGraph's IndexConfig are ignored:
   * the service's model embeds. Default off.
   */
  index?: boolean | { fields?: string[]; embeddings?: unknown; dims?: number };
  /** How long a `search` with a query waits for facts not embedded yet (default 10,000 ms). */
  indexTimeoutMs?: number;
}

/**
 * A LangGraph `BaseStore` on agent-state: one session per namespace, items as fields of its `shared` scope, written
 * by conditional `agentstate.state.patched` events. Behaves as `InMemoryStore`; with `index`, `search` with a `query`
 * ranks by the service's semantic memory.
 */
export declare class AgentStateStore extends BaseStore {
  constructor(options: AgentStateStoreOptions);
  readonly sessionPrefix: string;
  readonly client: AgentStateClient;
  /** The session that holds a namespace: `<prefix>n.<labels>` or `<prefix>h.<sha256 hex, 40>`. */
  sessionIdFor(namespace: string[]): string;
  batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>>;
}
