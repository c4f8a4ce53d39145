"""``python -m drillkit``: the same CLI as ``drill`` (which is also ldns's lookup tool)."""

from drillkit.cli import main

if __name__ == "__main__":
    main()
