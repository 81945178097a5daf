#!/usr/bin/env python
"""Train any Nethical model type with the classic flags (same program as ``nethical-train``).

    python training/train_any_model.py --model-type logistic --epochs 10 --num-samples 1000
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nethical.cli.classic import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
