#!/usr/bin/env python3
"""The traffic and the judge of scripts/prove.sh, one subcommand per part (standard library only).

Each subcommand drives a running gateway (--gateway URL, --token JWT), and prints ONE line:

  <part>: PASS|FAIL key=value ...

then exits 0 (target met) or 1 (missed). Progress goes to stderr. Events written by the shell script
(--events: lines "<what> <epoch ms>", e.g. "kill_b 1700000000000") place the faults in time.

  chat-fault   N connections of non-streaming chat for --seconds; success rate, the longest gap
               without a success, p99 of the requests started during the fault
  stores       paced chat, task and memory traffic for --seconds while the shell stops Redis and
               PostgreSQL; every answer 2xx or a fast 503 with a reason, none past 2 s; every accepted
               task finishes, every created memory is there; time back to full service per outage
  bad-input    --count seeded malformed, oversize and forged requests over every route and webhook;
               0 5xx, 0 hangs, process alive, RSS within 20% of its level before
  slow-clients chat p99 alone, then again with --idle idle connections and --slowloris slowloris
               clients held open (reopened when the gateway closes them) for --seconds
  soak         mixed traffic at --rate per second for --seconds, RSS and open files sampled every
               --sample seconds; growth after --warm seconds, errors
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import resource
import selectors
import socket
import sys
import threading
import time
import urllib.parse

ARGS = None
LOCK = threading.Lock()
LAST_BODY = threading.local()   # the start of the last raw answer's body, for the report of a 5xx


def now_ms():
    return time.time() * 1000


def log(msg):
    print("prove: " + msg, file=sys.stderr, flush=True)


def pct(values, p):
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def settled_rss_kb(pid):
    """RSS after a full collection (jcmd GC.run): what the process keeps, not the garbage its heap
    has not collected yet, which a JVM with a 6 GB default heap may let grow for a long time."""
    try:
        import subprocess
        subprocess.run(["jcmd", str(pid), "GC.run"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        time.sleep(1)
    except (OSError, subprocess.SubprocessError):
        pass
    return rss_kb(pid)


def open_files(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def events():
    """The shell's timeline: name -> [epoch ms, ...]."""
    out = {}
    if ARGS.events and os.path.exists(ARGS.events):
        with open(ARGS.events) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    out.setdefault(parts[0], []).append(int(parts[1]))
    return out


def verdict(part, ok, figures):
    print("%s: %s %s" % (part, "PASS" if ok else "FAIL", " ".join("%s=%s" % kv for kv in figures)), flush=True)
    return 0 if ok else 1


class Client:
    """One keep-alive connection, reopened after a failure."""

    def __init__(self, url, timeout):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.timeout = u.hostname, u.port, timeout
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            r = self.conn.getresponse()
            data = r.read()
            if (r.getheader("connection") or "").lower() == "close":
                self.close()
            return r.status, data
        except Exception:
            self.close()
            raise

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None


def auth():
    return {"authorization": "Bearer " + ARGS.token, "content-type": "application/json"}


def chat_body(model, text, stream=False):
    return json.dumps({"model": model, "messages": [{"role": "user", "content": text}], "stream": stream})


def timed(client, method, path, body=None, headers=None):
    """(status or 'timeout'/'connection', body, start ms, took ms)"""
    start = now_ms()
    try:
        status, data = client.request(method, path, body, headers)
    except (socket.timeout, TimeoutError):
        return "timeout", b"", start, now_ms() - start
    except (ConnectionError, http.client.HTTPException, OSError):
        return "connection", b"", start, now_ms() - start
    return status, data, start, now_ms() - start


# --- provider down ---------------------------------------------------------------------------

def chat_fault():
    results = []   # (start, end, ok)
    failures = []  # (start, took, status, body)
    stop_at = time.time() + ARGS.seconds

    def worker(i):
        c = Client(ARGS.gateway, 10)
        while time.time() < stop_at:
            status, data, start, took = timed(c, "POST", "/v1/chat/completions", chat_body(ARGS.model, "hello %d" % i), auth())
            with LOCK:
                results.append((start, start + took, status == 200))
                if status != 200:
                    failures.append((start, took, status, data[:300]))
            if status == "connection":
                time.sleep(0.01)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(ARGS.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ev = events()
    total = len(results)
    ok = sum(1 for r in results if r[2])
    rate = 100.0 * ok / total if total else 0.0
    ends = sorted(r[1] for r in results if r[2])
    gap = max((b - a for a, b in zip(ends, ends[1:])), default=0)
    fault_from = (ev.get("kill") or [0])[0]
    fault_to = (ev.get("up") or [fault_from])[0] + 5000   # the fault, and 5 s of coming back
    during = [r[1] - r[0] for r in results if fault_from <= r[0] <= fault_to]
    for start, took, status, body in failures[:20]:
        log("failed: %+.2f s from the kill, %s after %.0f ms: %s" % ((start - fault_from) / 1000, status, took, body))
    passed = total > 0 and rate >= ARGS.target
    return verdict("provider-down", passed, [
        ("requests", total), ("failed", total - ok), ("success", "%.3f%%" % rate), ("target", ">=%s%%" % ARGS.target),
        ("longest_gap_ms", "%.0f" % gap), ("p99_during_fault_ms", "%.1f" % pct(during, 99)),
        ("p99_ms", "%.1f" % pct([r[1] - r[0] for r in results], 99)), ("rps", "%.0f" % (total / ARGS.seconds))])


# --- store restarts --------------------------------------------------------------------------

def stores():
    stop_at = time.time() + ARGS.seconds
    answers = []          # (kind, start, took, status, reason)
    tasks, memories = [], []

    def reason_of(data):
        try:
            return (json.loads(data).get("error") or {}).get("message") or ""
        except ValueError:
            return ""

    def paced(kind, rate, send):
        c = Client(ARGS.gateway, ARGS.hang_ms / 1000 + 3)
        n, t0 = 0, time.time()
        while time.time() < stop_at:
            due = t0 + n / rate
            if due > time.time():
                time.sleep(due - time.time())
            status, data, start, took = send(c, n)
            n += 1
            with LOCK:
                answers.append((kind, start, took, status, reason_of(data) if status != 200 and status != 201 and status != 202 else ""))

    def chat(c, n):
        return timed(c, "POST", "/v1/chat/completions", chat_body(ARGS.model, "store chat %d" % n), auth())

    def task(c, n):
        r = timed(c, "POST", "/api/v1/tasks", json.dumps({"input": "store task %d" % n, "idempotency_key": "%s-t%d" % (ARGS.run_id, n)}), auth())
        if r[0] == 202:
            with LOCK:
                tasks.append(json.loads(r[1])["id"])
        return r

    def memory(c, n):
        r = timed(c, "POST", "/api/v1/memories", json.dumps({"content": "fact number %d of run %s: the %s is %d" % (n, ARGS.run_id, random.choice(["sky", "sea", "door", "lamp"]), n),
                                                              "scope": "user:prove", "source": "prove"}), auth())
        if r[0] == 201:
            with LOCK:
                memories.append(json.loads(r[1])["id"])
        return r

    def search(c, n):
        return timed(c, "GET", "/api/v1/memories/search?q=fact+%d&scope=user:prove&k=3" % n, None, auth())

    plan = [("chat", ARGS.rate, chat), ("task", ARGS.rate / 2, task), ("memory", ARGS.rate / 2, memory), ("search", ARGS.rate / 2, search)]
    threads = [threading.Thread(target=paced, args=p, daemon=True) for p in plan]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log("traffic over: %d answers, %d tasks accepted, %d memories created; checking them" % (len(answers), len(tasks), len(memories)))

    ok_answers = fast_503 = 0
    bad = []
    hangs = 0
    for kind, start, took, status, reason in answers:
        if took > ARGS.hang_ms:
            hangs += 1
            bad.append((kind, status, "%.0fms" % took))
        elif status in (200, 201, 202):
            ok_answers += 1
        elif status == 503 and reason:
            fast_503 += 1
        else:
            bad.append((kind, status, reason[:80]))

    # every accepted task finishes; every created memory is there
    c = Client(ARGS.gateway, 10)
    deadline = time.time() + ARGS.drain
    pending = set(tasks)
    failed_tasks = {}
    while pending and time.time() < deadline:
        for tid in list(pending):
            status, data, _, _ = timed(c, "GET", "/api/v1/tasks/" + tid, None, auth())
            if status == 200:
                st = json.loads(data).get("status")
                if st == "succeeded":
                    pending.discard(tid)
                elif st in ("failed", "dead", "cancelled"):
                    pending.discard(tid)
                    failed_tasks[tid] = st
        if pending:
            time.sleep(1)
    lost_memories = []
    for mid in memories:
        status, _, _, _ = timed(c, "GET", "/api/v1/memories/" + mid, None, auth())
        if status != 200:
            lost_memories.append((mid, status))

    # back to full service: per outage, from the store's return to the last answer not 2xx
    ev = events()
    recovery = {}
    for store in ("redis", "postgres"):
        ups = ev.get(store + "_up") or []
        if not ups:
            continue
        up = ups[0]
        later_downs = [t for k, v in ev.items() if k.endswith("_down") for t in v if t > up]
        until = min(later_downs) if later_downs else float("inf")
        last_bad = max((start + took for kind, start, took, status, _ in answers
                        if up <= start + took < until and status not in (200, 201, 202)), default=up)
        recovery[store] = (last_bad - up) / 1000
    slowest = max((a[2] for a in answers), default=0)
    if bad:
        log("answers that were neither 2xx nor a fast 503 with a reason (first 10): %s" % bad[:10])
    if failed_tasks:
        log("accepted tasks that did not succeed (first 10): %s" % list(failed_tasks.items())[:10])
    if lost_memories:
        log("created memories not found (first 10): %s" % lost_memories[:10])
    by_kind = {}
    for kind, _, _, status, _ in answers:
        by_kind.setdefault(kind, {}).setdefault(str(status), 0)
        by_kind[kind][str(status)] += 1
    log("answers by kind: %s" % json.dumps(by_kind))
    passed = (not bad and hangs == 0 and not pending and not failed_tasks and not lost_memories
              and all(r <= ARGS.recover_s for r in recovery.values()) and ok_answers > 0)
    return verdict("store-restarts", passed, [
        ("answers", len(answers)), ("2xx", ok_answers), ("fast_503", fast_503), ("other", len(bad) - hangs),
        ("hangs_over_%dms" % ARGS.hang_ms, hangs), ("slowest_ms", "%.0f" % slowest),
        ("tasks_accepted", len(tasks)), ("tasks_unfinished", len(pending)), ("tasks_failed", len(failed_tasks)),
        ("memories_created", len(memories)), ("memories_missing", len(lost_memories))]
        + [("recovered_%s_s" % k, "%.1f" % v) for k, v in recovery.items()] + [("target_recover_s", "<=%g" % ARGS.recover_s)])


# --- bad input -------------------------------------------------------------------------------

def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def forged_tokens(rnd):
    head = {"alg": "HS256", "typ": "JWT"}
    claims = {"sub": "intruder", "exp": int(time.time()) + 3600, "roles": ["admin"]}
    parts = ARGS.token.split(".")
    return [
        "",
        "Bearer",
        "Bearer " + b64url(json.dumps({"alg": "none"}).encode()) + "." + b64url(json.dumps(claims).encode()) + ".",
        "Bearer " + b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(claims).encode()) + "." + b64url(os.urandom(32)),
        "Bearer " + parts[0] + "." + b64url(json.dumps(claims).encode()) + "." + parts[2] if len(parts) == 3 else "Bearer x",
        "Bearer " + ARGS.token[:-3] + "abc",
        "Bearer " + "A" * rnd.choice([1, 100, 9000]),
        "Basic " + base64.b64encode(b"admin:admin").decode(),
        "Bearer " + b64url(json.dumps({"alg": "RS256", "kid": "../../etc/passwd"}).encode()) + "." + b64url(b"{}") + ".sig",
        "Bearer " + b64url(b"\xff\xfe{") + "." + b64url(b"\x00") + "." + b64url(b"\x00"),
        "Bearer \u00e9\u00e9.\u00e9.\u00e9".encode("utf-8").decode("latin-1"),
    ]


GARBAGE = [b"", b"{", b"}", b"[]", b"null", b"true", b"1e999999", b"\"str\"", b"{\"a\":", b"\xff\xfe\xfd",
           b"{\"model\": {\"$gt\": 1}}", b"{" * 5000, b"[" * 20000, b"\x00" * 100, b"{\"a\":\"\\ud800\"}",
           "{\"content\":\"\u200b\u202e\ufeff\"}".encode(), b"<xml><a>1</a></xml>", b"a=1&b=2", b"{\"__proto__\":{\"x\":1}}"]


def mutate_json(rnd, valid):
    """A valid body with one thing wrong: a field of the wrong type, missing, huge, or extra."""
    obj = json.loads(valid)
    keys = list(obj.keys())
    choice = rnd.randrange(7)
    if choice == 0 and keys:
        obj.pop(rnd.choice(keys))
    elif choice == 1 and keys:
        obj[rnd.choice(keys)] = rnd.choice([None, 1, -1, 1.5e308, True, [], {}, "", "x" * 70000, [1, "a", None], {"a": {"b": {"c": []}}}])
    elif choice == 2:
        obj["\u0000"] = "\u0000"
    elif choice == 3:
        obj[rnd.choice(keys) if keys else "x"] = "".join(chr(rnd.randrange(1, 0xd7ff)) for _ in range(rnd.randrange(1, 300)))
    elif choice == 4:
        return json.dumps(obj).encode()[:rnd.randrange(1, max(2, len(json.dumps(obj))))]
    elif choice == 5:
        obj = [obj]
    else:
        for _ in range(50):
            obj["k%d" % rnd.randrange(10 ** 6)] = rnd.random()
    return json.dumps(obj).encode()


def sign_hook(secret, body, ts=None):
    ts = str(int(time.time()) if ts is None else ts)
    return ts, "sha256=" + hmac.new(secret.encode(), (ts + ".").encode() + body, hashlib.sha256).hexdigest()


def bad_request(rnd, n):
    """(label, method, path, headers, body) of request number n."""
    good = {"authorization": "Bearer " + ARGS.token}
    valid_chat = chat_body("fake-model", "hi")
    routes = [
        ("POST", "/v1/chat/completions", valid_chat),
        ("POST", "/v1/chat/completions", chat_body("fake-model", "hi", True)),
        ("POST", "/v1/embeddings", json.dumps({"model": "local", "input": "hello"})),
        ("GET", "/v1/models", None),
        ("POST", "/api/v1/tasks", json.dumps({"input": "bad input %d" % n, "priority": "normal"})),
        ("GET", "/api/v1/tasks/%s" % rnd.choice(["x", "..%2F..%2Fetc", "0" * 300, "%00", "t-1"]), None),
        ("GET", "/api/v1/tasks?status=%s&limit=%s&cursor=%s" % (rnd.choice(["queued", "zz", ""]), rnd.choice(["-1", "0", "999999999999", "x"]), rnd.choice(["", "!!", "A" * 500])), None),
        ("POST", "/api/v1/tasks/%s/cancel" % rnd.choice(["x", "nope"]), None),
        ("POST", "/api/v1/tasks/%s/retry" % rnd.choice(["x", "nope"]), None),
        ("POST", "/api/v1/memories", json.dumps({"content": "bad input memory %d" % n, "scope": "user:bad"})),
        ("GET", "/api/v1/memories?scope=%s&limit=%s" % (rnd.choice(["user:bad", "", "x" * 2000, "%ff"]), rnd.choice(["1", "-5", "a"])), None),
        ("GET", "/api/v1/memories/search?q=%s&scope=%s&k=%s" % (rnd.choice(["", "a", "%E4%BD%A0", "x" * 5000]), rnd.choice(["user:bad", "", "tenant:"]), rnd.choice(["1", "0", "-1", "100000", "z"])), None),
        ("GET", "/api/v1/memories/%s" % rnd.choice(["x", "1", "%2e%2e"]), None),
        ("DELETE", "/api/v1/memories/%s" % rnd.choice(["x", "1", "%2e%2e"]), None),
        ("GET", "/api/v1/deliveries?status=%s&channel=%s" % (rnd.choice(["dead", "x"]), rnd.choice(["dingtalk", "%00"])), None),
        ("POST", "/api/v1/deliveries/%s/retry" % rnd.choice(["x", "nope"]), None),
        ("GET", "/api/v1/providers", None),
        ("GET", "/api/v1/usage?by=%s" % rnd.choice(["provider", "model", "subject", "x", ""]), None),
        ("GET", "/api/v1/rules", None),
        ("PUT", "/api/v1/rules", json.dumps({"rules": [{"name": "r%d" % n, "on": {"webhook": "ci"}, "do": [{"emit": {"type": "x", "body": {}}}]}]})),
        ("POST", "/api/v1/rules/test", json.dumps({"event": {"type": "webhook", "hook": "ci", "body": {}}})),
        ("GET", "/api/v1/events?type=%s&limit=%s" % (rnd.choice(["message", "x"]), rnd.choice(["5", "-1"])), None),
        ("GET", "/api/v1/schedules", None),
        ("POST", "/api/v1/schedules", json.dumps({"name": "s%d" % n, "on": {"schedule": {"every": rnd.choice(["10m", "0s", "-1m", "x"])}}, "do": [{"emit": {"type": "x"}}]})),
        ("DELETE", "/api/v1/schedules/%s" % rnd.choice(["nope", "s1"]), None),
        ("GET", "/api/v1/audit?limit=%s" % rnd.choice(["1", "x"]), None),
        ("GET", "/api/v1/plugins", None),
        ("POST", "/api/v1/plugins/%s/disable" % rnd.choice(["nope", "x"]), None),
        ("GET", "/api/v1/skills", None),
        ("GET", "/api/v1/cluster", None),
        ("POST", "/api/v1/tokens/revoke", json.dumps({"jti": "x%d" % n})),
        ("POST", "/mcp", json.dumps({"jsonrpc": "2.0", "id": n, "method": rnd.choice(["initialize", "tools/list", "tools/call", "nope"]), "params": {}})),
        ("GET", "/healthz", None),
        ("GET", "/readyz", None),
        ("GET", "/metrics", None),
        ("GET", "/nope/%d" % n, None),
        ("POST", "/eventbus/info", b"x"),
    ]
    hooks = [
        ("dingtalk", "/webhooks/dingtalk/assistant", json.dumps({"msgtype": "text", "text": {"content": "hi"}, "conversationId": "c1", "senderStaffId": "u1", "msgId": "m%d" % n})),
        ("feishu", "/webhooks/feishu/assistant", json.dumps({"schema": "2.0", "header": {"event_id": "e%d" % n, "event_type": "im.message.receive_v1", "token": "forged"}, "event": {}})),
        ("feishu-challenge", "/webhooks/feishu/assistant", json.dumps({"challenge": "c", "token": rnd.choice(["forged", ""]), "type": "url_verification"})),
        ("wecom", "/webhooks/wecom/assistant?msg_signature=%s&timestamp=%d&nonce=1" % (rnd.choice(["", "00", "a" * 40]), int(time.time())), "<xml><Encrypt><![CDATA[%s]]></Encrypt></xml>" % base64.b64encode(os.urandom(48)).decode()),
        ("wecom-verify", "/webhooks/wecom/assistant?msg_signature=x&timestamp=1&nonce=1&echostr=%s" % rnd.choice(["", "abc", "%ZZ"]), None),
        ("hooks", "/webhooks/hooks/ci", json.dumps({"status": "failed", "branch": "main", "n": n})),
        ("alertmanager", "/webhooks/alertmanager/prometheus", json.dumps({"version": "4", "status": "firing", "alerts": [{"labels": {"alertname": "X"}}]})),
        ("unknown-bot", "/webhooks/%s/%s" % (rnd.choice(["dingtalk", "feishu", "wecom", "hooks", "zz"]), rnd.choice(["nobody", "..", "x" * 300])), "{}"),
    ]
    kind = rnd.random()
    if kind < 0.35:
        # a webhook: forged signatures, stale timestamps, broken bodies
        label, path, body = rnd.choice(hooks)
        method = "GET" if label == "wecom-verify" else "POST"
        raw = body.encode() if isinstance(body, str) else body
        h = {"content-type": "application/json"}
        m = rnd.randrange(6)
        if m == 0 and raw is not None:
            raw = mutate_json(rnd, raw) if raw.startswith(b"{") else rnd.choice(GARBAGE)
        elif m == 1 and raw is not None:
            raw = rnd.choice(GARBAGE)
        if label == "hooks":
            s = rnd.randrange(4)
            if s == 0:
                ts, sig = sign_hook(ARGS.hook_secret, raw or b"", int(time.time()) - 3600)   # stale
            elif s == 1:
                ts, sig = sign_hook("not-the-secret", raw or b"")
            elif s == 2:
                ts, sig = rnd.choice(["", "x", "-1", "99999999999999999999"]), rnd.choice(["", "sha256=", "sha256=zz", "md5=1"])
            else:
                ts, sig = sign_hook(ARGS.hook_secret, raw or b"")    # signed right: a real event (after a mutation: still fine)
            h["x-switchboard-timestamp"], h["x-switchboard-signature"] = ts, sig
            h["x-switchboard-delivery"] = rnd.choice(["d%d" % n, "same", "x" * 500])
        elif label == "dingtalk":
            h["timestamp"], h["sign"] = rnd.choice([str(int(time.time() * 1000)), "", "abc"]), rnd.choice(["", "forged", base64.b64encode(os.urandom(32)).decode()])
        elif label == "alertmanager":
            h["authorization"] = rnd.choice(["Bearer wrong", "", "Bearer " + ARGS.hook_secret])
        elif label.startswith("feishu"):
            h["x-lark-request-timestamp"], h["x-lark-request-nonce"], h["x-lark-signature"] = str(int(time.time())), "n", rnd.choice(["", "forged"])
        if m == 2 and raw is not None:
            h["content-type"] = rnd.choice(["text/plain", "application/xml", "multipart/form-data; boundary=x", "", "application/json; charset=utf-7"])
        return "webhook:" + label, method, path, h, raw
    method, path, body = rnd.choice(routes)
    raw = body.encode() if isinstance(body, str) else body
    h = dict(good)
    h["content-type"] = "application/json"
    m = rnd.randrange(10)
    if m <= 2:
        h["authorization"] = rnd.choice(forged_tokens(rnd))
        if not h["authorization"]:
            del h["authorization"]
        label = "forged-token"
    elif m <= 4 and raw is not None:
        raw = mutate_json(rnd, raw) if raw.startswith(b"{") else rnd.choice(GARBAGE)
        label = "mutated-body"
    elif m == 5:
        raw = rnd.choice(GARBAGE)
        label = "garbage-body"
    elif m == 6:
        h["content-type"] = rnd.choice(["text/plain", "application/x-www-form-urlencoded", "", "application/json;;;", "\u00e9".encode().decode("latin-1")])
        label = "content-type"
    elif m == 7:
        h[rnd.choice(["x-request-id", "x-switchboard-tags", "accept", "x-forwarded-for", "idempotency-key"])] = rnd.choice(["x" * 7000, "\t", "a,b,,,", "../../", "\u00ff".encode().decode("latin-1")])
        label = "odd-header"
    elif m == 8:
        path = path + rnd.choice(["?" + "a=1&" * 1500, "%", "%zz", "/..", "//", "?q=%00", "#x"])
        label = "odd-path"
    else:
        method = rnd.choice(["PATCH", "OPTIONS", "HEAD", "DELETE", "PUT", "TRACE"])
        label = "odd-method"
    return label + ":" + path.split("?")[0][:40], method, path, h, raw


def raw_exchange(method, path, headers, body, timeout):
    """One request on its own connection, written by hand (http.client refuses odd paths and headers)."""
    s = socket.create_connection((ARGS.host, ARGS.port), timeout=timeout)
    try:
        lines = ["%s %s HTTP/1.1" % (method, path), "host: %s:%d" % (ARGS.host, ARGS.port), "connection: close"]
        for k, v in headers.items():
            lines.append("%s: %s" % (k, v))
        if body is not None:
            lines.append("content-length: %d" % len(body))
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + (body or b""))
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        first = data.split(b"\r\n", 1)[0].split()
        status = int(first[1]) if len(first) >= 2 and first[1].isdigit() else "no-status"
        # the rest of the answer, so that a stream ends or the server closes
        if method != "HEAD":
            while len(data) < 1 << 20:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        LAST_BODY.value = data.split(b"\r\n\r\n", 1)[-1][:160]
        return status
    finally:
        s.close()


def oversize(rnd):
    """A body over server.max_body_size, or one that lies about its length, or headers too long."""
    k = rnd.randrange(4)
    path = rnd.choice(["/v1/chat/completions", "/api/v1/tasks", "/api/v1/memories", "/webhooks/hooks/ci", "/webhooks/dingtalk/assistant", "/webhooks/feishu/assistant"])
    if k == 0:
        return "oversize-body:" + path, "POST", path, {"authorization": "Bearer " + ARGS.token, "content-type": "application/json"}, b"{\"input\":\"" + b"x" * (ARGS.max_body + 1024) + b"\"}"
    if k == 1:
        return "oversize-declared:" + path, "POST", path, {"authorization": "Bearer " + ARGS.token, "content-length-claim": "x"}, None
    if k == 2:
        return "oversize-headers:" + path, "GET", "/v1/models", {"x-big": "y" * 70000}, None
    return "oversize-url", "GET", "/v1/models?" + "q" * 70000, {}, None


def bad_input():
    rnd = random.Random(ARGS.seed)
    requests_ = []
    for n in range(ARGS.count):
        requests_.append(oversize(rnd) if rnd.random() < ARGS.oversize_share else bad_request(rnd, n))
    # a warm-up of valid traffic first, as parallel as the bad input and with bodies up to 1 MB, so that
    # "before" is the RSS of a gateway whose heap has grown to its working size (memory writes and
    # searches load the local embedding model: that is not growth caused by bad input either)
    def warm(w):
        c = Client(ARGS.gateway, 30)
        for i in range(w, ARGS.warmup, ARGS.connections):
            big = "x" * (1 << 20) if i % 25 == 0 else "warm %d" % i
            timed(c, "POST", "/v1/chat/completions", chat_body("fake-model", big), auth())
            timed(c, "POST", "/api/v1/tasks", json.dumps({"input": "warm-up task %d" % i}), auth())
            timed(c, "POST", "/api/v1/memories", json.dumps({"content": "warm-up memory %d" % i, "scope": "user:bad"}), auth())
            timed(c, "GET", "/api/v1/memories/search?q=warm&scope=user:bad", None, auth())
    threads = [threading.Thread(target=warm, args=(w,), daemon=True) for w in range(ARGS.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(2)
    raw_before = rss_kb(ARGS.pid)
    before = settled_rss_kb(ARGS.pid)
    statuses, five, hangs, errors, slowest = {}, [], [], [], [0.0]
    index = [0]

    def worker():
        while True:
            with LOCK:
                if index[0] >= len(requests_):
                    return
                i = index[0]
                index[0] += 1
            label, method, path, headers, body = requests_[i]
            start = time.time()
            try:
                if label.startswith("oversize-declared"):
                    status = declared_oversize(path, headers)
                else:
                    status = raw_exchange(method, path, headers, body, ARGS.hang_ms / 1000)
            except (socket.timeout, TimeoutError):
                status = "hang"
            except (ConnectionError, OSError) as e:
                # the gateway closing on a request it refuses is an answer; one it never got is noted
                status = "closed"
                if not isinstance(e, (ConnectionResetError, BrokenPipeError)):
                    with LOCK:
                        errors.append((label, repr(e)[:80]))
            took = time.time() - start
            with LOCK:
                slowest[0] = max(slowest[0], took)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if isinstance(status, int) and status >= 500:
                    five.append((label, method, path[:80], status, headers, getattr(LAST_BODY, "value", b"")))
                if status == "hang" or took * 1000 > ARGS.hang_ms:
                    hangs.append((label, method, path[:80], "%.1fs" % took))
            if i and i % 2000 == 0:
                log("%d/%d sent; answers so far %s" % (i, len(requests_), statuses))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(ARGS.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(3)
    raw_after = rss_kb(ARGS.pid)
    after = settled_rss_kb(ARGS.pid)
    # the gateway still serves a normal request
    status, _, _, _ = timed(Client(ARGS.gateway, 10), "POST", "/v1/chat/completions", chat_body("fake-model", "after"), auth())
    living = alive(ARGS.pid) and status == 200
    growth = 100.0 * (after - before) / before if before else 0.0
    if five:
        log("5xx answers (first 15): %s" % five[:15])
        by = {}
        for f in five:
            by[f[0]] = by.get(f[0], 0) + 1
        log("5xx by kind: %s" % json.dumps(by))
    if hangs:
        log("hangs (first 15): %s" % hangs[:15])
    if errors:
        log("connection errors other than reset (first 10): %s" % errors[:10])
    log("answers: %s" % json.dumps(statuses, sort_keys=True))
    passed = not five and not hangs and living and growth <= ARGS.rss_growth
    return verdict("bad-input", passed, [
        ("requests", len(requests_)), ("seed", ARGS.seed), ("5xx", len(five)), ("hangs_over_%ds" % (ARGS.hang_ms / 1000), len(hangs)), ("slowest_ms", "%.0f" % (slowest[0] * 1000)),
        ("closed_by_gateway", statuses.get("closed", 0)), ("4xx", sum(v for k, v in statuses.items() if k.isdigit() and 400 <= int(k) < 500)),
        ("2xx", sum(v for k, v in statuses.items() if k.isdigit() and 200 <= int(k) < 300)),
        ("alive", "yes" if living else "no"), ("rss_before_mb", before // 1024), ("rss_after_mb", after // 1024),
        ("rss_growth", "%+.1f%%" % growth), ("rss_without_gc_mb", "%d->%d" % (raw_before // 1024, raw_after // 1024)), ("target_rss", "<=+%g%%" % ARGS.rss_growth)])


def declared_oversize(path, headers):
    """Says Content-Length far above the limit and sends only a little: refused from the header."""
    s = socket.create_connection((ARGS.host, ARGS.port), timeout=ARGS.hang_ms / 1000)
    try:
        s.sendall(("POST %s HTTP/1.1\r\nhost: x\r\nauthorization: %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n{\"a\":"
                   % (path, headers["authorization"], ARGS.max_body * 50)).encode())
        data = s.recv(4096)
        first = data.split(b"\r\n", 1)[0].split()
        return int(first[1]) if len(first) >= 2 and first[1].isdigit() else "closed"
    finally:
        s.close()


# --- slow clients ----------------------------------------------------------------------------

def chat_latencies(seconds, connections):
    lat, errors = [], [0]
    stop_at = time.time() + seconds

    def worker(i):
        c = Client(ARGS.gateway, 10)
        while time.time() < stop_at:
            status, _, start, took = timed(c, "POST", "/v1/chat/completions", chat_body(ARGS.model, "slow %d" % i), auth())
            with LOCK:
                if status == 200:
                    lat.append(took)
                else:
                    errors[0] += 1
            if ARGS.pause_ms:
                time.sleep(ARGS.pause_ms / 1000)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, errors[0]


class Holder(threading.Thread):
    """Keeps --idle idle connections and --slowloris slowloris clients open, reopening what closes."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sel = selectors.DefaultSelector()
        self.running = True
        self.opened = {"idle": 0, "loris": 0}
        self.closed = {"idle": 0, "loris": 0}
        self.failed = 0
        self.peak = 0

    def open(self, kind):
        try:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex((ARGS.host, ARGS.port))
        except OSError:
            self.failed += 1
            return
        self.opened[kind] += 1
        # half of the idle ones say nothing at all; the other half finish a request, then stay (keep-alive)
        state = {"kind": kind, "sent": 0, "next": time.time() + random.random(), "hello": kind == "idle" and random.random() < 0.5}
        self.sel.register(s, selectors.EVENT_READ, state)

    def run(self):
        for i in range(ARGS.idle):
            self.open("idle")
        for i in range(ARGS.slowloris):
            self.open("loris")
        header = ("GET /v1/models HTTP/1.1\r\nhost: x\r\nauthorization: Bearer %s\r\n" % ARGS.token).encode()
        while self.running:
            for key, _ in self.sel.select(timeout=0.2):
                s, st = key.fileobj, key.data
                try:
                    data = s.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:   # the gateway closed it: count, and open another
                    self.sel.unregister(s)
                    s.close()
                    self.closed[st["kind"]] += 1
                    if self.running:
                        self.open(st["kind"])
            t = time.time()
            for key in list(self.sel.get_map().values()):
                s, st = key.fileobj, key.data
                if st["next"] > t:
                    continue
                try:
                    if st["hello"]:
                        s.send(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
                        st["hello"] = False
                        st["next"] = float("inf")
                    elif st["kind"] == "loris":
                        # one more byte of a header that never ends, every interval
                        s.send(header[st["sent"] % len(header): st["sent"] % len(header) + 1] if st["sent"] < len(header) else b"x")
                        st["sent"] += 1
                        st["next"] = t + ARGS.loris_interval
                    else:
                        st["next"] = float("inf")
                except (BlockingIOError, InterruptedError):
                    st["next"] = t + 0.1
                except OSError:
                    st["next"] = float("inf")
            self.peak = max(self.peak, len(self.sel.get_map()))
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()


def slow_clients():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = ARGS.idle + ARGS.slowloris + 200
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, need), hard))
    log("chat p99 without slow clients: %ds at %d connections" % (ARGS.baseline, ARGS.connections))
    chat_latencies(min(5, ARGS.baseline), ARGS.connections)   # warm-up
    base, base_err = chat_latencies(ARGS.baseline, ARGS.connections)
    holder = Holder()
    holder.start()
    time.sleep(3)
    held_at_start = open_files(ARGS.pid)
    log("holding %d idle + %d slowloris connections (gateway has %d open files); chat again for %ds"
        % (ARGS.idle, ARGS.slowloris, held_at_start, ARGS.seconds))
    loaded, loaded_err = chat_latencies(ARGS.seconds, ARGS.connections)
    fds_during = open_files(ARGS.pid)
    holder.running = False
    holder.join(10)
    p99_base, p99_loaded = pct(base, 99), pct(loaded, 99)
    ratio = p99_loaded / p99_base if p99_base else 0
    passed = bool(base) and bool(loaded) and ratio <= ARGS.ratio and loaded_err == 0 and base_err == 0 and alive(ARGS.pid)
    return verdict("slow-clients", passed, [
        ("idle", ARGS.idle), ("slowloris", ARGS.slowloris), ("seconds", ARGS.seconds),
        ("p50_without_ms", "%.1f" % pct(base, 50)), ("p99_without_ms", "%.1f" % p99_base),
        ("p50_with_ms", "%.1f" % pct(loaded, 50)), ("p99_with_ms", "%.1f" % p99_loaded), ("ratio", "%.2f" % ratio),
        ("target_ratio", "<=%g" % ARGS.ratio), ("chat_requests", "%d/%d" % (len(base), len(loaded))), ("chat_errors", base_err + loaded_err),
        ("held_peak", holder.peak), ("closed_by_gateway", "idle:%d,loris:%d" % (holder.closed["idle"], holder.closed["loris"])),
        ("gateway_fds", fds_during)])


# --- soak ------------------------------------------------------------------------------------

def trend(samples, warm_s):
    """Growth over the samples after warm_s, from a least-squares line: (end - start) / start, in %."""
    pts = [(t, v) for t, v in samples if t >= warm_s]
    if len(pts) < 3:
        return 0.0
    n = len(pts)
    mx = sum(t for t, _ in pts) / n
    my = sum(v for _, v in pts) / n
    sxx = sum((t - mx) ** 2 for t, _ in pts)
    slope = sum((t - mx) * (v - my) for t, v in pts) / sxx if sxx else 0
    start = my + slope * (pts[0][0] - mx)
    return 100.0 * slope * (pts[-1][0] - pts[0][0]) / start if start else 0.0


def stream_chat(client, n):
    status, data, start, took = timed(client, "POST", "/v1/chat/completions", chat_body(ARGS.model, "soak stream %d" % n, True), auth())
    if status == 200 and b"[DONE]" not in data:
        status = "no-done"
    return status, data, start, took


def soak():
    stop_at = time.time() + ARGS.seconds
    t0 = time.time()
    counts, errors, tasks = {}, [], []
    samples_rss, samples_fd = [], []
    kinds = [
        ("chat", lambda c, n: timed(c, "POST", "/v1/chat/completions", chat_body(ARGS.model, "soak %d" % n), auth()), (200,)),
        ("stream", stream_chat, (200,)),
        ("task", lambda c, n: timed(c, "POST", "/api/v1/tasks", json.dumps({"input": "soak task %d" % n, "channels": [{"type": "dingtalk", "bot": "d0"}]}), auth()), (202,)),
        ("memory", lambda c, n: timed(c, "POST", "/api/v1/memories", json.dumps({"content": "soak fact %d: %s" % (n, random.choice(["blue", "red", "green"])), "scope": "user:soak%d" % (n % 20)}), auth()), (201,)),
        ("search", lambda c, n: timed(c, "GET", "/api/v1/memories/search?q=soak+fact+%d&scope=user:soak%d&k=5" % (n, n % 20), None, auth()), (200,)),
    ]
    weights = [4, 2, 1, 1, 2]

    def worker(w):
        c = Client(ARGS.gateway, 30)
        rnd = random.Random(w)
        n = w
        per_worker = ARGS.rate / ARGS.connections
        due = time.time()
        while time.time() < stop_at:
            due += 1 / per_worker
            if due > time.time():
                time.sleep(due - time.time())
            name, send, ok = rnd.choices(kinds, weights)[0]
            status, data, _, took = send(c, n)
            n += ARGS.connections
            with LOCK:
                counts[name] = counts.get(name, 0) + 1
                if status not in ok:
                    errors.append((name, status, data[:120]))
                elif name == "task":
                    tasks.append(json.loads(data)["id"])

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(ARGS.connections)]
    for t in threads:
        t.start()
    next_sample = time.time()
    while any(t.is_alive() for t in threads):
        if time.time() >= next_sample:
            t = time.time() - t0
            samples_rss.append((t, rss_kb(ARGS.pid)))
            samples_fd.append((t, open_files(ARGS.pid)))
            log("t=%4.0fs rss=%d MB fds=%d requests=%d errors=%d" % (t, samples_rss[-1][1] // 1024, samples_fd[-1][1], sum(counts.values()), len(errors)))
            next_sample += ARGS.sample
        time.sleep(0.2)
    # every accepted task finishes (succeeded, pushed to the fake robot)
    c = Client(ARGS.gateway, 10)
    pending = set(tasks)
    deadline = time.time() + ARGS.drain
    failed = 0
    while pending and time.time() < deadline:
        for tid in list(pending):
            status, data, _, _ = timed(c, "GET", "/api/v1/tasks/" + tid, None, auth())
            if status == 200:
                st = json.loads(data).get("status")
                if st == "succeeded":
                    pending.discard(tid)
                elif st in ("failed", "dead", "cancelled"):
                    pending.discard(tid)
                    failed += 1
        if pending:
            time.sleep(1)
    # and every one pushed: the fake robot counts what reached it, signed right
    pushed = 0
    if ARGS.fakes:
        f = Client(ARGS.fakes, 10)
        while time.time() < deadline + 30:
            status, data, _, _ = timed(f, "GET", "/_events")
            pushed = sum(1 for e in json.loads(data)["pushes"] if e[4] == 0) if status == 200 else 0
            if pushed >= len(tasks):
                break
            time.sleep(1)
    warm = min(ARGS.warm, ARGS.seconds / 3)
    g_rss, g_fd = trend(samples_rss, warm), trend(samples_fd, warm)
    if errors:
        log("errors (first 10): %s" % errors[:10])
    total = sum(counts.values())
    passed = not errors and not pending and not failed and (not ARGS.fakes or pushed >= len(tasks)) and g_rss <= ARGS.growth and g_fd <= ARGS.growth and alive(ARGS.pid)
    return verdict("soak", passed, [
        ("seconds", ARGS.seconds), ("rate", ARGS.rate), ("requests", total), ("mix", ",".join("%s:%d" % kv for kv in sorted(counts.items()))),
        ("errors", len(errors)), ("tasks_unfinished", len(pending)), ("tasks_failed", failed), ("tasks_pushed", "%d/%d" % (pushed, len(tasks))),
        ("rss_mb", "%d->%d" % (samples_rss[0][1] // 1024, samples_rss[-1][1] // 1024) if samples_rss else "?"),
        ("fds", "%d->%d" % (samples_fd[0][1], samples_fd[-1][1]) if samples_fd else "?"),
        ("rss_trend_after_%ds" % warm, "%+.1f%%" % g_rss), ("fd_trend", "%+.1f%%" % g_fd), ("target_trend", "<=+%g%%" % ARGS.growth)])


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("part", choices=["chat-fault", "stores", "bad-input", "slow-clients", "soak"])
    p.add_argument("--gateway", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--pid", type=int, default=0)
    p.add_argument("--events", default="")
    p.add_argument("--fakes", default="", help="the fakes' URL, to count the pushes that reached the robots")
    p.add_argument("--model", default="fake-model")
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--target", type=float, default=99.9)
    p.add_argument("--rate", type=float, default=10)
    p.add_argument("--hang-ms", type=float, default=2000)
    p.add_argument("--recover-s", type=float, default=10)
    p.add_argument("--drain", type=float, default=120)
    p.add_argument("--run-id", default="prove")
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--seed", type=int, default=15)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--oversize-share", type=float, default=0.02)
    p.add_argument("--max-body", type=int, default=4 * 1024 * 1024)
    p.add_argument("--hook-secret", default="")
    p.add_argument("--rss-growth", type=float, default=20)
    p.add_argument("--idle", type=int, default=2000)
    p.add_argument("--slowloris", type=int, default=50)
    p.add_argument("--loris-interval", type=float, default=1.0)
    p.add_argument("--baseline", type=float, default=20)
    p.add_argument("--pause-ms", type=float, default=0)
    p.add_argument("--ratio", type=float, default=2.0)
    p.add_argument("--sample", type=float, default=10)
    p.add_argument("--warm", type=float, default=300)
    p.add_argument("--growth", type=float, default=10)
    ARGS = p.parse_args()
    u = urllib.parse.urlsplit(ARGS.gateway)
    ARGS.host, ARGS.port = u.hostname, u.port
    sys.exit({"chat-fault": chat_fault, "stores": stores, "bad-input": bad_input, "slow-clients": slow_clients, "soak": soak}[ARGS.part]())


if __name__ == "__main__":
    main()
