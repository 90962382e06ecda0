import os
import uuid

import pytest

from syncs.agent.db import DatabaseUrl, drop_database
from tests.agent.fake_server import FakeSynchronizer, serve
from tests.conftest import require_service

MARIADB = os.environ.get("AGENT_TEST_MARIADB", "mysql://root@127.0.0.1:3306")


def mariadb_reachable() -> bool:
    try:
        import pymysql
    except ImportError:  # PyMySQL is pinned in requirements/base.txt; without it there is no MariaDB to test
        return False
    url = DatabaseUrl.parse(MARIADB + "/test")
    try:
        pymysql.connect(host=url.host, port=url.port, user=url.user, password=url.password, connect_timeout=3).close()
    except pymysql.Error:
        return False
    return True


@pytest.fixture
def fake():
    fake = FakeSynchronizer()
    server = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["sqlite", "mariadb"])
def database_url(request, tmp_path):
    """A practice database URL on each backend (not yet generated); MariaDB's is dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'practice.db'}"
        return
    require_service("MariaDB", mariadb_reachable(), f"{MARIADB} (set AGENT_TEST_MARIADB)")
    url = f"{MARIADB}/chairside_agent_test_{uuid.uuid4().hex[:8]}"
    yield url
    drop_database(url)
