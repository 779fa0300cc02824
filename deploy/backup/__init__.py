"""Backup and recovery of every store (docs/operations.md): ``python -m deploy.backup DEST``
takes the daily backup; ``python -m deploy.backup.drill`` is ``make dr-drill``."""
