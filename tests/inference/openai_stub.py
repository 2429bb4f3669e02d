"""A real HTTP server on loopback speaking the OpenAI chat-completions protocol, with scripted behaviour.

Test plumbing only: every text it returns is a FIXTURE (prefixed "[loopback fixture]" unless a test
scripts it), never model output. Replies are scripted per conversation (keyed by the last user
message): a list of `Reply`s consumed in order, then `default(body)` for the rest.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FIXTURE_PREFIX = "[loopback fixture]"


@dataclass
class Reply:
    status: int = 200
    text: str = ""  # the completion text, or the error message for status != 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (to trip client timeouts)
    finish_reason: str = "stop"
    raw: bytes | None = None  # a body sent as is (malformed responses)


def fixture_reply(body: dict) -> Reply:
    return Reply(text=f"{FIXTURE_PREFIX} reply to: {last_user_message(body)[:40]}")


def last_user_message(body: dict) -> str:
    return next((m.get("content", "") for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")


class StubOpenAIServer:
    def __init__(self, script: dict[str, list[Reply]] | None = None,
                 default: Callable[[dict], Reply] = fixture_reply, *, model: str = "stub-model",
                 hold_first: int = 0, hold_timeout: float = 5.0):
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.default = default
        self.model = model
        # The first `hold_first` requests wait (up to hold_timeout) for each other: all of them are then in
        # flight at once, which makes a concurrency bound observable without depending on timing.
        self.hold_first = hold_first
        self.hold_timeout = hold_timeout
        self.requests: list[dict] = []  # bodies received, in arrival order
        self.headers: list[dict] = []
        self.inflight = 0
        self.max_inflight = 0
        self._lock = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def calls_for(self, user_message: str) -> int:
        return sum(1 for body in self.requests if last_user_message(body) == user_message)

    def __enter__(self) -> StubOpenAIServer:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                if self.path.rstrip("/") != "/v1/models":
                    return self._send(404, {"error": {"message": "not found"}})
                self._send(200, {"object": "list", "data": [
                    {"id": stub.model, "object": "model", "owned_by": "loopback-stub", "root": "stub/root",
                     "max_model_len": 2048},
                ]})

            def do_POST(self):
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": "not found"}})
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with stub._lock:
                    stub.requests.append(body)
                    stub.headers.append(dict(self.headers))
                    queue = stub.script.get(last_user_message(body))
                    reply = queue.pop(0) if queue else None
                    stub.inflight += 1
                    stub.max_inflight = max(stub.max_inflight, stub.inflight)
                    stub._lock.notify_all()
                    if len(stub.requests) <= stub.hold_first:
                        stub._lock.wait_for(lambda: len(stub.requests) >= stub.hold_first, timeout=stub.hold_timeout)
                try:
                    reply = reply or stub.default(body)
                    if reply.delay:
                        time.sleep(reply.delay)
                    if reply.raw is not None:
                        return self._send_raw(reply.status, reply.raw, reply.headers)
                    if reply.status != 200:
                        return self._send(reply.status, {"error": {"message": reply.text, "code": reply.status}},
                                          reply.headers)
                    self._send(200, completion(body, reply), reply.headers)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)
                finally:
                    with stub._lock:
                        stub.inflight -= 1
                        stub._lock.notify_all()

            def _send(self, status, payload, headers=None):
                self._send_raw(status, json.dumps(payload).encode(), headers)

            def _send_raw(self, status, data: bytes, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def completion(body: dict, reply: Reply) -> dict:
    n = int(body.get("n", 1))
    texts = [reply.text if n == 1 else f"{reply.text} (sample {i})" for i in range(n)]
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    completion_tokens = sum(len(t.split()) for t in texts)
    return {
        "id": f"chatcmpl-stub-{len(texts)}",
        "object": "chat.completion",
        "model": body.get("model"),
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": reply.finish_reason}
            for i, t in enumerate(texts)
        ],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }
