"""kefu.telephony.sip."""
