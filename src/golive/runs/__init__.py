"""Runs as the commands see them: start or resume, drive, status, incidents."""
