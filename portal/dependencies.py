"""What an unavailable dependency raises: the database or Redis down, frozen or refusing connections.

The API's exception handler lets these through and portal.outage answers them with 503 and Retry-After, so clients
and the reference agent retry instead of counting a failure."""

from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

OUTAGE_ERRORS = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)
