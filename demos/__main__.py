"""``python -m demos``: run every demo (see :mod:`demos.run_all`)."""

from demos.run_all import main

if __name__ == "__main__":
    raise SystemExit(main())
