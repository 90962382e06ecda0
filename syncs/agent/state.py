"""The agent's local state: one small JSON file, rewritten atomically, so a restart resumes."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def default_path(server: str, product_key: str) -> Path:
    # One file per (server, key): a reinstall key starts a fresh state (and a fresh historical read).
    digest = hashlib.sha256(f"{server.rstrip('/')}\n{product_key.strip()}".encode()).hexdigest()[:12]
    return Path.cwd() / f".chairside-agent-{digest}.json"


@dataclass
class State:
    sync_id: str = ""
    agent_token: str = ""
    batch_limit: int = 1000
    heartbeat_interval_s: int = 60
    marks: dict[str, dict[str, Any]] = field(default_factory=dict)  # table → Mark.to_json()
    locations_fingerprint: str = ""  # what we last reported, so unchanged clinics are not re-posted
    pending_jobs: dict[str, str] = field(default_factory=dict)  # write job id → row written, not yet reported
    # Locations whose records the server dropped (not selected yet): read again in full once it stores them.
    unselected_locations: list[str] = field(default_factory=list)
    last_read_at: str | None = None
    last_write_at: str | None = None

    @classmethod
    def load(cls, path: Path) -> State:
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        known = cls.__dataclass_fields__
        return cls(**{key: value for key, value in data.items() if key in known})

    def save(self, path: Path) -> None:
        # Write-then-rename so a crash never leaves half a file; 0600 because it holds the agent token.
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(self), handle, indent=2, sort_keys=True)
        os.replace(tmp, path)
