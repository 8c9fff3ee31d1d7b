"""devicesrp: remembered-device SRP-6a authentication, byte-compatible with Amazon Cognito."""

__version__ = "0.1.0"
