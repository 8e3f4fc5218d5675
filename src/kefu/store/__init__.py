"""kefu.store."""
