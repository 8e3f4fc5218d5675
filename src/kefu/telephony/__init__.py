"""kefu.telephony."""
