"""The agreement benchmark's --quick mode runs end to end (sizes only; timings are never asserted)."""

import json
import runpy
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "agreement.py"


def test_benchmark_quick_mode_writes_its_figures(tmp_path):
    main = runpy.run_path(str(BENCHMARK), run_name="benchmark")["main"]
    output = tmp_path / "agreement.json"
    result = main(["--quick", "--output", str(output)])
    written = json.loads(output.read_text())
    assert written["quick"] is True and written["data"]["pairs"] == result["data"]["pairs"] == 28
    assert written["naive_loop"]["max_abs_difference_vs_ours"] < 1e-9
    assert set(written["goals"]) == {"full_report_le_10s", "full_report_ge_10x_faster_than_naive_loop",
                                     "pairwise_step_ge_10x_faster_than_naive_loop"}
    assert written["headline"]["reasoning"]["alpha"].keys() == {"nominal", "ordinal", "interval"}
