"""An offline stand-in for Intuit's QuickBooks Online sandbox (OAuth 2.0 + Accounting API v3)."""

from .limits import Limits
from .server import SandboxServer

__all__ = ["Limits", "SandboxServer"]
