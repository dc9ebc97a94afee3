"""Conversations between a mentor and the mentee of a help request."""
