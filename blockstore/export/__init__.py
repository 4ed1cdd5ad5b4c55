"""Target drivers that export volumes: the interface (``base``) and LIO (``lio``)."""
