"""Writing many rows' fields at once, and matching a column against many values.

Django's bulk_update builds a CASE WHEN expression per row and field, which costs more
Python time than the database spends on the update: on the execution path that was most
of a worker's CPU. On PostgreSQL the rows go as one UPDATE … FROM unnest(arrays) instead:
one array per column, so the statement's text is the same for any number of rows and
psycopg parses it once (a VALUES list with a placeholder per value was parsed anew for
every batch, a tenth of the worker). `id__any=[…]` does the same for `id__in=[…]`.
"""

from collections.abc import Sequence

from django.db import connection, models
from django.db.models.lookups import In

ROWS_PER_STATEMENT = 1000


class Any(In):
    """`field__any=values`: `field IN values`, sent on PostgreSQL as `field = ANY(%s)` with
    the values as one array parameter."""

    lookup_name = "any"

    def as_postgresql(self, compiler, connection) -> tuple[str, list]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(value, connection) for value in self.rhs]
        return f"{lhs} = ANY(%s::{field.db_type(connection)}[])", [*lhs_params, values]


# Foreign keys have lookups of their own (related lookups): registered on both.
models.Field.register_lookup(Any)
models.ForeignObject.register_lookup(Any)


def update_rows(objects: Sequence[models.Model], fields: list[str]) -> None:
    """Save `fields` of each object (all of one model), as bulk_update does."""
    if not objects:
        return
    model = type(objects[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objects, fields)
        return
    for start in range(0, len(objects), ROWS_PER_STATEMENT):
        update_chunk(model, objects[start : start + ROWS_PER_STATEMENT], fields)


def update_chunk(
    model: type[models.Model], objects: Sequence[models.Model], fields: list[str]
) -> None:
    columns = [model._meta.get_field(name) for name in fields]
    pk = model._meta.pk
    quote = connection.ops.quote_name
    names = [quote(field.column) for field in [pk, *columns]]
    # Each value typed by its column, as the ORM would send it for that field.
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in [pk, *columns])
    params = [[pk.get_db_prep_value(obj.pk, connection) for obj in objects]]
    params += [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in objects]
        for field in columns
    ]
    assignments = ", ".join(f"{name} = v.{name}" for name in names[1:])
    table = quote(model._meta.db_table)
    sql = (
        f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({', '.join(names)}) "
        f"WHERE {table}.{names[0]} = v.{names[0]}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
