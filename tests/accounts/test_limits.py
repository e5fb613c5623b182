"""accounts/limits.py: the one rate-limit mechanism (API, Run now, test runs), per member,
in the shared cache."""

from concurrent.futures import ThreadPoolExecutor

from accounts import limits


def test_parallel_uses_never_pass_the_limit():
    rate = limits.Rate(5, 60)

    with ThreadPoolExecutor(max_workers=20) as pool:
        futures = [pool.submit(limits.acquire, "test", 1, rate) for _ in range(20)]
        waits = [future.result() for future in futures]

    assert waits.count(None) == 5
    assert all(0 < wait <= 60 for wait in waits if wait is not None)


def test_each_member_and_scope_has_its_own_allowance():
    rate = limits.Rate(1, 60)

    assert limits.acquire("run_now", 1, rate) is None
    assert limits.acquire("run_now", 1, rate) is not None
    assert limits.acquire("run_now", 2, rate) is None
    assert limits.acquire("test_run", 1, rate) is None


def test_rates_read_as_drf_writes_them():
    assert limits.Rate.parse("120/minute") == limits.Rate(120, 60)
    assert limits.Rate.parse("5/s") == limits.Rate(5, 1)
    assert limits.Rate.parse("1000/day") == limits.Rate(1000, 86400)
