#!/usr/bin/env python3
"""Submits a task over Switchboard's TCP event-bus bridge and prints its result event.

Standard library only. The bridge's framing: each frame is a 4-byte big-endian length followed
by that many bytes of UTF-8 JSON; every frame carries the token in headers.authorization.

    SWITCHBOARD_TOKEN=$(java -jar switchboard.jar token --sub py-example) \\
        python3 submit.py 127.0.0.1 7000 "Say hello" [model]

Prints the finished task's event as one JSON line, e.g. {"id": "...", "status": "succeeded", "result": "..."};
exits 1 on a refusal (err frame), a failed task, or no result within SWITCHBOARD_WAIT_SECONDS (default 120).
"""
import json
import os
import socket
import struct
import sys
import time
import uuid


def send_frame(sock, frame):
    data = json.dumps(frame).encode("utf-8")
    sock.sendall(struct.pack(">I", len(data)) + data)


def read_exactly(sock, n):
    chunks = b""
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError("the bridge closed the connection")
        chunks += chunk
    return chunks


def read_frame(sock):
    (length,) = struct.unpack(">I", read_exactly(sock, 4))
    return json.loads(read_exactly(sock, length).decode("utf-8"))


def main():
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 7000
    text = sys.argv[3] if len(sys.argv) > 3 else "Say hello"
    model = sys.argv[4] if len(sys.argv) > 4 else None
    token = os.environ.get("SWITCHBOARD_TOKEN")
    if not token:
        print("set SWITCHBOARD_TOKEN to a token the gateway accepts (java -jar switchboard.jar token --sub <name>)",
              file=sys.stderr)
        return 2
    wait = float(os.environ.get("SWITCHBOARD_WAIT_SECONDS", "120"))
    headers = {"authorization": "Bearer " + token}

    with socket.create_connection((host, port), timeout=wait) as sock:
        # register before submitting, so that no event of the task can be missed
        send_frame(sock, {"type": "register", "address": "switchboard.tasks.events", "headers": headers})
        reply_address = str(uuid.uuid4())
        task = {"input": text}
        if model:
            task["model"] = model
        send_frame(sock, {"type": "send", "address": "switchboard.tasks.submit", "headers": headers,
                          "replyAddress": reply_address, "body": task})
        task_id = None
        early = {}
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                frame = read_frame(sock)
            except socket.timeout:
                break
            if frame.get("type") == "err":
                # access_denied (token or address), or the HTTP API's error: failureCode its status
                print(json.dumps({"error": frame.get("message"), "status": frame.get("failureCode")}))
                return 1
            if frame.get("address") == reply_address:
                task_id = frame["body"]["id"]
                print("task %s %s" % (task_id, frame["body"]["status"]), file=sys.stderr)
                event = early.get(task_id)
            elif frame.get("address") == "switchboard.tasks.events":
                event = frame["body"]
                if task_id is None:
                    early[event["id"]] = event
                    continue
                if event["id"] != task_id:
                    continue
            else:
                continue
            if event and event.get("status") in ("succeeded", "failed"):
                print(json.dumps(event))
                return 0 if event["status"] == "succeeded" else 1
    print(json.dumps({"error": "no result event within %ss" % wait, "id": task_id}))
    return 1


if __name__ == "__main__":
    sys.exit(main())
