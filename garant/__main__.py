from garant.cli import main

raise SystemExit(main())
