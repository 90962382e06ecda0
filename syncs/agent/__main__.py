"""python -m syncs.agent --server URL --product-key KEY --database URL [--once] [--state FILE] [--interval S]
                        [--documents-folder DIR]

Exit codes: 0 done (or stopped by SIGINT/SIGTERM), 1 a --once cycle failed, 2 the server refused our
credentials (a used or wrong product key, a revoked agent token): retrying cannot help.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from syncs.agent.client import ApiError, NetworkError, ProtocolClient, ServerUnavailable
from syncs.agent.runner import Agent, Fatal
from syncs.agent.state import State, default_path

log = logging.getLogger("syncs.agent")
MAX_BACKOFF_S = 300.0


class MaskSecrets(logging.Formatter):
    """Last line of defence: whatever gets logged (tracebacks too), the product key and agent token
    never reach stderr."""

    def __init__(self, secrets: Callable[[], list[str]]) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s")
        self.secrets = secrets  # read at each record: the token appears only on activation

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets():
            if secret:
                text = text.replace(secret, secret[:4] + "…")
        return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m syncs.agent", description="The Chairside Synchronizer agent.")
    parser.add_argument("--server", required=True, help="Chairside base URL, e.g. https://portal.example.com")
    parser.add_argument("--product-key", required=True, help="the sync's product key from the portal")
    parser.add_argument("--database", required=True, help="sqlite:///practice.db or mysql://user:pw@host:3306/opendental")
    parser.add_argument("--once", action="store_true", help="run one cycle and exit")
    parser.add_argument("--state", type=Path, help="state file (default: .chairside-agent-<hash>.json here)")
    parser.add_argument("--documents-folder", type=Path,
                        help="the practice's images folder (Open Dental's A to Z folder) where uploaded documents are "
                             "written (default: OpenDentImages beside the state file)")
    parser.add_argument("--interval", type=float, default=15.0, help="seconds between cycles (default 15)")
    args = parser.parse_args(argv)

    state_path: Path = args.state or default_path(args.server, args.product_key)
    state = State.load(state_path)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaskSecrets(lambda: [args.product_key, state.agent_token]))
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False

    agent = Agent(client=ProtocolClient(args.server), database_url=args.database, product_key=args.product_key,
                  state=state, state_path=state_path, documents_folder=args.documents_folder)
    stop = threading.Event()
    if not args.once:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())

    failures = 0
    while True:
        unavailable_wait = None
        try:
            agent.cycle()
            failures = 0
        except Fatal as error:
            log.error("%s", error)
            return 2
        except ServerUnavailable as error:  # a server outage, announced: wait as asked, not a failed cycle
            unavailable_wait = error.retry_after
            log.warning("%s; trying again in %ss", error, unavailable_wait)
        except (NetworkError, ApiError, OSError, *_database_errors()) as error:
            failures += 1
            log.error("Cycle failed (%s: %s)", type(error).__name__, error)
        except Exception:  # a bug or a surprising answer must not end a service that runs unattended
            failures += 1
            log.exception("Cycle failed unexpectedly")
        if args.once:
            return 1 if failures or unavailable_wait is not None else 0
        # Back off while the server or database is down, so a fleet of agents does not hammer it.
        delay = min(args.interval * 2 ** min(failures, 8), max(MAX_BACKOFF_S, args.interval)) if failures else args.interval
        if unavailable_wait is not None:
            delay = max(unavailable_wait, args.interval)
        if stop.wait(delay):
            log.info("Stopping")
            return 0


def _database_errors() -> tuple[type[Exception], ...]:
    import sqlite3

    try:
        import pymysql
    except ImportError:
        return (sqlite3.Error,)
    return (sqlite3.Error, pymysql.Error)


if __name__ == "__main__":
    sys.exit(main())
