"""The full-screen app (Textual). Everything that imports Textual lives in this package; the core
(probes, facts, simulation, views) never does. Start it with ``wsltui`` or ``make_app(source)``."""
