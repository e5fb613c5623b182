"""One project cannot slow down another in a firing loop: dead nameservers, hundreds of slow
jobs, dead hosts and forbidden ports cost only the jobs that have them.

Each test fires as a worker process's firing loop does: one Client (one connection pool),
many requests at once, one of them another project's, on time or not."""

import asyncio
import time

import pytest

from jobs.outbound import circuits, http
from tests.dns import Nameserver

OTHER_PROJECT, NOISY_PROJECT = 1, 2
pytestmark = pytest.mark.usefixtures("private_targets")


def request(url: str, tenant: int, **fields: object) -> http.Request:
    return http.Request(execution_id="1", method="GET", url=url, tenant=tenant, **fields)


async def fire(client: http.Client, noisy: list[http.Request], other: http.Request):
    """The noisy project's requests first, then the other project's; how long the other's
    took, and every outcome."""
    started = time.monotonic()
    tasks = [asyncio.create_task(client.send(r)) for r in noisy]
    await asyncio.sleep(0.2)  # they are all in flight (or waiting) before the other comes
    other_started = time.monotonic()
    outcome = await client.send(other)
    took = time.monotonic() - other_started
    outcomes = await asyncio.gather(*tasks)
    return took, outcome, outcomes, time.monotonic() - started


def test_sixty_jobs_on_a_dead_nameserver_do_not_delay_another_projects_lookup(target):
    async def scenario() -> tuple:
        with Nameserver() as nameserver:
            nameserver.answer("good.test", "127.0.0.1")
            async with http.Client(nameservers=[nameserver.address]) as client:
                noisy = [
                    request(f"http://dead-{n}.test:{target.port}/ok", NOISY_PROJECT, timeout=10)
                    for n in range(60)
                ]
                other = request(f"http://good.test:{target.port}/ok", OTHER_PROJECT)
                return await fire(client, noisy, other)

    took, outcome, outcomes, _ = asyncio.run(scenario())

    assert outcome.succeeded, outcome.error
    assert took < 1, took
    assert {o.failure_reason for o in outcomes} <= {"dns", "timeout"}


def test_five_hundred_slow_jobs_of_one_project_do_not_delay_another_projects_job(target):
    async def scenario() -> tuple:
        async with http.Client(in_flight_per_tenant=100) as client:
            noisy = [request(target.url("/slow/2"), NOISY_PROJECT) for _ in range(500)]
            return await fire(client, noisy, request(target.url("/ok"), OTHER_PROJECT))

    took, outcome, outcomes, _ = asyncio.run(scenario())

    assert outcome.succeeded
    assert took < 1, took
    # The noisy project had 100 in flight at a time: five rounds of two seconds.
    assert all(o.succeeded for o in outcomes)
    assert len(target.requests) == 501


def test_a_projects_request_past_its_timeout_in_the_queue_was_never_sent(target):
    async def scenario() -> list[http.Outcome]:
        async with http.Client(in_flight_per_tenant=1) as client:
            # The first holds the project's one place a second longer than the second waits.
            waiting = [
                request(target.url("/slow/3"), NOISY_PROJECT, timeout=timeout) for timeout in (2, 1)
            ]
            return await asyncio.gather(*(client.send(r) for r in waiting))

    first, second = asyncio.run(scenario())

    assert first.error == "Sent, but no complete response within 2 s."
    assert second.error == (
        "Not sent: its project had as many requests in flight as one project may for all of 1 s."
    )


def test_a_dead_hosts_circuit_opens_fails_fast_and_closes_after_a_good_probe(target):
    # The host stops answering (/hang), then answers again (/ok): one host, one circuit.
    hanging, answering = target.url("/hang"), target.url("/ok")
    host = f"127.0.0.1:{target.port}"
    clock = [1000.0]

    async def send(client: http.Client, url: str) -> http.Outcome:
        return await client.send(request(url, NOISY_PROJECT, timeout=0.5))

    async def scenario() -> tuple:
        async with http.Client(circuit_threshold=3) as client:
            client.breakers.clock = lambda: clock[0]
            outcomes = [await send(client, hanging) for _ in range(3)]
            outcomes += [await send(client, answering) for _ in range(2)]  # open: not tried
            clock[0] += circuits.FIRST_COOL_OFF + 1
            outcomes.append(await send(client, hanging))  # the probe fails: open again
            outcomes.append(await send(client, answering))
            open_during = client.breakers.open_hosts()
            clock[0] += 2 * circuits.FIRST_COOL_OFF + 1  # the cool-off doubled
            outcomes += [await send(client, answering) for _ in range(2)]  # a good probe
            return outcomes, open_during, client.breakers.open_hosts()

    outcomes, open_during, open_after = asyncio.run(scenario())

    reasons = [o.failure_reason for o in outcomes]
    assert reasons == ["timeout"] * 3 + ["circuit_open"] * 2 + ["timeout", "circuit_open", "", ""]
    assert outcomes[3].error.startswith(f"Not sent: {host} failed to connect or answer 3 times")
    assert open_during == [host]
    assert open_after == []
    assert all(o.duration_ms < 50 for o in outcomes[3:5])  # they fail at once
    assert len([a for a in target.requests if a.path == "/ok"]) == 2  # only after it closed


def test_a_port_outside_the_allowed_ones_is_refused_before_connecting(target, settings):
    settings.ALLOWED_TARGET_PORTS = "80,443"

    async def scenario() -> http.Outcome:
        async with http.Client() as client:
            return await client.send(request(target.url("/ok"), OTHER_PROJECT))

    outcome = asyncio.run(scenario())

    assert outcome.failure_reason == "blocked"
    assert outcome.error == f"Refused to connect to port {target.port}; jobs may call ports 80,443."
    assert target.connections == 0
