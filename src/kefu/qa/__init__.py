"""kefu.qa."""
