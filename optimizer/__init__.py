"""equalize: allocate an equalization budget among regions with linear programming."""

__version__ = "0.1.0"
