"""The Tk programs, each run as a child process (``python -m trayapp.tk.<name>``): the only
package that imports tkinter (see docs/ARCHITECTURE.md)."""
