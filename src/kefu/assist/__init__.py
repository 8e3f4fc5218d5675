"""kefu.assist."""
