"""python -m solver solve|check|generate|bench (see docs/solver-format.md)."""

from __future__ import annotations

import argparse
import json
import sys

from .instance import InstanceError, load_instance, read_plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m solver")
    sub = parser.add_subparsers(dest="command", required=True)
    solve = sub.add_parser("solve", help="write a plan for an instance")
    solve.add_argument("instance")
    solve.add_argument("--time-limit", type=float, default=10.0)
    solve.add_argument("--greedy", action="store_true", help="the greedy baseline only")
    solve.add_argument("--workers", type=int, default=2)
    check = sub.add_parser("check", help="exit 0 iff every hard rule holds")
    check.add_argument("instance")
    check.add_argument("plan")
    generate = sub.add_parser("generate", help="a realistic instance")
    generate.add_argument("--consultants", type=int, default=10)
    generate.add_argument("--weeks", type=int, default=4)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--jobs", type=int)
    generate.add_argument("--cascade", action="store_true", help="busier, chains of moves needed (see generate.py)")
    for name, limit, text in (
        ("bench", 10.0, "the solver on generated instances, against best-known values"),
        ("best-known", 120.0, "recompute solver/best_known.json by long runs"),
    ):
        bench = sub.add_parser(name, help=text)
        bench.add_argument("--seeds", type=int, default=5)
        bench.add_argument("--sizes", default="10,30,80")
        bench.add_argument("--cascades", type=int, default=5, help="seeds of the cascade family")
        bench.add_argument("--no-large", action="store_true", help="leave out 200 consultants x 8 weeks")
        bench.add_argument("--time-limit", type=float, default=limit)
        if name == "best-known":
            bench.add_argument("--only", help="only the instances whose key contains this")
            bench.add_argument("--file", help="where to keep them (default solver/best_known.json)")
    args = parser.parse_args(argv)
    try:
        if args.command == "solve":
            from .greedy import solve_greedy
            from .model import solve as solve_cp

            instance = load_instance(args.instance)
            plan = solve_greedy(instance) if args.greedy else solve_cp(instance, args.time_limit, args.workers)
            json.dump(plan.to_json(), sys.stdout, indent=1)
            print()
            return 0
        if args.command == "check":
            from .check import violations

            instance = load_instance(args.instance)
            with open(args.plan, encoding="utf-8") as handle:
                plan = read_plan(json.load(handle))
            problems = violations(instance, plan)
            for problem in problems:
                print(problem)
            print("ok" if not problems else f"{len(problems)} broken rules", file=sys.stderr)
            return 0 if not problems else 1
        if args.command == "generate":
            from .generate import generate as make

            raw = make(args.consultants, args.weeks, args.seed, jobs=args.jobs, cascade=args.cascade)
            json.dump(raw, sys.stdout, indent=1)
            print()
            return 0
        from .bench import best_known, run

        sizes = [int(s) for s in args.sizes.split(",") if s]
        if args.command == "bench":
            run(sizes, args.seeds, args.time_limit, args.cascades, not args.no_large)
        else:
            from pathlib import Path

            from .bench import BEST_KNOWN

            best_known(
                sizes,
                args.seeds,
                args.time_limit,
                args.cascades,
                not args.no_large,
                args.only,
                Path(args.file) if args.file else BEST_KNOWN,
            )
        return 0
    except (InstanceError, OSError, json.JSONDecodeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
