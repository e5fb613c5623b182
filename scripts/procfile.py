"""`make run`'s process manager: `honcho start`, with time for the processes to stop.

On Ctrl-C, or when one process exits, honcho sends SIGTERM to every process and SIGKILL
to those still running 5 s later. An executions worker stops gracefully in longer than
that: it finishes the batches it started, whose requests may wait up to the dispatch
horizon for their second and up to their timeout for the answer, and records them
(jobs/engine/shutdown.py). Here honcho gives them STOP_GRACE_SECONDS, as docker-compose's
stop_grace_period does.
"""

import sys

from honcho import command, manager

# The dispatch horizon (15 s), the longest timeout (30 s) and the results' write retries
# (45 s), with a margin: the same as docker-compose.yml's stop_grace_period.
STOP_GRACE_SECONDS = 120

if __name__ == "__main__":
    manager.KILL_WAIT = STOP_GRACE_SECONDS
    sys.exit(command.main())
