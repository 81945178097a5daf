"""Data preparation that needs no Lightning: synthetic generators, splits, encoders, file loading."""
