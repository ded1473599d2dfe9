from mlflows.cli import main

raise SystemExit(main())
