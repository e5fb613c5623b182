"""Keep one of `make run`'s processes going: `supervise.py NAME -- COMMAND...`.

honcho stops every process as soon as one exits, so a worker that dies would take web,
beat and the other worker down with it. Under this wrapper the process comes back by
itself: the console says which one died and how, and it starts again after a pause that
grows (up to 30 s) while it keeps dying at once. SIGTERM or SIGINT (Ctrl-C, or honcho
stopping) stops it for good.
"""

import signal
import subprocess
import sys
import time

LONGEST_PAUSE = 30.0
# A run this long was not a crash at start: the pause starts small again.
STEADY_SECONDS = 60.0


def main(name: str, command: list[str]) -> int:
    stopping = False
    child: subprocess.Popen | None = None

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    pause = 1.0
    while True:
        started = time.monotonic()
        child = subprocess.Popen(command)
        code = child.wait()
        if stopping:
            return code
        if time.monotonic() - started > STEADY_SECONDS:
            pause = 1.0
        print(f"{name} {how_it_ended(code)}; starting it again in {pause:g} s", flush=True)
        deadline = time.monotonic() + pause
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
        if stopping:
            return code
        pause = min(pause * 2, LONGEST_PAUSE)


def how_it_ended(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code} (its last lines are above)"


if __name__ == "__main__":
    name, separator, *command = sys.argv[1:]
    if separator != "--" or not command:
        sys.exit("usage: supervise.py NAME -- COMMAND...")
    sys.exit(main(name, command))
