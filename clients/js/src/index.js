/**
 * @agent-state/langgraph: a LangGraph.js checkpoint saver backed by the
 * agent-state service.
 *
 * @module
 */

export {
  AgentStateSaver,
  CHECKPOINT_EVENT_TYPE,
  WRITES_EVENT_TYPE,
  EVENT_SOURCE,
} from "./saver.js";
export { AgentStateClient, AgentStateError } from "./client.js";
