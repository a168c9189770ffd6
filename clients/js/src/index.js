/**
 * @agent-state/langgraph: a LangGraph.js checkpoint saver and an OpenAI
 * Agents SDK session, both backed by the agent-state service.
 *
 * The session alone (without LangGraph) is also available as
 * `@agent-state/langgraph/openai-agents`.
 *
 * @module
 */

export {
  AgentStateSaver,
  CHECKPOINT_EVENT_TYPE,
  WRITES_EVENT_TYPE,
  BLOBS_EVENT_TYPE,
  EVENT_SOURCE,
} from "./saver.js";
export {
  AgentStateSession,
  ITEMS_ADDED_EVENT_TYPE,
  ITEM_POPPED_EVENT_TYPE,
  CLEARED_EVENT_TYPE,
  HISTORY_TRANSACTION_EVENT_TYPE,
  AGENTS_EVENT_SOURCE,
} from "./session.js";
export { AgentStateClient, AgentStateError } from "./client.js";
export { AgentStateStore, STORE_SOURCE } from "./store.js";
