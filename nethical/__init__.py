"""Nethical Trainer domain core.

Everything under ``nethical/`` is plain Python (numpy, hashlib, sklearn-free where possible) and never imports
Lightning at module level: verifying an audit log, scanning a text or rebuilding a drift report needs no trainer.
"""

__version__ = "0.1.0"
