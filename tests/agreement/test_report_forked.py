"""Sections computed side by side in forked processes: each once, in order, failures left to the caller."""
import os

import pytest

from agreement.reports.forked import MAX_SECTIONS, run_forked


def _tasks(n):
    return [lambda i=i: (i * i, os.getpid()) for i in range(n)]


@pytest.mark.parametrize("processes", [1, 2, 3, 8])
def test_results_come_back_in_task_order_whatever_the_processes(processes):
    results = run_forked(_tasks(20), processes)
    assert [value for value, _ in results] == [i * i for i in range(20)]


def test_children_compute_and_every_task_runs_once(tmp_path):
    log = tmp_path / "taken"

    def task(i):
        with open(log, "a") as fh:  # O_APPEND: one line per call, whichever process
            fh.write(f"{i} {os.getpid()}\n")
        return i

    assert run_forked([lambda i=i: task(i) for i in range(60)], 3) == list(range(60))
    lines = [line.split() for line in log.read_text().splitlines()]
    assert sorted(int(i) for i, _ in lines) == list(range(60))  # none twice, none lost


def test_a_task_that_fails_in_a_child_is_computed_by_the_caller():
    parent = os.getpid()

    def flaky(i):
        if os.getpid() != parent:
            raise RuntimeError("only in a child")
        return i

    assert run_forked([lambda i=i: flaky(i) for i in range(10)], 2) == list(range(10))


def test_a_child_that_dies_leaves_its_tasks_to_the_caller():
    parent = os.getpid()

    def dying(i):
        if os.getpid() != parent:
            os._exit(3)
        return -i

    assert run_forked([lambda i=i: dying(i) for i in range(10)], 3) == [-i for i in range(10)]


def test_an_error_is_raised_in_the_caller_with_its_own_type():
    def broken():
        raise KeyError("missing level")

    with pytest.raises(KeyError, match="missing level"):
        run_forked([lambda: 1, broken, lambda: 2], 2)


def test_results_that_cannot_be_pickled_are_computed_by_the_caller():
    parent = os.getpid()
    results = run_forked([lambda: (lambda: None) if os.getpid() != parent else "here"] * 4, 2)
    assert results == ["here"] * 4


def test_too_many_sections_are_refused():
    with pytest.raises(ValueError, match="at most"):
        run_forked([int] * (MAX_SECTIONS + 1), 2)
