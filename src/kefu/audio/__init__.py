"""kefu.audio."""
