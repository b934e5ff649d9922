#!/usr/bin/env python3
"""The fakes of scripts/prove-queue.sh, in one loopback HTTP server: an OpenAI-compatible model
and DingTalk custom robots, both recording what reaches them, so the proof can count model calls
and pushes per task and tell which gateway sent each.

Every path starts with the name of the gateway that calls it (its MODEL_ENDPOINT and its bots'
webhooks name it), so a request says who sent it:

  GET  /<gw>/v1/models                      {"object":"list","data":[{"id":"fake-model",...}]}
  POST /<gw>/v1/chat/completions            after --model-delay-ms, "echo: <last user message>"
  POST /<gw>/robot/send?access_token=<bot>&timestamp=<ms>&sign=<b64>
                                            DingTalk custom robot with 加签: the sign is checked
                                            (base64 HMAC-SHA256(secret, timestamp + "\\n" + secret));
                                            {"errcode":0,"errmsg":"ok"} after --push-delay-ms, or
                                            {"errcode":310000,"errmsg":"sign not match"}
  GET  /_events                             every model call and push so far, as JSON
  GET  /_health                             200

The task number is read from the text (task-<digits>), which the model echoes into the result
and the gateway puts into the push. Standard library only; one thread per connection.
"""
import argparse
import base64
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TASK = re.compile(r"task-(\d+)")
LOCK = threading.Lock()
MODEL_CALLS = []   # [t_ms, gw, task]
PUSHES = []        # [t_ms, gw, bot, task, errcode]
ARGS = None


def now_ms():
    return int(time.time() * 1000)


def task_of(text):
    m = TASK.search(text or "")
    return int(m.group(1)) if m else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/_health":
            return self.reply(200, {"ok": True})
        if path == "/_events":
            with LOCK:
                snapshot = {"model_calls": list(MODEL_CALLS), "pushes": list(PUSHES)}
            return self.reply(200, snapshot)
        if path.endswith("/v1/models"):
            return self.reply(200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "fake"}]})
        return self.reply(404, {"error": {"message": "no such path " + path}})

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        gw = parts[0] if parts else "?"
        body = self.body()
        if url.path.endswith("/v1/chat/completions"):
            return self.chat(gw, body)
        if url.path.endswith("/robot/send"):
            return self.push(gw, urllib.parse.parse_qs(url.query), body)
        return self.reply(404, {"error": {"message": "no such path " + url.path}})

    def chat(self, gw, body):
        messages = body.get("messages") or []
        text = ""
        for m in reversed(messages):
            if m.get("role") == "user":
                c = m.get("content")
                text = c if isinstance(c, str) else json.dumps(c)
                break
        with LOCK:
            MODEL_CALLS.append([now_ms(), gw, task_of(text)])
        if ARGS.model_delay_ms:
            time.sleep(ARGS.model_delay_ms / 1000)
        reply = "echo: " + text
        if body.get("stream"):
            chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                     "model": body.get("model", "fake-model"),
                     "choices": [{"index": 0, "delta": {"role": "assistant", "content": reply}, "finish_reason": "stop"}]}
            data = ("data: " + json.dumps(chunk, ensure_ascii=False) + "\n\ndata: [DONE]\n\n").encode()
            return self.reply(200, data, "text/event-stream")
        return self.reply(200, {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake-model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

    def push(self, gw, query, body):
        bot = (query.get("access_token") or ["?"])[0]
        ts = (query.get("timestamp") or [""])[0]
        sign = (query.get("sign") or [""])[0]
        expected = base64.b64encode(hmac.new(ARGS.secret.encode(), (ts + "\n" + ARGS.secret).encode(),
                                             hashlib.sha256).digest()).decode()
        text = ((body.get("text") or {}).get("content")) or json.dumps(body, ensure_ascii=False)
        ok = hmac.compare_digest(sign, expected)
        with LOCK:
            PUSHES.append([now_ms(), gw, bot, task_of(text), 0 if ok else 310000])
        if not ok:
            return self.reply(200, {"errcode": 310000, "errmsg": "sign not match"})
        if ARGS.push_delay_ms:
            time.sleep(ARGS.push_delay_ms / 1000)
        return self.reply(200, {"errcode": 0, "errmsg": "ok"})


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--model-delay-ms", type=int, default=100)
    p.add_argument("--push-delay-ms", type=int, default=10)
    ARGS = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    print("prove fakes listening on http://127.0.0.1:%d" % ARGS.port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
