"""Many new rows of one model at once, as fast as the database takes them.

On PostgreSQL: ids from the table's sequence, then one COPY. bulk_create's per-value SQL preparation and parameter
quoting were most of the time of a 50,000-row CSV import and of filling a sandbox's 4,000 sample records. Like
bulk_create, it sends no signals and does not call save(): callers refresh what save() would (board figures).
"""

from collections.abc import Iterable
from operator import attrgetter

from django.db import connection, connections, models


def bulk_insert(model, objects: list, unique_field: str = "") -> list:
    """Insert unsaved instances, set their primary keys and return them. Other databases take bulk_create (then
    `unique_field` finds the ids a backend does not return)."""
    if not objects:
        return objects
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects)
        if unique_field:
            _ensure_pks(objects, model, unique_field)
        return objects
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    db = connections[connection.alias]  # the connection itself: the proxy's lookups per value added up
    values = [_raw_value(field) or (lambda obj, field=field: field.get_db_prep_save(field.pre_save(obj, True), db))
              for field in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in [meta.pk.column, *(field.column for field in fields)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [meta.db_table, meta.pk.column, len(objects)])
        for obj, (pk,) in zip(objects, cursor.fetchall()):
            obj.pk = pk
        with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                copy.write_row([obj.pk, *[value(obj) for value in values]])
    for obj in objects:
        obj._state.adding, obj._state.db = False, connection.alias
    return objects


# Fields whose value goes to PostgreSQL as the instance holds it (Django's preparation returns it unchanged);
# exact types, so a subclass that prepares its value differently takes Django's way.
_AS_IS = {models.CharField, models.TextField, models.EmailField, models.SlugField, models.URLField,
          models.BooleanField, models.IntegerField, models.PositiveIntegerField, models.BigIntegerField,
          models.FloatField, models.ForeignKey}


def _raw_value(field):
    """A getter of the instance's own value when Django's preparation would return it as it is; else None."""
    if type(field) in _AS_IS or (type(field) is models.DateTimeField and not field.auto_now and not field.auto_now_add):
        return attrgetter(field.attname)
    return None


def _ensure_pks(objects: Iterable, model, unique_field: str) -> None:
    """bulk_create sets primary keys on PostgreSQL and SQLite; elsewhere, look them up by a unique field."""
    objects = list(objects)
    missing = {getattr(obj, unique_field): obj for obj in objects if obj.pk is None}
    if missing:
        for pk, value in model.objects.filter(**{f"{unique_field}__in": list(missing)}).values_list("pk", unique_field):
            missing[value].pk = pk
