"""How people use connevo: the ``connevo`` command line (and, later, the HTTP API)."""
