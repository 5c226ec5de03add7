"""Notifications: release events told to Slack and JSON webhooks, through a durable outbox."""
