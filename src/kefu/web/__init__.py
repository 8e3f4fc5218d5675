"""kefu.web."""
