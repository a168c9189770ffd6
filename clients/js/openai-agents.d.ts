import type {
  AgentInputItem,
  SessionHistoryTransactionArgs,
  SessionHistoryTransactionAwareSession,
} from "@openai/agents-core";
import type { AgentStateClient, AgentStateClientOptions } from "./client.js";

export {
  AgentStateClient,
  AgentStateError,
  type AgentStateClientOptions,
  type AppendAnswer,
  type AppendOptions,
  type TimelineEntry,
} from "./client.js";

/** CloudEvent type of appended items: `{ items }` (`operationId` too when part of a history transaction). */
export declare const ITEMS_ADDED_EVENT_TYPE: "dev.openai.agents.items.added";
/** CloudEvent type of a popped item: `{ itemSeq }`. */
export declare const ITEM_POPPED_EVENT_TYPE: "dev.openai.agents.item.popped";
/** CloudEvent type of a cleared history: `{}`. */
export declare const CLEARED_EVENT_TYPE: "dev.openai.agents.cleared";
/** CloudEvent type of the head of a history transaction. */
export declare const HISTORY_TRANSACTION_EVENT_TYPE: "dev.openai.agents.history.transaction";
/** CloudEvent source of every event the session appends. */
export declare const AGENTS_EVENT_SOURCE: "agent://openai-agents";

export interface AgentStateSessionOptions extends AgentStateClientOptions {
  /** The conversation's id, any non-empty string; `getSessionId()` returns it. */
  sessionId: string;
  /** Prefix of the agent-state session id, at most 86 characters of `[A-Za-z0-9._:@-]` (default `"oa-"`). */
  sessionPrefix?: string;
  /** Tries of one `popItem` against concurrent writers before it fails with status 409 (default 32). */
  maxPopAttempts?: number;
}

/**
 * OpenAI Agents SDK session keeping a conversation's items in one agent-state session.
 * Implements `Session` and `SessionHistoryTransactionAwareSession` of `@openai/agents-core`.
 */
export declare class AgentStateSession implements SessionHistoryTransactionAwareSession {
  constructor(options: AgentStateSessionOptions);
  /** The conversation id, as given. */
  readonly sessionId: string;
  /** Prefix of the agent-state session id. */
  readonly sessionPrefix: string;
  /** The agent-state session holding the items: `<prefix><sessionId>` or `<prefix>h.<sha256 hex, 40>`. */
  readonly agentStateSessionId: string;
  readonly maxPopAttempts: number;
  /** The underlying HTTP client. */
  readonly client: AgentStateClient;
  /** The agent-state session id a conversation id maps to. */
  static agentStateSessionIdFor(sessionId: string, sessionPrefix?: string): string;
  getSessionId(): Promise<string>;
  /** The items in order; with `limit`, the last `limit` of them. */
  getItems(limit?: number): Promise<AgentInputItem[]>;
  /**
   * Appends items atomically (one event, or one atomic batch when they do not fit in one). Items are
   * checked first (plain JSON, storable text, nesting ≤ 29 levels, arrays ≤ 10,000 elements): a TypeError
   * or RangeError means nothing was written. An AgentStateError with `pending` true means the write may
   * still land: read the session before adding the items again.
   */
  addItems(items: AgentInputItem[]): Promise<void>;
  /** Removes and returns the last item; `undefined` when the history is empty. */
  popItem(): Promise<AgentInputItem | undefined>;
  /** Empties the history with a `dev.openai.agents.cleared` event; the timeline keeps the earlier events. */
  clearSession(): Promise<void>;
  /** Erases the agent-state session and all its events. */
  deleteSession(): Promise<void>;
  /** Applies a history transaction as one atomic batch, idempotent per `operationId`. */
  applyHistoryTransaction(args: SessionHistoryTransactionArgs): Promise<void>;
}
