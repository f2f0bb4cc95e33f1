"""`manage.py solve_vrptw`: Solomon instances in, one JSON object out, checked by the independent evaluator
(capacity, windows with service times, the depot's due date, every customer once, the DIMACS distance)."""

import io
import json
import pathlib

import pytest
from django.core.management import CommandError, call_command

from delivery.routing.solomon import SolomonFormatError, parse
from tests.delivery.routing.evaluator import solomon_check

REFERENCE = pathlib.Path(__file__).resolve().parent / "solomon"

HEADER = """{name}

VEHICLE
NUMBER     CAPACITY
  {vehicles}         {capacity}

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

"""


def instance(rows, vehicles=5, capacity=100, name="TINY") -> str:
    return HEADER.format(name=name, vehicles=vehicles, capacity=capacity) + "\n".join(
        "    ".join(str(value) for value in row) for row in rows
    )


def solve(text: str, tmp_path, seconds="0.5", workers="1") -> dict:
    path = tmp_path / "instance.txt"
    path.write_text(text)
    out = io.StringIO()
    call_command("solve_vrptw", str(path), "--seconds", seconds, "--workers", workers, stdout=out)
    return json.loads(out.getvalue())  # exactly one JSON object, nothing else


def first_customers(name: str, count: int) -> str:
    lines = (REFERENCE / f"{name}.txt").read_text().splitlines()
    kept, customers = [], 0
    for line in lines:
        fields = line.split()
        if len(fields) == 7 and fields[0].isdigit():
            if customers > count:
                continue
            customers += 1
        kept.append(line)
    return "\n".join(kept)


def test_distances_follow_the_dimacs_convention(tmp_path):
    # One customer at (1, 1): each way floor(10 * 1.414...) / 10 = 1.4, so 2.8 and not 2.83.
    answer = solve(instance([(0, 0, 0, 0, 0, 100, 0), (1, 1, 1, 5, 0, 100, 0)]), tmp_path)
    assert answer == {"vehicles": 1, "distance": 2.8, "routes": [[1]]}


def test_one_vehicle_serves_a_line_of_customers_in_order(tmp_path):
    rows = [(0, 0, 0, 0, 0, 1000, 0), (1, 3, 4, 10, 0, 1000, 10), (2, 6, 8, 10, 0, 1000, 10)]
    answer = solve(instance(rows), tmp_path)
    # 5 out, 5 between, 10 back: one route of 20, against 30 for two routes.
    assert answer["vehicles"] == 1 and answer["distance"] == 20.0
    assert answer["routes"] in ([[1, 2]], [[2, 1]])


def test_windows_force_the_order_and_capacity_forces_a_second_vehicle(tmp_path):
    rows = [
        (0, 0, 0, 0, 0, 1000, 0),
        (1, 6, 8, 60, 0, 12, 5),  # must come first: due at 12, 10 away
        (2, 3, 4, 60, 30, 40, 5),
    ]
    answer = solve(instance(rows, capacity=100), tmp_path)
    text = instance(rows, capacity=100)
    distance, problems = solomon_check(text, answer)
    assert problems == [] and answer["distance"] == distance
    assert answer["vehicles"] == 2  # 120 units over a capacity of 100


@pytest.mark.parametrize("name", ["C101", "R101", "RC101"])
def test_shared_instances_cut_to_25_customers_are_solved_feasibly(name, tmp_path):
    text = first_customers(name, 25)
    answer = solve(text, tmp_path, seconds="1")
    distance, problems = solomon_check(text, answer)
    assert problems == []
    assert answer["distance"] == distance
    assert answer["vehicles"] == len(answer["routes"])


def test_two_searches_side_by_side_give_a_feasible_answer(tmp_path):
    text = first_customers("RC101", 15)
    answer = solve(text, tmp_path, seconds="0.6", workers="2")
    distance, problems = solomon_check(text, answer)
    assert problems == [] and answer["distance"] == distance


def test_bad_files_and_arguments_are_refused(tmp_path):
    missing = tmp_path / "missing.txt"
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("solve_vrptw", str(missing), stdout=io.StringIO())
    bad = tmp_path / "bad.txt"
    bad.write_text("NOT AN INSTANCE\n")
    with pytest.raises(CommandError, match="VEHICLE and a CUSTOMER"):
        call_command("solve_vrptw", str(bad), stdout=io.StringIO())
    good = tmp_path / "good.txt"
    good.write_text(instance([(0, 0, 0, 0, 0, 100, 0), (1, 1, 1, 5, 0, 100, 0)]))
    for seconds in ("0", "-1", "nan", "soon"):
        with pytest.raises(CommandError, match="seconds"):
            call_command("solve_vrptw", str(good), "--seconds", seconds, stdout=io.StringIO())
    with pytest.raises(CommandError, match="workers"):
        call_command("solve_vrptw", str(good), "--workers", "0", stdout=io.StringIO())


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([(0, 0, 0, 0, 0, 100, 0), (1, 1, 1, 5, 50, 10, 0)], "due date before ready time"),
        ([(0, 0, 0, 0, 0, 100, 0), (1, 1, 1, 5, 0, 100)], "7 columns"),
        ([(0, 0, 0, 0, 0, 100, 0), (1, 1, 1, -5, 0, 100, 0)], "demand"),
        ([(0, 0, 0, 0, 0, 100, 0), (1, 1, 1, 5, 0, 100, 0), (1, 2, 2, 5, 0, 100, 0)], "repeat"),
    ],
)
def test_malformed_instances_say_what_is_wrong(rows, message):
    with pytest.raises(SolomonFormatError, match=message):
        parse(instance(rows))


def test_an_instance_that_cannot_be_served_says_so(tmp_path):
    # A customer farther than the horizon allows: no feasible solution.
    path = tmp_path / "impossible.txt"
    path.write_text(instance([(0, 0, 0, 0, 0, 10, 0), (1, 100, 100, 5, 0, 10, 0)]))
    with pytest.raises(CommandError, match="no feasible solution"):
        call_command("solve_vrptw", str(path), "--seconds", "0.2", "--workers", "1", stdout=io.StringIO())
