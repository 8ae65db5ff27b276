"""trayapp: a system-tray applet for AWS IAM roles protected by MFA."""

__version__ = "0.1.0"
