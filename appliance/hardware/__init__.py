"""Hardware awareness: board profiles, encoder detection, thermal and IO throttling (see README.md)."""
