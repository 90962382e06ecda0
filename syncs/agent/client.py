"""HTTP for the Synchronizer protocol (/synchronizer/v1/), standard library only.

Retries what a retry can fix: 429 and 503 after their Retry-After (the server is up but a dependency is not: these
waits do not use up the retries, only a bounded time), network errors and 502/503/504 without Retry-After with an
exponential back-off. Everything else is raised as ApiError with the envelope's description.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from syncs.agent import AGENT_VERSION

log = logging.getLogger("syncs.agent")
PREFIX = "/synchronizer/v1"
RETRYABLE_STATUS = {502, 503, 504}


class ApiError(Exception):
    def __init__(self, status: int, description: str, errors: Any = None) -> None:
        super().__init__(f"HTTP {status}: {description}" + (f" {errors}" if errors else ""))
        self.status = status
        self.description = description
        self.errors = errors


class NetworkError(Exception):
    """The server could not be reached (or kept answering 429/5xx) after every retry."""


class ServerUnavailable(NetworkError):
    """The server kept answering 503 with Retry-After: it is down for maintenance or an outage, not broken.
    The loop waits `retry_after` seconds and tries again without counting a failed cycle."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProtocolClient:
    def __init__(self, server: str, token: str | None = None, *, timeout: float = 30.0, retries: int = 4,
                 sleep: Callable[[float], None] = time.sleep, unavailable_budget_s: float = 600.0) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.sleep = sleep
        # How long one call waits out 503 + Retry-After before handing the wait to the loop.
        self.unavailable_budget_s = unavailable_budget_s

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One protocol call; returns the envelope's `data`."""
        return _envelope(self.exchange(method, path, body)).get("data")

    def exchange(self, method: str, path: str, body: dict[str, Any] | None = None, *,
                 accept: str = "application/json") -> bytes:
        """One protocol call with its retries; returns the answer's bytes (errors are still the JSON envelope)."""
        url = self.server + PREFIX + path
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": accept, "User-Agent": f"chairside-agent/{AGENT_VERSION}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        waited_unavailable = 0.0
        attempt = 0
        while attempt <= self.retries:
            last = attempt == self.retries
            request = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return response.read()
            except urllib.error.HTTPError as error:
                payload = _envelope(error.read())
                if error.code == 503 and error.headers.get("Retry-After") is not None:
                    wait = max(1.0, _retry_after(error.headers.get("Retry-After")))  # 0 must not spin
                    if waited_unavailable + wait > self.unavailable_budget_s:
                        raise ServerUnavailable(f"{method} {path}: HTTP 503 (server unavailable)", wait) from None
                    log.warning("%s %s: 503, the server is unavailable; waiting %ss as Retry-After asks",
                                method, path, wait)
                    self.sleep(wait)
                    waited_unavailable += wait
                    continue  # not an attempt: the server answered and asked us to wait
                if error.code == 429 and not last:
                    wait = _retry_after(error.headers.get("Retry-After"))
                    log.warning("%s %s: 429, waiting %ss as Retry-After asks", method, path, wait)
                    self.sleep(wait)
                    attempt += 1
                    continue
                if error.code in RETRYABLE_STATUS and not last:
                    self._back_off(attempt, method, path, f"HTTP {error.code}")
                    attempt += 1
                    continue
                if error.code in RETRYABLE_STATUS or error.code == 429:
                    raise NetworkError(f"{method} {path}: HTTP {error.code} after {attempt + 1} tries") from None
                raise ApiError(error.code, str(payload.get("description") or error.reason), payload.get("error")) from None
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                reason = getattr(error, "reason", error)
                if last:
                    raise NetworkError(f"{method} {path}: {reason}") from None
                self._back_off(attempt, method, path, str(reason))
                attempt += 1
        raise AssertionError("unreachable")

    def _back_off(self, attempt: int, method: str, path: str, reason: str) -> None:
        wait = min(2 ** attempt, 30)
        log.warning("%s %s failed (%s); retrying in %ss", method, path, reason, wait)
        self.sleep(wait)

    # --- the protocol's calls ----------------------------------------------------------------------

    def activate(self, product_key: str, host: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", "/activate", {"product_key": product_key, "host": host})

    def locations(self, locations: list[dict[str, Any]]) -> Any:
        return self.call("POST", "/locations", {"locations": locations})

    def records(self, location_foreign_id: str, kind: str, records: list[dict[str, Any]],
                deleted: list[str] | None = None) -> Any:
        return self.call("POST", "/records", {"location_foreign_id": location_foreign_id, "kind": kind,
                                              "records": records, "deleted": deleted or []})

    def heartbeat(self, beat: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", "/heartbeat", beat) or {}

    def write_jobs(self) -> list[dict[str, Any]]:
        return self.call("GET", "/write_jobs") or []

    def write_job_result(self, job_id: str, result: dict[str, Any]) -> Any:
        return self.call("POST", f"/write_jobs/{job_id}", result)

    def write_job_file(self, job_id: str) -> bytes:
        """The bytes of a document write job's file."""
        return self.exchange("GET", f"/write_jobs/{job_id}/file", accept="*/*")


def _envelope(raw: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(raw or b"{}")
    except ValueError:
        return {"description": raw[:200].decode(errors="replace")}
    return parsed if isinstance(parsed, dict) else {"data": parsed}


def _retry_after(value: str | None) -> float:
    if value is None:
        return 5.0
    try:
        return max(0.0, min(float(value), 300.0))  # capped: a bad header must not park the agent for hours
    except ValueError:
        return 30.0  # an HTTP-date; rare enough not to parse
