// dashboard: see issue 2
