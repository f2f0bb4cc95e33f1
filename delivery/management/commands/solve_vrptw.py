"""Solve a Solomon-format VRPTW instance with the delivery planner's core and print one JSON object."""

import json
import math
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from delivery.routing.solomon import SolomonError, default_workers, parse, solve_solomon


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"--seconds: {text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise CommandError("--seconds must be more than 0")
    return value


class Command(BaseCommand):
    help = (
        "Solve a Solomon-format VRPTW instance (DIMACS convention: distance and travel time are "
        "floor(10 * euclidean) / 10) and print {vehicles, distance, routes} as one JSON object."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help='path of the instance, or "-" for standard input')
        parser.add_argument("--seconds", default="10", help="time limit of the search (default 10)")
        parser.add_argument("--seed", type=int, default=1, help="random seed of the search (default 1)")
        parser.add_argument(
            "--workers",
            type=int,
            default=default_workers(),
            help="independent searches run side by side, the best one kept (default: one per core, at most 2)",
        )

    def handle(self, *args, **options):
        name = options["file"]
        seconds = _seconds(options["seconds"])
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        try:
            text = self.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {name}: {error}") from error
        try:
            instance = parse(text)
            result = solve_solomon(
                instance, seconds=seconds, seed=options["seed"], workers=options["workers"]
            )
        except SolomonError as error:
            raise CommandError(f"{name}: {error}") from error
        self.stdout.write(json.dumps(result.as_json()))
