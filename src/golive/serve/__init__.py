"""``golive serve``: the team's page over the store, its login and actions, ``/metrics``."""
