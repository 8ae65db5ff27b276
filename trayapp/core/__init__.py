"""The applet's core: no GUI toolkit is imported anywhere below this package."""
