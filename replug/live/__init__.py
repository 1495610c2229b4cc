"""Live rooms: each room's engine behind a lock, its timer, and who is where."""
