"""Same as `python -m solver bench`: .venv/bin/python bench/solver.py [--seeds 5] [--time-limit 10] [--best-known 120]."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solver.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
