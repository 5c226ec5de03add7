"""``python -m golive``: the same entry point as the ``golive`` script."""

from golive.cli.main import main

main()
