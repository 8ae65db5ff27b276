"""The tray process: the pystray icon and menu, notifications, file watching, login start,
and the parent side of each Tk program (see docs/ARCHITECTURE.md)."""
