"""kefu (客服): an open-source contact-center platform with the service norms built in."""

__version__ = "0.1.0"
