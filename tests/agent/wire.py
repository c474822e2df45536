"""A local HTTP server speaking Anthropic's and OpenAI's wire formats, for the real SDKs.

It runs in a thread of the test process on 127.0.0.1 and answers each request with the next
queued `Reply`: a JSON body, or a server-sent event stream (chunked, as the APIs send it) that
can be cut mid-stream by dropping the connection. Every request is recorded (path, headers,
JSON body) so tests can assert what the SDK sent. The builders below produce event streams in
the exact shapes the APIs document: Anthropic Messages streaming, OpenAI Responses streaming,
and Chat Completions chunks.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    """JSON body for non-streaming replies (errors)."""
    events: list[tuple[str | None, str]] | None = None
    """(event name, data) pairs sent as an SSE stream."""
    cut_after: int | None = None
    """Drop the connection after this many events (no terminating chunk)."""
    delay: float = 0.0


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any


class WireServer:
    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                with server._lock:
                    server.requests.append(
                        Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    reply = server.replies.pop(0) if server.replies else None
                if reply is None:
                    reply = Reply(status=500, body={"error": {"message": "no reply queued"}})
                try:
                    server._answer(self, reply)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client hung up mid-stream

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}"

    def queue(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        if reply.events is None:
            payload = json.dumps(reply.body if reply.body is not None else {}).encode()
            handler.send_response(reply.status)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(payload)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
            handler.wfile.flush()
            return
        handler.send_response(reply.status)
        handler.send_header("content-type", "text/event-stream")
        handler.send_header("cache-control", "no-cache")
        handler.send_header("transfer-encoding", "chunked")
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.end_headers()

        def chunk(data: bytes) -> None:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            handler.wfile.flush()

        for number, (event, data) in enumerate(reply.events):
            if reply.cut_after is not None and number >= reply.cut_after:
                handler.close_connection = True
                return  # no terminating chunk: the client sees a broken stream
            if reply.delay:
                time.sleep(reply.delay)
            frame = (f"event: {event}\n" if event else "") + f"data: {data}\n\n"
            chunk(frame.encode())
        chunk(b"")


def _j(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


# -- Anthropic Messages streaming ---------------------------------------------------------


def anthropic_stream(
    *,
    text: Sequence[str] = (),
    tools: Sequence[tuple[str, str, Sequence[str]]] = (),
    stop_reason: str = "end_turn",
    input_tokens: int = 25,
    output_tokens: int = 12,
    cache_read: int = 0,
    cache_write: int = 0,
    model: str = "claude-test",
) -> list[tuple[str | None, str]]:
    """Events of one streamed message: text chunks, then tool_use blocks (id, name, fragments)."""
    events: list[tuple[str | None, str]] = [
        (
            "message_start",
            _j(
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
                        "type": "message",
                        "role": "assistant",
                        "content": [],
                        "model": model,
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {
                            "input_tokens": input_tokens,
                            "cache_creation_input_tokens": cache_write,
                            "cache_read_input_tokens": cache_read,
                            "output_tokens": 1,
                        },
                    },
                }
            ),
        ),
        ("ping", _j({"type": "ping"})),
    ]
    index = 0
    if text:
        events.append(
            (
                "content_block_start",
                _j(
                    {
                        "type": "content_block_start",
                        "index": 0,
                        "content_block": {"type": "text", "text": ""},
                    }
                ),
            )
        )
        for piece in text:
            events.append(
                (
                    "content_block_delta",
                    _j(
                        {
                            "type": "content_block_delta",
                            "index": 0,
                            "delta": {"type": "text_delta", "text": piece},
                        }
                    ),
                )
            )
        events.append(("content_block_stop", _j({"type": "content_block_stop", "index": 0})))
        index = 1
    for call_id, name, fragments in tools:
        events.append(
            (
                "content_block_start",
                _j(
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {
                            "type": "tool_use",
                            "id": call_id,
                            "name": name,
                            "input": {},
                        },
                    }
                ),
            )
        )
        for fragment in ["", *fragments]:
            events.append(
                (
                    "content_block_delta",
                    _j(
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": fragment},
                        }
                    ),
                )
            )
        events.append(("content_block_stop", _j({"type": "content_block_stop", "index": index})))
        index += 1
    events.append(
        (
            "message_delta",
            _j(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": output_tokens},
                }
            ),
        )
    )
    events.append(("message_stop", _j({"type": "message_stop"})))
    return events


def anthropic_error(status: int, kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def fragments(value: dict[str, Any], size: int = 3) -> list[str]:
    """The JSON text of `value` split into pieces of `size` characters."""
    text = json.dumps(value)
    return [text[i : i + size] for i in range(0, len(text), size)]


# -- OpenAI Responses streaming -----------------------------------------------------------


def _response(
    status: str, output: list[Any], usage: Any, incomplete: str | None = None
) -> dict[str, Any]:
    return {
        "id": "resp_67ccd2bed1ec8190b14f964abc054267",
        "object": "response",
        "created_at": 1741476542,
        "status": status,
        "error": None,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": None,
        "max_output_tokens": None,
        "model": "gpt-test",
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
    }


def responses_stream(
    *,
    text: Sequence[str] = (),
    tools: Sequence[tuple[str, str, Sequence[str]]] = (),
    input_tokens: int = 40,
    cached_tokens: int = 0,
    output_tokens: int = 10,
    incomplete: str | None = None,
) -> list[tuple[str | None, str]]:
    seq = 0
    events: list[tuple[str | None, str]] = []

    def add(kind: str, **data: Any) -> None:
        nonlocal seq
        events.append((kind, _j({"type": kind, "sequence_number": seq, **data})))
        seq += 1

    add("response.created", response=_response("in_progress", [], None))
    add("response.in_progress", response=_response("in_progress", [], None))
    output: list[dict[str, Any]] = []
    index = 0
    if text:
        item_id = "msg_67ccd2bf17f0819081ff3bb2cf6508e6"
        item = {
            "id": item_id,
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        add("response.output_item.added", output_index=0, item=item)
        add(
            "response.content_part.added",
            item_id=item_id,
            output_index=0,
            content_index=0,
            part={"type": "output_text", "text": "", "annotations": []},
        )
        for piece in text:
            add(
                "response.output_text.delta",
                item_id=item_id,
                output_index=0,
                content_index=0,
                delta=piece,
                logprobs=[],
            )
        full = "".join(text)
        add(
            "response.output_text.done",
            item_id=item_id,
            output_index=0,
            content_index=0,
            text=full,
            logprobs=[],
        )
        part = {"type": "output_text", "text": full, "annotations": []}
        add(
            "response.content_part.done",
            item_id=item_id,
            output_index=0,
            content_index=0,
            part=part,
        )
        done = {**item, "status": "completed", "content": [part]}
        add("response.output_item.done", output_index=0, item=done)
        output.append(done)
        index = 1
    for call_id, name, pieces in tools:
        item_id = f"fc_{call_id}"
        item = {
            "id": item_id,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": call_id,
            "name": name,
        }
        add("response.output_item.added", output_index=index, item=item)
        for piece in pieces:
            add(
                "response.function_call_arguments.delta",
                item_id=item_id,
                output_index=index,
                delta=piece,
            )
        arguments = "".join(pieces)
        if incomplete is None:
            add(
                "response.function_call_arguments.done",
                item_id=item_id,
                output_index=index,
                arguments=arguments,
            )
            done = {**item, "status": "completed", "arguments": arguments}
            add("response.output_item.done", output_index=index, item=done)
            output.append(done)
        index += 1
    usage = {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached_tokens},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }
    if incomplete:
        add("response.incomplete", response=_response("incomplete", output, usage, incomplete))
    else:
        add("response.completed", response=_response("completed", output, usage))
    return events


# -- Chat Completions streaming -----------------------------------------------------------


def chat_stream(
    *,
    text: Sequence[str] = (),
    tools: Sequence[tuple[str, str, Sequence[str]]] = (),
    finish_reason: str | None = None,
    prompt_tokens: int = 30,
    cached_tokens: int = 0,
    completion_tokens: int = 9,
    usage: bool = True,
) -> list[tuple[str | None, str]]:
    base = {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion.chunk",
        "created": 1741570283,
        "model": "local-test",
        "system_fingerprint": "fp_1",
    }
    events: list[tuple[str | None, str]] = []

    def chunk(delta: dict[str, Any], finish: str | None = None) -> None:
        body = {
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        events.append((None, _j(body)))

    chunk({"role": "assistant", "content": "", "refusal": None})
    for piece in text:
        chunk({"content": piece})
    for index, (call_id, name, pieces) in enumerate(tools):
        chunk(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": ""},
                    }
                ]
            }
        )
        for piece in pieces:
            chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    chunk({}, finish_reason or ("tool_calls" if tools else "stop"))
    if usage:
        events.append(
            (
                None,
                _j(
                    {
                        **base,
                        "choices": [],
                        "usage": {
                            "prompt_tokens": prompt_tokens,
                            "completion_tokens": completion_tokens,
                            "total_tokens": prompt_tokens + completion_tokens,
                            "prompt_tokens_details": {"cached_tokens": cached_tokens},
                        },
                    }
                ),
            )
        )
    events.append((None, "[DONE]"))
    return events


def openai_error(message: str, code: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def flatten(groups: Iterable[Iterable[Any]]) -> list[Any]:
    return [item for group in groups for item in group]
