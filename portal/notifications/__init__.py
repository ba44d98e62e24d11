"""Notifications: the bell, the list, email preferences, and following challenges."""
