from gradlab.cli import main

raise SystemExit(main())
