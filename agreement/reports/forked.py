"""Independent report sections computed side by side in forked processes, so that one report uses more
than one core.

Every process (the caller and its children) takes the next section from one queue: a pipe filled with one
byte per section before the fork; a one-byte read from a pipe is atomic, so each section is taken exactly
once, by whichever process is free first. Fork shares the loaded study with the children copy-on-write,
without pickling it. A child computes only: it never uses the database connection it inherited, sends its
results back pickled and leaves with ``os._exit`` (no cleanup of the parent's state). A child that fails or
dies leaves the sections it took to the caller, which computes them itself: an error is then raised in the
caller with its own type and traceback, as in a sequential build.
"""
from __future__ import annotations

import os
import pickle
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import Any

MAX_SECTIONS = 255  # one byte each in the queue


def _taken(queue: int) -> Iterator[int]:
    while byte := os.read(queue, 1):
        yield byte[0]


def _child(tasks: Sequence[Callable[[], Any]], queue: int, out: int) -> None:
    code = 1
    try:
        results = {i: tasks[i]() for i in _taken(queue)}
        with os.fdopen(out, "wb") as fh:
            pickle.dump(results, fh, protocol=pickle.HIGHEST_PROTOCOL)
        code = 0
    finally:
        os._exit(code)


def run_forked(tasks: Sequence[Callable[[], Any]], processes: int) -> list[Any]:
    """``[task() for task in tasks]``, computed by up to `processes` processes (this one included).

    Sequential where `processes` is 1, there is one task, or the platform cannot fork. Tasks must not write
    to the database or to shared state the caller reads afterwards: what a task returns is all that comes back.
    """
    n = len(tasks)
    if processes <= 1 or n <= 1 or not hasattr(os, "fork"):
        return [task() for task in tasks]
    if n > MAX_SECTIONS:
        raise ValueError(f"at most {MAX_SECTIONS} sections run forked")
    queue, fill = os.pipe()
    os.write(fill, bytes(range(n)))  # fewer bytes than a pipe holds: never blocks
    os.close(fill)
    children: list[tuple[int, int]] = []
    results: dict[int, Any] = {}
    try:
        for _ in range(min(processes, n) - 1):
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read)
                _child(tasks, queue, write)
            os.close(write)
            children.append((pid, read))
        for i in _taken(queue):
            results[i] = tasks[i]()
        while children:
            pid, read = children.pop()
            with os.fdopen(read, "rb") as fh:
                sent = fh.read()
            _, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) == 0 and sent:
                results.update(pickle.loads(sent))
    finally:
        os.close(queue)
        for pid, read in children:  # only when this process failed: stop the others
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read)
    # Sections a failed child took: computed here (raising here, if they raise).
    return [results[i] if i in results else tasks[i]() for i in range(n)]
