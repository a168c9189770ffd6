/**
 * The Agents SDK's real runner, driven by its scripted model
 * (`@openai/agents-core/testing`), on an AgentStateSession and on the SDK's
 * MemorySession: the two must end with the same history and send the model
 * the same input. Runs against a live agent-state service (AGENT_STATE_URL).
 */
import { Agent, MemorySession, OutputGuardrailTripwireTriggered, run, setTracingDisabled, tool } from "@openai/agents-core";
import { ScriptedModel, assistantMessage, functionCall } from "@openai/agents-core/testing";
import { HISTORY_TRANSACTION_EVENT_TYPE } from "../src/openai-agents.js";
import { serviceOptions } from "./helpers.js";
import { SessionFactory, acceptedEvents } from "./agents-helpers.js";

// Fail the file at once, with a clear message, when no service is given.
serviceOptions();
setTracingDisabled(true);

const weather = tool({
  name: "get_weather",
  description: "The weather in a city.",
  parameters: {
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
    additionalProperties: false,
  },
  strict: true,
  execute: async ({ city }) => `sunny in ${city}`,
});

/** The same two-turn script for every run: a tool call, then an answer, per turn. */
function twoTurnModel() {
  return new ScriptedModel([
    [functionCall("get_weather", { city: "Paris" }, { callId: "call_paris" })],
    [assistantMessage("It is sunny in Paris.")],
    [functionCall("get_weather", { city: "Rome" }, { callId: "call_rome" })],
    [assistantMessage("Rome is sunny too.")],
  ]);
}

/** Runs the two turns on a session; returns the model (its recorded calls) and the outputs. */
async function twoTurns(session) {
  const model = twoTurnModel();
  const agent = new Agent({ name: "forecaster", instructions: "Answer with the weather.", model, tools: [weather] });
  const first = await run(agent, "What is the weather in Paris?", { session });
  const second = await run(agent, "And in Rome?", { session });
  model.assertComplete();
  return { model, outputs: [first.finalOutput, second.finalOutput] };
}

describe("AgentStateSession with the Agents SDK runner", () => {
  const factory = new SessionFactory();
  afterAll(async () => {
    await factory.cleanup();
  });

  it("stores the same items as MemorySession over two turns with tool calls", async () => {
    const memory = new MemorySession();
    const stored = factory.create();

    const expected = await twoTurns(memory);
    const actual = await twoTurns(stored);

    expect(actual.outputs).toEqual(["It is sunny in Paris.", "Rome is sunny too."]);
    expect(actual.outputs).toEqual(expected.outputs);
    const memoryItems = await memory.getItems();
    const storedItems = await stored.getItems();
    expect(storedItems).toEqual(memoryItems);
    expect(storedItems.map((item) => item.type ?? "message")).toEqual([
      "message",
      "function_call",
      "function_call_result",
      "message",
      "message",
      "function_call",
      "function_call_result",
      "message",
    ]);

    // The second turn's model calls saw the first turn's history, read back from agent-state.
    expect(actual.model.calls.length).toBe(expected.model.calls.length);
    actual.model.calls.forEach((call, i) => {
      expect(call.request.input, `model call ${i}`).toEqual(expected.model.calls[i].request.input);
    });
    expect(actual.model.calls[2].request.input).toEqual(memoryItems.slice(0, 5));

    // Another process on the same conversation reads the same history.
    expect(await factory.create(stored.sessionId).getItems()).toEqual(memoryItems);
  });

  it("persists a blocked terminal tool output through applyHistoryTransaction, as MemorySession does", async () => {
    const lookup = tool({
      name: "lookup",
      description: "Looks something up.",
      parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"], additionalProperties: false },
      strict: true,
      execute: async ({ q }) => `secret about ${q}`,
    });
    const noSecrets = {
      name: "no-secrets",
      execute: async ({ agentOutput }) => ({ tripwireTriggered: String(agentOutput).includes("secret"), outputInfo: {} }),
    };
    const attempt = async (session) => {
      const model = new ScriptedModel([[functionCall("lookup", { q: "x" }, { callId: "call_lookup" })]]);
      const agent = new Agent({
        name: "librarian",
        instructions: "Look things up.",
        model,
        tools: [lookup],
        toolUseBehavior: "stop_on_first_tool",
        outputGuardrails: [noSecrets],
      });
      await expect(run(agent, "Tell me about x", { session })).rejects.toBeInstanceOf(OutputGuardrailTripwireTriggered);
      return session.getItems();
    };

    const memoryItems = await attempt(new MemorySession());
    const stored = factory.create();
    const storedItems = await attempt(stored);
    expect(storedItems).toEqual(memoryItems);
    expect(JSON.stringify(storedItems)).not.toContain("secret");
    expect(await acceptedEvents(stored, HISTORY_TRANSACTION_EVENT_TYPE)).toHaveLength(1);
  });
});
