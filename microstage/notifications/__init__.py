"""Notifications: the messages that matter, by email and/or SMS per each person's preference.

Callers use `microstage.notifications.services.notify(...)`; every message is recorded (model
`Notification`) with its delivery status.
"""
