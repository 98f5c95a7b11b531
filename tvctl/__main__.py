from tvctl.cli import main

raise SystemExit(main())
