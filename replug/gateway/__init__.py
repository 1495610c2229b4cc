"""The socket gateway: the only code that writes to WebSockets."""
