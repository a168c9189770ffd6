#!/usr/bin/env python3
"""Append latency through REST for a fresh session against one that already holds N messages.

Run against a service started with `./mvnw -Prun` (or any base URL):
    python3 bench/scripts/append_latency.py [--base http://localhost:8080] [--messages 10000] [--appends 300]
Each append is one message.appended event with an Idempotency-Key, answered after the ledger's decision (201).
Prints p50/p90/p99 in milliseconds for both sessions; no figure is asserted.
"""
import argparse
import http.client
import json
import statistics
import time
import uuid
from urllib.parse import urlparse


def post(conn, session, key, body, if_match=None):
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    if if_match is not None:
        headers["If-Match"] = str(if_match)
    conn.request("POST", f"/sessions/{session}/events", body=body, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    if response.status not in (200, 201):
        raise SystemExit(f"append failed: {response.status} {payload[:300]!r}")
    return json.loads(payload)


def message(content, role="user"):
    return {"source": "agent://bench", "type": "agentstate.message.appended",
            "data": {"role": role, "content": content}}


def fill(conn, session, count):
    text = "x" * 200
    for start in range(0, count, 100):
        batch = [message(f"{i} {text}") for i in range(start, min(count, start + 100))]
        post(conn, session, f"{session}-fill-{start}", json.dumps(batch))


def measure(conn, session, appends):
    latencies = []
    for i in range(appends):
        body = json.dumps(message(f"step {i} " + "y" * 200))
        started = time.perf_counter()
        post(conn, session, f"{session}-m-{i}", body)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    return {"p50": round(statistics.median(latencies), 2), "p90": round(pick(0.90), 2), "p99": round(pick(0.99), 2)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://localhost:8080")
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--appends", type=int, default=300)
    args = parser.parse_args()
    url = urlparse(args.base)
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
    run = uuid.uuid4().hex[:8]
    big = f"lat-big-{run}"
    fill(conn, big, args.messages)
    conn.request("GET", f"/sessions/{big}")
    state = json.loads(conn.getresponse().read())
    print(f"big session holds {state['messageCount']} messages, {state['bytes']} bytes, version {state['version']}")
    # warm both paths first, then interleave nothing: one session after the other, same connection
    measure(conn, f"lat-warm-{run}", 50)
    fresh = measure(conn, f"lat-new-{run}", args.appends)
    grown = measure(conn, big, args.appends)
    print(json.dumps({"new_session_ms": fresh, f"session_with_{args.messages}_messages_ms": grown}, indent=2))


if __name__ == "__main__":
    main()
