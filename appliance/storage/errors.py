"""Storage errors services may catch, so they never import the database driver themselves."""

from __future__ import annotations

import sqlite3

# A UNIQUE, NOT NULL, CHECK or FOREIGN KEY constraint said no (e.g. the same photo twice for one owner).
ConstraintViolation = sqlite3.IntegrityError
Row = sqlite3.Row
