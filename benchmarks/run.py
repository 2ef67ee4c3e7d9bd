"""The benchmark suite: same as ``python -m descend bench`` (see descend/bench.py)."""

import sys

from descend import bench

if __name__ == "__main__":
    sys.exit(bench.main())
