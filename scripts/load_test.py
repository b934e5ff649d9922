"""Locust load test for the Switchboard gateway.

    SWITCHBOARD_TOKEN=<jwt> locust -f scripts/load_test.py --host=http://127.0.0.1:18789

Environment:
    SWITCHBOARD_TOKEN  JWT sent as "Authorization: Bearer <token>" (required; mint one with
                       `java -jar target/switchboard.jar token --sub loadtest --ttl 1h`)
    LOAD_MODEL         model asked for in chat completions (default: fake-model)
    LOAD_CHAT_PATH     chat completions path (default: /v1/chat/completions)
    LOAD_TASKS_PATH    task submission path (default: /api/v1/tasks)

scripts/load-test.sh runs it headless against a gateway in front of the fake upstream.
Needs Debian's python3-locust (/usr/bin/locust).
"""

import csv
import itertools
import os
import sys

from locust import HttpUser, constant, events, task
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

TOKEN = os.environ.get("SWITCHBOARD_TOKEN", "").strip()
if not TOKEN:
    sys.exit(
        "load_test.py: SWITCHBOARD_TOKEN is not set. Mint a token with\n"
        "  java -jar target/switchboard.jar token --sub loadtest --ttl 1h\n"
        "and export SWITCHBOARD_TOKEN=<token> (scripts/load-test.sh does all of this)."
    )

MODEL = os.environ.get("LOAD_MODEL", "fake-model")
CHAT_PATH = os.environ.get("LOAD_CHAT_PATH", "/v1/chat/completions")
TASKS_PATH = os.environ.get("LOAD_TASKS_PATH", "/api/v1/tasks")
DONE_EVENT = "data: [DONE]"

_sequence = itertools.count(1)


@events.quitting.add_listener
def write_final_stats_csv(environment, **_kwargs):
    """Locust rewrites <prefix>_stats.csv once a second, so it may miss the last second of the
    run; write it once more with the final numbers, the ones of the printed summary."""
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if prefix:
        with open(f"{prefix}_stats.csv", "w", newline="", encoding="utf-8") as stats_file:
            StatsCSV(environment, PERCENTILES_TO_REPORT).requests_csv(csv.writer(stats_file))


def chat_body(stream):
    body = {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You are a load test. Answer briefly."},
            {"role": "user", "content": f"load test message {next(_sequence)}: say something"},
        ],
    }
    if stream:
        body["stream"] = True
    return body


def describe(response):
    """Status and the start of the body, for failure messages."""
    text = (response.text or "")[:200].replace("\n", "\\n")
    return f"HTTP {response.status_code}: {text}"


def json_or_none(response):
    """The body as a dict, or None when it is not a JSON object."""
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


class GatewayUser(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.client.headers.update({"Authorization": f"Bearer {TOKEN}"})

    @task(5)
    def chat_completion(self):
        with self.client.post(CHAT_PATH, json=chat_body(stream=False),
                              name="chat completion", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(describe(response))
                return
            payload = json_or_none(response)
            if payload is None:
                response.failure("body is not a JSON object: " + describe(response))
            elif not payload.get("choices"):
                response.failure("no choices: " + describe(response))
            else:
                response.success()

    @task(3)
    def chat_completion_stream(self):
        # Without stream=True, requests reads the whole SSE body before returning, so the time
        # recorded covers the full stream, up to and including the [DONE] event.
        with self.client.post(CHAT_PATH, json=chat_body(stream=True),
                              name="chat completion (stream)", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(describe(response))
                return
            content_type = response.headers.get("Content-Type", "")
            if not content_type.startswith("text/event-stream"):
                response.failure(f"content-type {content_type!r}, not text/event-stream")
            elif response.text.rstrip().endswith(DONE_EVENT):
                response.success()
            else:
                response.failure("stream did not end with 'data: [DONE]': ..."
                                 + response.text[-200:].replace("\n", "\\n"))

    @task(1)
    def submit_task(self):
        body = {"input": f"load test task {next(_sequence)}", "priority": "normal"}
        with self.client.post(TASKS_PATH, json=body, name="task submission",
                              catch_response=True) as response:
            if response.status_code != 202:
                response.failure(describe(response))
                return
            payload = json_or_none(response)
            if payload and payload.get("id"):
                response.success()
            else:
                response.failure("202 without an id: " + describe(response))
