"""kefu.web.routers."""
