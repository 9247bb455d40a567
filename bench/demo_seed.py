"""How long demo seeding takes (not a test; prints figures). Demo data are seeded in many tests
and on every `./dev demo`, so the thematic demo campaign must stay cheap.

    .venv/bin/python bench/demo_seed.py [--runs 3]

Times, on a fresh SQLite database each run: seed_demo_responses (what tests call; unchanged by
the campaign), seed_campaign_demo (the closed thematic campaign), the whole
`flask seed-demo-responses` command, and the thematic report data of the demo campaign.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def run_once(folder: Path) -> dict[str, float]:
    from flask_migrate import upgrade
    from sqlalchemy import select

    from survey import create_app
    from survey.demo import seed_demo
    from survey.extensions import db
    from survey.indices.report_data import thematic_report_data
    from survey.models import Survey
    from survey.services.demo_campaign import DEMO_CODE, seed_campaign_demo
    from survey.services.demo_responses import seed_demo_responses

    out: dict[str, float] = {}
    for name in ("function", "command"):
        app = create_app({"TESTING": True, "SECRET_KEY": "b" * 40,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / name}.sqlite3",
                          "QR_OUTPUT_DIR": str(folder / "qr"), "EVIDENCE_DIR": str(folder / "ev")})
        with app.app_context():
            upgrade()
            seed_demo()
            if name == "function":
                start = time.perf_counter()
                seed_demo_responses()
                out["seed_demo_responses"] = time.perf_counter() - start
                start = time.perf_counter()
                seed_campaign_demo()
                out["seed_campaign_demo"] = time.perf_counter() - start
                survey = db.session.scalar(select(Survey).where(Survey.code == DEMO_CODE))
                start = time.perf_counter()
                thematic_report_data(survey)
                out["thematic_report_data"] = time.perf_counter() - start
                continue
        start = time.perf_counter()
        result = app.test_cli_runner().invoke(args=["seed-demo-responses"])
        assert result.exit_code == 0, result.output
        out["flask seed-demo-responses"] = time.perf_counter() - start
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            runs.append(run_once(Path(folder)))
    for key in runs[0]:
        print(f"{key:32s} median {statistics.median(r[key] for r in runs):6.2f} s "
              f"(runs: {', '.join(f'{r[key]:.2f}' for r in runs)})")


if __name__ == "__main__":
    main()
