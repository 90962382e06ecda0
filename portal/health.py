"""Health checks for load balancers and orchestrators: /healthz (the process answers), /readyz (it can work)."""

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection

from portal.celery import app as celery_app

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 2


@never_cache
@require_safe
def healthz(request):
    """No dependency is touched: a restart cannot fix the database, so liveness must not depend on it."""
    return JsonResponse({"status": "ok"})


def _database_ready() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception as exc:
        logger.warning("Readiness: database unavailable (%s: %s)", exc.__class__.__name__, exc)
        return False


def _broker_ready() -> bool:
    if celery_app.conf.task_always_eager:  # local runs: no broker to reach
        return True
    try:
        with Connection(celery_app.conf.broker_url, connect_timeout=TIMEOUT_SECONDS,
                        transport_options={"socket_timeout": TIMEOUT_SECONDS,
                                           "socket_connect_timeout": TIMEOUT_SECONDS}) as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=TIMEOUT_SECONDS)
        return True
    except Exception as exc:
        logger.warning("Readiness: broker unavailable (%s: %s)", exc.__class__.__name__, exc)
        return False


@never_cache
@require_safe
def readyz(request):
    checks = {"database": _database_ready(), "broker": _broker_ready()}
    ready = all(checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable",
                         "checks": {name: "ok" if up else "unavailable" for name, up in checks.items()}},
                        status=200 if ready else 503)
