"""bench/storage.py measures real rows in PostgreSQL (how big, not how fast)."""

import pytest

from bench import storage

# VACUUM cannot run inside the transaction a plain database test is wrapped in.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_setting_keeps_its_body_and_a_large_one_goes_to_toast():
    nothing, _ = storage.measure(0, rows=20)
    eight_kib, as_written = storage.measure(8, rows=20)

    assert (nothing.body, eight_kib.body) == (0, 8192)
    assert nothing.toast == 0
    # Compressed, but still kilobytes a row.
    assert 2000 < eight_kib.toast < 8192
    assert eight_kib.total > nothing.total > nothing.row
    assert as_written.body == 8192


def test_the_table_gives_a_day_and_30_days_of_1000_every_minute_jobs():
    sizes = storage.Sizes(
        body=0, row=1000, headers=500, request=250, heap=1200, toast=0, indexes=200
    )

    row = storage.table({0: (sizes, sizes)}).splitlines()[2]

    # 1,400 B for each of 1,440,000 runs a day, and 30 of those days.
    assert row.endswith("| **1,400 B** | 1,400 B | 1.88 GiB | 56.33 GiB |")
