import { randomBytes } from "node:crypto";
import { AgentStateSession } from "../src/openai-agents.js";
import { serviceOptions } from "./helpers.js";

/** `n` random lowercase letters and digits. */
export function randomText(n = 8) {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let text = "";
  for (const byte of randomBytes(n)) text += alphabet[byte % alphabet.length];
  return text;
}

/** "oa-" + 8 random lowercase letters/digits + "-": a prefix of its own per test file. */
export function randomAgentsPrefix() {
  return `oa-${randomText()}-`;
}

/**
 * Creates AgentStateSessions on the live service (AGENT_STATE_URL) and erases
 * every agent-state session they used on `cleanup()`.
 */
export class SessionFactory {
  constructor() {
    this.options = serviceOptions();
    this.sessionPrefix = randomAgentsPrefix();
    /** @type {Set<string>} */
    this.used = new Set();
  }

  /**
   * @param {string} [sessionId] default: a fresh random id
   * @param {object} [extra] more AgentStateSession options
   * @returns {AgentStateSession}
   */
  create(sessionId = `conv-${randomText(12)}`, extra = {}) {
    const session = new AgentStateSession({
      ...this.options,
      sessionPrefix: this.sessionPrefix,
      sessionId,
      ...extra,
    });
    this.used.add(session.agentStateSessionId);
    return session;
  }

  async cleanup() {
    const any = this.create("cleanup");
    for (const id of this.used) await any.client.deleteSession(id);
  }
}

/**
 * Accepted timeline entries of a session, optionally of one type.
 * @param {AgentStateSession} session
 * @param {string} [type]
 */
export async function acceptedEvents(session, type) {
  const entries = await session.client.readTimeline(session.agentStateSessionId);
  return entries.filter((e) => e.outcome === "accepted" && (type === undefined || e.event?.type === type));
}
