"""Passwords, SIP digest secrets and masking of personal numbers."""
