"""Fakes at the transport layer: local servers that stand in for a platform and fail a test on
any call they do not expect."""
