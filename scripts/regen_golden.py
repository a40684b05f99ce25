#!/usr/bin/env python3
"""Regenerate every golden file under tests/golden/ with the real tools (needs root).

Each ``tests/golden/gen_*.py`` builds real rulesets inside network namespaces it creates and
captures them with wsltui's own probes. Run: ``sudo .venv/bin/python scripts/regen_golden.py [AREA...]``.
"""

import importlib.util
import sys
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden"
sys.path[:0] = [str(GOLDEN.parent.parent), str(GOLDEN.parent)]

wanted = set(sys.argv[1:])
for gen in sorted(GOLDEN.glob("gen_*.py")):
    area = gen.stem[len("gen_") :]
    if wanted and area not in wanted:
        continue
    spec = importlib.util.spec_from_file_location(gen.stem, gen)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    print(f"== {area}", flush=True)
    module.generate(GOLDEN)
