/**
 * @agent-state/langgraph/openai-agents: the OpenAI Agents SDK session alone,
 * without loading the LangGraph saver (or its peer dependencies).
 *
 * @module
 */

export {
  AgentStateSession,
  ITEMS_ADDED_EVENT_TYPE,
  ITEM_POPPED_EVENT_TYPE,
  CLEARED_EVENT_TYPE,
  HISTORY_TRANSACTION_EVENT_TYPE,
  AGENTS_EVENT_SOURCE,
} from "./session.js";
export { AgentStateClient, AgentStateError } from "./client.js";
