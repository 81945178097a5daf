"""Where the training rows came from, as a JSON-serializable dict for the model card and the audit log.

``{"source": "file" | "kaggle" | "synthetic", ...}``: real data records every file with its sha256 and size, the
reader options, the columns used, the label mapping, the rows read / dropped / used and the class balance; Kaggle data
adds the dataset slug and version; synthetic data records why real data was not used. No credential ever enters it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from nethical.fileio import sha256_file


def file_records(files: Sequence[Path], relative_to: Optional[Path] = None) -> List[Dict[str, Any]]:
    """``[{"path", "sha256", "bytes"}]``; paths relative to ``relative_to`` when given (e.g. a Kaggle cache dir)."""
    out = []
    for f in files:
        f = Path(f)
        shown = f.resolve()
        if relative_to is not None:
            try:
                shown = f.resolve().relative_to(Path(relative_to).resolve())
            except ValueError:
                pass
        out.append({"path": str(shown), "sha256": sha256_file(f), "bytes": f.stat().st_size})
    return out


def file_provenance(source: str, files: Sequence[Path], report: Dict[str, Any], reader: Dict[str, Any],
                    file_format: str, input_kind: str, relative_to: Optional[Path] = None, **extra: Any) -> Dict[str, Any]:
    """The provenance of rows prepared from ``files`` (``report`` comes from :func:`nethical.data.prepare.prepare_table`)."""
    return {
        "source": source,
        **extra,
        "files": file_records(files, relative_to),
        "format": file_format,
        "reader": {k: v for k, v in reader.items() if k != "features"},
        "input_kind": input_kind,
        **report,
    }

