"""kefu.services."""
