"""Say clearly which service the tests need is unreachable, and how to start it."""

import os
import sys

import psycopg
import redis

PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
REDIS_START = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
)


def postgres_problem(url: str) -> str | None:
    # Connect to the server's maintenance database: the test database may not exist yet.
    server_url = url.rsplit("/", 1)[0] + "/postgres"
    try:
        psycopg.connect(server_url, connect_timeout=3).close()
    except psycopg.Error as error:
        return f"PostgreSQL is not reachable at {server_url} ({error}).\n  Start it: {PG_START}"
    return None


def redis_problem(url: str) -> str | None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        return f"Redis is not reachable at {url} ({error}).\n  Start it: {REDIS_START}"
    return None


def main() -> int:
    problems = [
        problem
        for problem in (
            postgres_problem(os.environ["DATABASE_URL"]),
            redis_problem(os.environ["CELERY_BROKER_URL"]),
        )
        if problem
    ]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
