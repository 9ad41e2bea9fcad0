"""Code bound read-only into the sandbox: the child runner and the wire codec (stdlib + numpy)."""
