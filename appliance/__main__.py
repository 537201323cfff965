"""`python -m appliance` is the `shoebox` command."""

from appliance.cli import main

raise SystemExit(main())
