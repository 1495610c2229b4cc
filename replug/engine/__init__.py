"""The room engine: booth, wait list, plays, votes, grabs, chat and presence, with no I/O."""
