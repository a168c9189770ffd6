import { randomBytes } from "node:crypto";
import { AgentStateSaver } from "../src/index.js";

/**
 * The service under test, from the environment. Throws (and so fails the
 * test file at once) when AGENT_STATE_URL is not set.
 */
export function serviceOptions() {
  const baseUrl = process.env.AGENT_STATE_URL;
  if (!baseUrl) {
    throw new Error(
      "AGENT_STATE_URL is not set: these tests run against a live agent-state service. " +
        "Start one and run e.g. AGENT_STATE_URL=http://localhost:8080 npm test " +
        "(AGENT_STATE_API_KEY or AGENT_STATE_TOKEN if it needs auth)."
    );
  }
  return {
    baseUrl,
    apiKey: process.env.AGENT_STATE_API_KEY || undefined,
    token: process.env.AGENT_STATE_TOKEN || undefined,
  };
}

/** "lg-" + 8 random lowercase letters/digits + "-". */
export function randomPrefix() {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = randomBytes(8);
  let text = "";
  for (const byte of bytes) text += alphabet[byte % alphabet.length];
  return `lg-${text}-`;
}

/** A saver on its own fresh session prefix. */
export function createSaver() {
  return new AgentStateSaver({ ...serviceOptions(), sessionPrefix: randomPrefix() });
}

/** Erases every session under the saver's prefix. */
export async function destroySaver(saver) {
  const ids = await saver.client.listSessionIds(saver.sessionPrefix);
  for (const id of ids) {
    if (id.startsWith(saver.sessionPrefix)) await saver.client.deleteSession(id);
  }
}
