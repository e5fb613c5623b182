"""Summarise a py-spy raw profile (collapsed stacks): where the sampled CPU time went.

.venv/bin/python -m bench.profile bench/out/capacity-cronsvc-worker0.profile.txt
"""

import sys
from collections import Counter


def summarise(path: str, top: int = 25) -> str:
    own, inclusive, total = Counter(), Counter(), 0
    with open(path) as file:
        for line in file:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            samples = int(count)
            total += samples
            frames = stack.split(";")
            own[frames[-1]] += samples
            for frame in set(frames[1:]):  # the first frame is the process/thread name
                inclusive[frame] += samples
    if not total:
        return f"{path}: no samples"
    lines = [f"{path}: {total:,} samples"]
    lines.append("  own time (the function itself):")
    lines += [f"    {n / total:6.1%}  {frame}" for frame, n in own.most_common(top)]
    lines.append("  inclusive time (the function and what it calls):")
    lines += [f"    {n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print(summarise(argument))
