"""`pytrainc.backup.BackupAndRestore`, kept as an import path.

The callback lives in `pytrainc.callbacks.backup_and_restore`, one module per
callback as in Keras 3; import it from `pytrainc.callbacks`.
"""

from pytrainc.callbacks.backup_and_restore import BackupAndRestore

__all__ = ["BackupAndRestore"]
