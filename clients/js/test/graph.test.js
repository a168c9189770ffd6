import { AIMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { Command, END, MemorySaver, MessagesAnnotation, START, StateGraph, interrupt } from "@langchain/langgraph";
import { CHECKPOINT_EVENT_TYPE } from "../src/index.js";
import { createSaver, destroySaver, serviceOptions } from "./helpers.js";

serviceOptions();

// A real graph: an agent that asks for a tool, a human approval that interrupts the run, the tool, the answer.
function agent(state) {
  const last = state.messages[state.messages.length - 1];
  if (last instanceof ToolMessage) {
    return {
      messages: [new AIMessage(last.content === "denied" ? "I did not check the weather." : `It is ${last.content} in Oslo.`)],
    };
  }
  return {
    messages: [
      new AIMessage({ content: "", tool_calls: [{ id: "call-1", name: "weather", args: { city: "Oslo" }, type: "tool_call" }] }),
    ],
  };
}

function approve(state) {
  const call = state.messages[state.messages.length - 1].tool_calls[0];
  const answer = interrupt({ question: `run ${call.name}(${call.args.city})?` });
  return answer === "yes" ? {} : { messages: [new ToolMessage({ content: "denied", tool_call_id: call.id })] };
}

function tools(state) {
  const call = state.messages[state.messages.length - 1].tool_calls[0];
  return { messages: [new ToolMessage({ content: "3°C", tool_call_id: call.id })] };
}

function graphOn(checkpointer) {
  return new StateGraph(MessagesAnnotation)
    .addNode("agent", agent)
    .addNode("approve", approve)
    .addNode("tools", tools)
    .addEdge(START, "agent")
    .addConditionalEdges("agent", (s) => (s.messages[s.messages.length - 1].tool_calls?.length ? "approve" : END), [
      "approve",
      END,
    ])
    .addConditionalEdges("approve", (s) => (s.messages[s.messages.length - 1] instanceof ToolMessage ? "agent" : "tools"), [
      "agent",
      "tools",
    ])
    .addEdge("tools", "agent")
    .compile({ checkpointer });
}

const shape = (messages) =>
  messages.map(
    (m) =>
      `${m.getType()}: ${m.content || (m.tool_calls || []).map((c) => `${c.name}(${JSON.stringify(c.args)}) as ${c.id}`).join()}`
  );

async function run(checkpointer, thread) {
  const config = { configurable: { thread_id: thread } };
  const first = graphOn(checkpointer);
  await first.invoke({ messages: [new HumanMessage("What is the weather in Oslo?")] }, config);
  const paused = await first.getState(config);
  return { config, paused };
}

describe("a LangGraph StateGraph on AgentStateSaver", () => {
  let saver;
  beforeAll(() => {
    saver = createSaver();
  });
  afterAll(async () => {
    if (saver) await destroySaver(saver);
  });

  it("is interrupted, resumes in a new process, and time-travels to a fork, as on MemorySaver", async () => {
    const memory = new MemorySaver();
    const ours = await run(saver, "trip");
    const theirs = await run(memory, "trip");

    // interrupted before the tool runs, with the question kept in the checkpoint
    expect(ours.paused.next).toEqual(["approve"]);
    expect(ours.paused.tasks[0].interrupts[0].value).toEqual({ question: "run weather(Oslo)?" });
    expect(shape(ours.paused.values.messages)).toEqual(shape(theirs.paused.values.messages));
    const checkpoints = (await saver.client.readTimeline(saver.sessionIdFor("trip"))).filter(
      (e) => e.outcome === "accepted" && e.event?.type === CHECKPOINT_EVENT_TYPE
    );
    expect(checkpoints.length).toBeGreaterThanOrEqual(3);

    // resumed by another saver and another compiled graph, as a restarted worker would
    const restarted = graphOn(new (saver.constructor)({ ...serviceOptions(), sessionPrefix: saver.sessionPrefix }));
    const done = await restarted.invoke(new Command({ resume: "yes" }), ours.config);
    const doneInMemory = await graphOn(memory).invoke(new Command({ resume: "yes" }), theirs.config);
    expect(shape(done.messages)).toEqual([
      "human: What is the weather in Oslo?",
      'ai: weather({"city":"Oslo"}) as call-1',
      "tool: 3°C",
      "ai: It is 3°C in Oslo.",
    ]);
    expect(shape(done.messages)).toEqual(shape(doneInMemory.messages));
    expect((await restarted.getState(ours.config)).next).toEqual([]);

    // time travel: back to the interrupted checkpoint, and fork it by answering as the approval node did not
    const travel = async (graph, config) => {
      const history = [];
      for await (const state of graph.getStateHistory(config)) history.push(state);
      const atApproval = history.find((s) => s.next.length === 1 && s.next[0] === "approve");
      const fork = await graph.updateState(
        atApproval.config,
        { messages: [new ToolMessage({ content: "denied", tool_call_id: "call-1" })] },
        "approve"
      );
      return { history, branch: await graph.invoke(null, fork) };
    };
    const { history, branch } = await travel(restarted, ours.config);
    expect(shape(branch.messages).slice(-2)).toEqual(["tool: denied", "ai: I did not check the weather."]);
    expect(shape((await restarted.getState(ours.config)).values.messages).at(-1)).toEqual(
      "ai: I did not check the weather."
    );
    // the first branch is still there, by its checkpoint id
    expect(shape((await restarted.getState(history[0].config)).values.messages).at(-1)).toEqual("ai: It is 3°C in Oslo.");
    // and the same travel on MemorySaver gives the same branch and the same history
    const inMemory = await travel(graphOn(memory), theirs.config);
    expect(shape(branch.messages)).toEqual(shape(inMemory.branch.messages));
    expect(history.map((s) => s.next)).toEqual(inMemory.history.map((s) => s.next));
    const after = [];
    for await (const state of restarted.getStateHistory(ours.config)) after.push(state.next);
    const afterInMemory = [];
    for await (const state of graphOn(memory).getStateHistory(theirs.config)) afterInMemory.push(state.next);
    expect(after).toEqual(afterInMemory);
  });
});
