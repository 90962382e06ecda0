"""A fake Chairside that speaks /synchronizer/v1/ as AGENT_PROTOCOL.md describes, and records every call."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PRODUCT_KEY = "ABCD-EFGH-JKLM-NPQR"
AGENT_TOKEN = "chs_agent_fake-token-0123456789abcdef"
PREFIX = "/synchronizer/v1"


@dataclass
class Call:
    method: str
    path: str  # without the prefix
    authorization: str | None
    body: Any


@dataclass
class FakeSynchronizer:
    batch_limit: int = 50
    heartbeat_interval_s: int = 60
    activated: bool = False
    calls: list[Call] = field(default_factory=list)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # pending write jobs by id
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # reported write jobs by id
    # path → [(status, headers)] answered (once each) before the real answer, e.g. a 429.
    interruptions: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    url: str = ""

    def answer(self, method: str, path: str, auth: str | None, body: Any) -> tuple[int, dict[str, str], Any]:
        self.calls.append(Call(method, path, auth, body))
        if self.interruptions.get(path):
            status, headers = self.interruptions[path].pop(0)
            return status, headers, _error("Slow down")
        if path == "/activate":
            if body.get("product_key") != PRODUCT_KEY:
                return 401, {}, _error("This product key is not valid.")
            if self.activated:
                return 409, {}, _error("This product key was already used.")
            self.activated = True
            return 201, {}, _ok({"sync_id": "SYNC1", "agent_token": AGENT_TOKEN, "ehr": "opendental",
                                  "heartbeat_interval_s": self.heartbeat_interval_s, "batch_limit": self.batch_limit})
        if auth != f"Bearer {AGENT_TOKEN}":
            return 401, {"WWW-Authenticate": 'Bearer realm="synchronizer"'}, _error("Bad agent token.")
        if (method, path) == ("POST", "/locations"):
            return 200, {}, _ok({"count": len(body["locations"])})
        if (method, path) == ("POST", "/records"):
            if len(body["records"]) + len(body.get("deleted", [])) > self.batch_limit:
                return 413, {}, _error(f"At most {self.batch_limit} records a batch.")
            return 200, {}, _ok({"upserted": len(body["records"]), "deleted": 0, "stored": True})
        if (method, path) == ("POST", "/heartbeat"):
            return 200, {}, _ok({"write_jobs_pending": len(self.jobs)})
        if (method, path) == ("GET", "/write_jobs"):
            return 200, {}, _ok(list(self.jobs.values()))
        if method == "POST" and path.startswith("/write_jobs/"):
            job_id = path.rsplit("/", 1)[1]
            if job_id in self.results:
                return 409, {}, _error("This write job was already reported.")
            if job_id not in self.jobs:
                return 404, {}, _error("Not found.")
            self.results[job_id] = body
            del self.jobs[job_id]
            return 200, {}, _ok({"id": job_id})
        return 404, {}, _error("Not found.")

    # --- what the tests look at --------------------------------------------------------------------

    def paths(self) -> list[str]:
        return [call.path for call in self.calls]

    def bodies(self, path: str) -> list[Any]:
        return [call.body for call in self.calls if call.path == path]


def _ok(data: Any) -> dict[str, Any]:
    return {"code": True, "description": None, "data": data, "error": None}


def _error(message: str) -> dict[str, Any]:
    return {"code": False, "description": message, "data": None, "error": [message]}


def serve(fake: FakeSynchronizer) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            path = self.path.removeprefix(PREFIX)
            status, headers, payload = fake.answer(self.command, path, self.headers.get("Authorization"), body)
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = _handle

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
