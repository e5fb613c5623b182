"""Writing many rows at once, and matching a column against many values.

Django's bulk_update builds a CASE WHEN expression per row and field, and both it and
bulk_create spell every value into the statement's text: that cost more Python time than
the database spends on the rows, on the execution path most of a worker's CPU. On
PostgreSQL the rows go as one UPDATE … FROM unnest(arrays), or INSERT … SELECT FROM
unnest(arrays), instead: one binary array parameter per column, so the statement's text is
the same for any number of rows. `id__any=[…]` does the same for `id__in=[…]`.
"""

from collections.abc import Sequence

import psycopg
from django.core.exceptions import EmptyResultSet
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
        if not values:  # matches nothing: no query, as `__in=[]` sends none
            raise EmptyResultSet
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
    pk = model._meta.pk
    columns = [pk, *(model._meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    table, names = quote(model._meta.db_table), [quote(field.column) for field in columns]
    assignments = ", ".join(f"{name} = v.{name}" for name in names[1:])
    for chunk in chunks(objects):
        execute(
            f"UPDATE {table} SET {assignments} FROM {unnest(columns)} AS v({', '.join(names)}) "
            f"WHERE {table}.{names[0]} = v.{names[0]}",
            [saved_values(field, chunk) for field in columns],
        )


def insert_rows(objects: Sequence[models.Model]) -> None:
    """Insert the objects (all of one model), skipping any that would break a unique
    constraint: bulk_create(objects, ignore_conflicts=True)."""
    if not objects:
        return
    model = type(objects[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objects, ignore_conflicts=True)
        return
    columns = [field for field in model._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in columns)
    table = quote(model._meta.db_table)
    for chunk in chunks(objects):
        execute(
            f"INSERT INTO {table} ({names}) SELECT * FROM {unnest(columns)} ON CONFLICT DO NOTHING",
            [saved_values(field, chunk, add=True) for field in columns],
        )


def chunks(objects: Sequence[models.Model]) -> list[Sequence[models.Model]]:
    return [
        objects[start : start + ROWS_PER_STATEMENT]
        for start in range(0, len(objects), ROWS_PER_STATEMENT)
    ]


def unnest(columns: list[models.Field]) -> str:
    # One array per column, each typed by its column.
    return f"unnest({', '.join(f'%b::{field.db_type(connection)}[]' for field in columns)})"


# Fields whose values psycopg sends as they are: for these the ORM's preparation of each
# value (a third of the cost of a results write) changes nothing. Exactly these classes: a
# subclass may prepare its values (encrypt them, say).
AS_THEY_ARE = {
    models.AutoField,
    models.BigAutoField,
    models.BigIntegerField,
    models.BooleanField,
    models.CharField,
    models.DateTimeField,
    models.ForeignKey,
    models.IntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.SmallIntegerField,
    models.TextField,
}


def saved_values(field: models.Field, objects: Sequence[models.Model], add: bool = False) -> list:
    """The field's value of each object, as the ORM would send it when saving."""
    if add:  # defaults such as auto_now_add are filled in as on an insert
        values = [field.pre_save(obj, True) for obj in objects]
    else:
        values = [getattr(obj, field.attname) for obj in objects]
    if type(field) in AS_THEY_ARE:
        return values
    return [field.get_db_prep_save(value, connection) for value in values]


def execute(sql: str, params: list[list]) -> None:
    """With a cursor that binds on the server, so the arrays go as binary parameters
    (see above). Wrapped as Django wraps its own cursors, so the statement is logged and
    counted as any other."""
    connection.ensure_connection()
    with connection._prepare_cursor(psycopg.Cursor(connection.connection)) as cursor:
        cursor.execute(sql, params)
