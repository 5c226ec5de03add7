"""``python -m golive``: the same entry point as the ``golive`` script."""

from golive.cli.app import main

main()
