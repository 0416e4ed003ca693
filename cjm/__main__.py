"""``python -m cjm``: the same as the ``cjm`` command."""

from cjm.cli import main

if __name__ == "__main__":
    main()
