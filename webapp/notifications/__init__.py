"""Notification rows, the header badge, and (later) the live push."""
