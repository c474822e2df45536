"""A local model that works through a fixed plan per task, over the real wire formats, with
faults injected into a share of its turns.

One HTTP server answers both `POST /v1/messages` (Anthropic Messages, streamed) and
`POST /v1/responses` (OpenAI Responses, streamed), so tasks run through the official SDKs.
It reads the task's tag (`[task <tag>]` in the first user message) and how many tool results
the conversation holds, and plays that step of the plan:

1. create `notes/<tag>.txt`;
2. run `echo <tag> >> ran.log` (a side effect that shows a command run twice);
3. finish with the summary `done <tag>`.

Each request draws (deterministically, from the seed, the tag, the step and the attempt)
whether to fail and how: 429 with and without `retry-after`, 529 overloaded, 500, a stall
past the client's timeout, a stream cut in the middle of a tool call's arguments, a malformed
event, or an error event inside the stream. Attempts past `max_faults_per_turn` always
answer, so every turn finishes within the agent's retry budget. Every request is recorded
with the usage the server reported, for the billing check.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.agent.wire import (
    anthropic_error,
    anthropic_stream,
    fragments,
    openai_error,
    responses_stream,
)

FAULTS = (
    "429_retry_after",
    "429",
    "529",
    "500",
    "timeout",
    "cut_mid_tool",
    "malformed_event",
    "error_event",
)
_TAG = re.compile(r"\[task ([A-Za-z0-9_-]+)\]")
STEPS = 3


@dataclass
class Request:
    api: str
    tag: str
    step: int
    attempt: int
    fault: str | None
    started: float
    ended: float = 0.0
    outcome: str = ""
    """complete, partial (stream failed after usage was reported), refused (an error status),
    broken (stream failed before any usage), stalled (no answer in time)."""
    reported: tuple[int, int] | None = None
    """(input, output) tokens the server reported, when it reported any."""


@dataclass
class ModelServer:
    fault_rate: float = 0.2
    seed: int = 7
    faults: tuple[str, ...] = FAULTS
    stall_seconds: float = 4.0
    retry_after_seconds: int = 1
    max_faults_per_turn: int = 3
    fatal_tags: frozenset[str] = frozenset()
    """Tasks whose every call is refused with 401 (a fault not worth retrying)."""
    requests: list[Request] = field(default_factory=list)
    _attempts: dict[tuple[str, int], int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    server._answer(self, raw)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- deciding ---------------------------------------------------------------------------

    def _fault_for(self, tag: str, step: int, attempt: int) -> str | None:
        if attempt > self.max_faults_per_turn or not self.faults:
            return None
        digest = hashlib.sha256(f"{self.seed}:{tag}:{step}:{attempt}".encode()).digest()
        draw = int.from_bytes(digest[:4], "big") / 2**32
        if draw >= self.fault_rate:
            return None
        return self.faults[int.from_bytes(digest[4:8], "big") % len(self.faults)]

    @staticmethod
    def plan(tag: str, step: int) -> tuple[str, str, dict[str, Any]]:
        """(text, tool name, arguments) of step `step` of task `tag`."""
        if step == 1:
            content = f"Notes of {tag}.\n"
            return "Writing the notes. ", "create", {"path": f"notes/{tag}.txt", "content": content}
        if step == 2:
            return "Recording the run. ", "run", {"command": f"echo {tag} >> ran.log"}
        return "All done. ", "finish", {"summary": f"done {tag}"}

    def plan_for(
        self, handler: BaseHTTPRequestHandler, rec: Request
    ) -> tuple[str, str, dict[str, Any]]:
        """The step to play for this request (subclasses may look at its headers)."""
        return self.plan(rec.tag, rec.step)

    # -- answering --------------------------------------------------------------------------

    def _answer(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        body = json.loads(raw or b"{}")
        api = "anthropic" if handler.path.endswith("/messages") else "openai"
        tag, results = _read_conversation(api, body)
        step = min(results + 1, STEPS)
        with self._lock:
            attempt = self._attempts.get((tag, step), 0) + 1
            self._attempts[(tag, step)] = attempt
            record = Request(api, tag, step, attempt, None, time.monotonic())
            record.fault = self._fault_for(tag, step, attempt)
            self.requests.append(record)
        try:
            self._reply(handler, api, body, raw, record)
        finally:
            record.ended = time.monotonic()

    def _reply(
        self, handler: BaseHTTPRequestHandler, api: str, body: Any, raw: bytes, rec: Request
    ) -> None:
        fault = rec.fault
        if rec.tag in self.fatal_tags:
            rec.outcome = "refused"
            body = (
                anthropic_error(401, "authentication_error", "invalid x-api-key")
                if api == "anthropic"
                else openai_error("Incorrect API key provided", "invalid_api_key")
            )
            return _json_reply(handler, 401, body, {})
        if fault in ("429_retry_after", "429", "529", "500"):
            status = int(fault[:3])
            headers = (
                {"retry-after": str(self.retry_after_seconds)} if fault == "429_retry_after" else {}
            )
            rec.outcome = "refused"
            return _json_reply(handler, status, _error_body(api, status), headers)
        if fault == "timeout":
            rec.outcome = "stalled"
            time.sleep(self.stall_seconds)
            handler.close_connection = True
            return None
        text, tool, arguments = self.plan_for(handler, rec)
        input_tokens = 200 + len(raw) // 40
        output_tokens = 20 + rec.step
        call_id = f"call_{rec.tag}_{rec.step}_{rec.attempt}"
        pieces = fragments(arguments, 7)
        if api == "anthropic":
            events = anthropic_stream(
                text=[text[:8], text[8:]], tools=[(call_id, tool, pieces)], stop_reason="tool_use",
                input_tokens=input_tokens, output_tokens=output_tokens,
            )  # fmt: skip
        else:
            events = responses_stream(
                text=[text[:8], text[8:]], tools=[(call_id, tool, pieces)],
                input_tokens=input_tokens, output_tokens=output_tokens,
            )  # fmt: skip
        cut: int | None = None
        if fault == "cut_mid_tool":
            cut = _index_of_arguments(events, api) + 1
        elif fault == "malformed_event":
            at = _index_of_arguments(events, api)
            events.insert(at, (events[at][0], '{"type": "content_block_delta", "index": 1, '))
            cut = None
        elif fault == "error_event":
            at = _index_of_arguments(events, api)
            if api == "anthropic":
                data = json.dumps(anthropic_error(529, "overloaded_error", "Overloaded"))
            else:
                data = json.dumps(
                    {"type": "error", "code": "server_error", "param": None,
                     "message": "The server had an error processing your request.",
                     "sequence_number": at}
                )  # fmt: skip
            events = [*events[:at], ("error", data)]
        # Usage the server has reported by the time the stream stops.
        last = len(events) if cut is None else cut
        if fault is None:
            rec.reported = (input_tokens, output_tokens)
            rec.outcome = "complete"
        elif api == "anthropic" and last > 0:
            rec.reported = (input_tokens, 1)  # message_start's figures
            rec.outcome = "partial"
        else:
            rec.outcome = "broken"
        _stream_reply(handler, events, cut)


def _read_conversation(api: str, body: Any) -> tuple[str, int]:
    """(the task's tag, how many tool results the conversation holds)."""
    if api == "anthropic":
        messages = body.get("messages") or []
        first = messages[0]["content"][0].get("text", "") if messages else ""
        results = sum(
            1
            for m in messages
            if m.get("role") == "user"
            for block in m.get("content", [])
            if isinstance(block, dict) and block.get("type") == "tool_result"
        )
    else:
        items = body.get("input") or []
        first = str(items[0].get("content", "")) if items else ""
        results = sum(1 for item in items if item.get("type") == "function_call_output")
    match = _TAG.search(first)
    return (match.group(1) if match else "untagged"), results


def _index_of_arguments(events: list[tuple[str | None, str]], api: str) -> int:
    """The position of the second argument fragment of the turn's tool call."""
    marker = '"input_json_delta"' if api == "anthropic" else "function_call_arguments.delta"
    hits = [i for i, (_, data) in enumerate(events) if marker in data]
    return hits[min(2, len(hits) - 1)]


def _error_body(api: str, status: int) -> dict[str, Any]:
    kinds = {429: "rate_limit_error", 529: "overloaded_error", 500: "api_error"}
    if api == "anthropic":
        return anthropic_error(status, kinds[status], f"injected {status}")
    return openai_error(f"injected {status}", kinds[status], kinds[status])


def _json_reply(
    handler: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str]
) -> None:
    payload = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(payload)))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(payload)
    handler.wfile.flush()


def _stream_reply(
    handler: BaseHTTPRequestHandler, events: list[tuple[str | None, str]], cut: int | None
) -> None:
    handler.send_response(200)
    handler.send_header("content-type", "text/event-stream")
    handler.send_header("cache-control", "no-cache")
    handler.send_header("transfer-encoding", "chunked")
    handler.end_headers()
    for number, (event, data) in enumerate(events):
        if cut is not None and number >= cut:
            handler.close_connection = True
            return
        frame = ((f"event: {event}\n" if event else "") + f"data: {data}\n\n").encode()
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
        handler.wfile.flush()
    handler.wfile.write(b"0\r\n\r\n")
    handler.wfile.flush()
