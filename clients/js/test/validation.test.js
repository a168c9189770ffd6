import { validate, deltaChannelHistoryTests } from "@langchain/langgraph-checkpoint-validation";
import { createSaver, destroySaver, serviceOptions } from "./helpers.js";

// Fail the file at once, with a clear message, when no service is given.
serviceOptions();

/** @type {import("@langchain/langgraph-checkpoint-validation").CheckpointSaverTestInitializer<import("../src/index.js").AgentStateSaver>} */
const initializer = {
  checkpointerName: "@agent-state/langgraph",
  createCheckpointer: () => createSaver(),
  destroyCheckpointer: (saver) => destroySaver(saver),
};

validate(initializer);

// Opt-in part of the suite (not run by validate): the ancestor walk that
// rebuilds DeltaChannel state.
deltaChannelHistoryTests(initializer);
