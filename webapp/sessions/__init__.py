"""Live sessions: the room, its billing timer, its events and presence."""
