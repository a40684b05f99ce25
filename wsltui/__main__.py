from wsltui.cli import main

raise SystemExit(main())
