"""One thin wrapper over sqlite3 and PyMySQL so the agent and the generator write each query once.

Queries use `?` placeholders; for MySQL they become `%s`. Dates and times come back as the strings
Open Dental would show ("YYYY-MM-DD HH:MM:SS", "YYYY-MM-DD", "HH:MM:SS") whichever driver read them, so
high-water marks compare and serialize the same way on both.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Self
from urllib.parse import unquote, urlsplit

STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class DatabaseUrl:
    dialect: str  # "sqlite" or "mysql"
    path: str = ""  # sqlite file
    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str = ""
    name: str = ""  # mysql database

    @classmethod
    def parse(cls, url: str) -> DatabaseUrl:
        parts = urlsplit(url)
        if parts.scheme == "sqlite":
            # sqlite:///relative.db and sqlite:////absolute.db, as in SQLAlchemy and dj-database-url.
            path = url[len("sqlite:///"):]
            if not path:
                raise ValueError("sqlite URL needs a file: sqlite:///practice.db")
            return cls("sqlite", path=path)
        if parts.scheme in ("mysql", "mariadb", "mysql+pymysql"):
            name = parts.path.lstrip("/")
            # The name is spliced into CREATE/DROP DATABASE, so it must be a plain identifier.
            if not re.fullmatch(r"[A-Za-z0-9_]+", name):
                raise ValueError("MySQL URL needs a database name: mysql://root@127.0.0.1:3306/opendental")
            return cls("mysql", host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
                       user=unquote(parts.username or "root"), password=unquote(parts.password or ""), name=name)
        raise ValueError(f"Unsupported database URL scheme {parts.scheme!r}: use sqlite:/// or mysql://")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime(STAMP_FORMAT)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):  # PyMySQL reads a TIME column as a duration; SQLite keeps the text
        seconds = int(value.total_seconds())
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return value


class Database:
    def __init__(self, url: str) -> None:
        self.url = DatabaseUrl.parse(url)
        self.dialect = self.url.dialect
        if self.dialect == "sqlite":
            self.conn: Any = sqlite3.connect(self.url.path)
            self.errors: tuple[type[Exception], ...] = (sqlite3.Error,)
        else:
            import pymysql  # only needed for MariaDB/MySQL

            self.conn = pymysql.connect(host=self.url.host, port=self.url.port, user=self.url.user,
                                        password=self.url.password, database=self.url.name, charset="utf8mb4")
            self.errors = (pymysql.Error,)

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "mysql" else sql

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.conn.cursor()
        try:
            cursor.execute(self._sql(sql), tuple(params))
            names = [column[0] for column in cursor.description]
            return [{name: _plain(value) for name, value in zip(names, row)} for row in cursor.fetchall()]
        finally:
            cursor.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the new row's id for an INSERT."""
        cursor = self.conn.cursor()
        try:
            cursor.execute(self._sql(sql), tuple(params))
            return int(cursor.lastrowid or 0)
        finally:
            cursor.close()

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        cursor = self.conn.cursor()
        try:
            cursor.executemany(self._sql(sql), [tuple(row) for row in rows])
        finally:
            cursor.close()

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _server(url: DatabaseUrl) -> Any:
    import pymysql

    return pymysql.connect(host=url.host, port=url.port, user=url.user, password=url.password, charset="utf8mb4")


def create_database(url: str) -> None:
    """Make sure the database exists (MySQL: CREATE DATABASE; SQLite: the file's folder)."""
    parsed = DatabaseUrl.parse(url)
    if parsed.dialect == "sqlite":
        Path(parsed.path).parent.mkdir(parents=True, exist_ok=True)
        return
    conn = _server(parsed)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{parsed.name}` CHARACTER SET utf8mb4")
    finally:
        conn.close()


def drop_database(url: str) -> None:
    parsed = DatabaseUrl.parse(url)
    if parsed.dialect == "sqlite":
        Path(parsed.path).unlink(missing_ok=True)
        return
    conn = _server(parsed)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{parsed.name}`")
    finally:
        conn.close()
