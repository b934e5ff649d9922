"""Load for scripts/bench-footprint.sh: chats and bad input against a gateway on loopback, for a
bounded time, with the standard library only (no wrk, no locust needed).

    python3 scripts/bench/footprint_load.py --url http://127.0.0.1:18789 --token <jwt> \
        --seconds 45 --chat-workers 8 --bad-workers 4 [--no-chats] [--stream-all] [--memory-workers 2]

Chat workers send small chat completions (every fourth one streamed) over keep-alive
connections. Bad-input workers cycle through what the issue 9 run sent: bodies over
server.max_body_size (5 MB, refused with 413), bodies just under it (3.5 MB of valid JSON that the
gateway parses and forwards), invalid JSON, forged tokens, unknown models, embeddings input of the
wrong type, malformed query strings, and a request that declares a body it never sends (cut off).
--no-chats leaves the chats to wrk; --stream-all streams every chat (the 64-streaming-connections
run: --chat-workers 64 --stream-all --bad-workers 0). Memory workers alternate a long-term memory
write (POST /api/v1/memories) and a search (GET /api/v1/memories/search) in the token's own user
scope, so the local embedding model is loaded and used during the load. Prints one line at the end:

    LOAD seconds=S chats=N chat_errors=N bad=N memory=N memory_errors=N statuses=200:N,400:N,...
"""

import argparse
import collections
import http.client
import json
import socket
import threading
import time
import urllib.parse

FORGED = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhdHRhY2tlciIsImV4cCI6OTk5OTk5OTk5OX0."
    "c2lnbmF0dXJlLW5vdC1tYWRlLXdpdGgtdGhlLXNlY3JldA"
)


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = collections.Counter()
        self.chats = 0
        self.chat_errors = 0
        self.bad = 0
        self.memory = 0
        self.memory_errors = 0

    def add(self, kind, status):
        with self.lock:
            self.statuses[status] += 1
            if kind == "chat":
                self.chats += 1
                if status != 200:
                    self.chat_errors += 1
            elif kind == "memory":
                self.memory += 1
                if status not in (200, 201):
                    self.memory_errors += 1
            else:
                self.bad += 1


def chat_body(n, stream, content="hello footprint", model="fake-model"):
    body = {"model": model, "messages": [{"role": "user", "content": f"{content} {n}"}]}
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


def request(conn, method, path, body, token, extra=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    if extra:
        headers.update(extra)
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def chat_worker(host, port, token, deadline, counts, stream_all=False):
    conn = None
    n = 0
    while time.monotonic() < deadline:
        n += 1
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=15)
            status = request(conn, "POST", "/v1/chat/completions", chat_body(n, stream_all or n % 4 == 0), token)
        except (OSError, http.client.HTTPException):
            status = "error"
            if conn is not None:
                conn.close()
            conn = None
        counts.add("chat", status)
    if conn is not None:
        conn.close()


WORDS = ("harbour", "violet", "copper", "lantern", "meadow", "quartz", "river", "saffron", "tundra", "walnut")


def memory_worker(host, port, token, scope, deadline, counts, offset):
    """Writes and searches long-term memories: every call goes through the embedding model."""
    conn = None
    n = offset
    while time.monotonic() < deadline:
        n += 1
        words = " ".join(WORDS[(n * k) % len(WORDS)] for k in (1, 3, 7))
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=30)
            if n % 2:
                body = json.dumps({"content": f"footprint note {n}: the {words} one", "scope": scope}).encode()
                status = request(conn, "POST", "/api/v1/memories", body, token)
            else:
                query = urllib.parse.urlencode({"q": words, "scope": scope, "k": 5})
                status = request(conn, "GET", "/api/v1/memories/search?" + query, None, token)
        except (OSError, http.client.HTTPException):
            status = "error"
            if conn is not None:
                conn.close()
            conn = None
        counts.add("memory", status)
    if conn is not None:
        conn.close()


def big_content(size):
    return "x" * size


def bad_requests(token):
    """(method, path, body, token, headers) of each kind of bad input, cycled through."""
    over_limit = b'{"model":"fake-model","messages":[{"role":"user","content":"' + b"y" * (5 << 20) + b'"}]}'
    under_limit = chat_body(0, False, content=big_content(3_500_000))
    return [
        ("POST", "/v1/chat/completions", over_limit, token, None),
        ("POST", "/v1/chat/completions", under_limit, token, None),
        ("POST", "/v1/chat/completions", b'{"model": "fake-model", "messages": [', token, None),
        ("POST", "/v1/chat/completions", chat_body(0, False), FORGED, None),
        ("POST", "/v1/chat/completions", chat_body(0, False, model="attacker-model-%d"), token, None),
        ("POST", "/v1/embeddings", json.dumps({"model": "fake-model", "input": [[1, 2], {"a": 1}]}).encode(), token, None),
        ("GET", "/api/v1/memories?scope=%zz&q=%E5%91%A8%", None, token, None),
        ("GET", "/api/v1/usage?since=" + urllib.parse.quote("not a time"), None, token, None),
        ("POST", "/api/v1/tasks", b'{"prompt": "x", "max_attempts": 99999999999999999999}', token, None),
    ]


def truncated_body(host, port, token):
    """Declares 1 MB, sends 64 KB and goes away: the gateway must drop what it buffered."""
    s = socket.create_connection((host, port), timeout=5)
    try:
        s.sendall(
            (
                "POST /v1/chat/completions HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
                "Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n" % (host, port, token)
            ).encode()
            + b"z" * 65536
        )
    finally:
        s.close()


def bad_worker(host, port, token, deadline, counts, offset):
    kinds = bad_requests(token)
    i = offset
    while time.monotonic() < deadline:
        i += 1
        if i % (len(kinds) + 1) == len(kinds):
            try:
                truncated_body(host, port, token)
                counts.add("bad", "cut")
            except OSError:
                counts.add("bad", "error")
            continue
        method, path, body, auth, extra = kinds[i % (len(kinds) + 1)]
        if body is not None and len(body) < 4096 and b"%d" in body:
            body = body.replace(b"%d", str(i).encode())
        # a connection each: the gateway closes after a refused body
        conn = http.client.HTTPConnection(host, port, timeout=15)
        try:
            status = request(conn, method, path, body, auth, extra)
        except (OSError, http.client.HTTPException):
            status = "error"
        finally:
            conn.close()
        counts.add("bad", status)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:18789")
    parser.add_argument("--token", required=True)
    parser.add_argument("--seconds", type=float, default=45)
    parser.add_argument("--chat-workers", type=int, default=8)
    parser.add_argument("--bad-workers", type=int, default=4)
    parser.add_argument("--no-chats", action="store_true")
    parser.add_argument("--stream-all", action="store_true")
    parser.add_argument("--memory-workers", type=int, default=0)
    parser.add_argument("--memory-scope", default="user:footprint")
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url)
    host, port = url.hostname, url.port or 80
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("footprint_load.py: loopback only, got " + host)
    counts = Counts()
    started = time.monotonic()
    deadline = started + args.seconds
    threads = []
    if not args.no_chats:
        threads += [
            threading.Thread(
                target=chat_worker, args=(host, port, args.token, deadline, counts, args.stream_all), daemon=True
            )
            for _ in range(args.chat_workers)
        ]
    threads += [
        threading.Thread(
            target=memory_worker, args=(host, port, args.token, args.memory_scope, deadline, counts, k), daemon=True
        )
        for k in range(args.memory_workers)
    ]
    threads += [
        threading.Thread(target=bad_worker, args=(host, port, args.token, deadline, counts, k * 3), daemon=True)
        for k in range(args.bad_workers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=args.seconds + 30)
    statuses = ",".join(f"{k}:{v}" for k, v in sorted(counts.statuses.items(), key=lambda kv: str(kv[0])))
    print(
        f"LOAD seconds={time.monotonic() - started:.1f} chats={counts.chats} chat_errors={counts.chat_errors} "
        f"bad={counts.bad} memory={counts.memory} memory_errors={counts.memory_errors} statuses={statuses}",
        flush=True,
    )


if __name__ == "__main__":
    main()
