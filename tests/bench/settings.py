"""Settings for `make bench`: the real project settings, served like production (DEBUG off), plus a bare baseline URL."""

from portal.settings import *  # noqa: F401,F403
from portal.settings import LOGGING

ROOT_URLCONF = "tests.bench.urls"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
# Per-key budgets would turn throughput into 429s; the benchmark measures serving cost, not the limiter's verdict.
API_RATE_LIMITS = {"records": 10**9, "default": 10**9}
# Per-request logging would measure the console, not the API.
LOGGING = {**LOGGING, "root": {**LOGGING["root"], "level": "WARNING"}}
