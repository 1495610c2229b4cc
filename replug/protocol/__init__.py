"""The wire conventions of plug.dj's protocol: envelope, errors, text, ids, object shapes."""
