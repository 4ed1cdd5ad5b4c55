"""The console's sections, one module each (see stratus.console.app.SECTIONS)."""
