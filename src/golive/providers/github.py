"""Placeholder: the GitHub REST client (replaced by the GitHub work)."""


class GitHub:
    """The GitHub REST client."""
