"""The profile's summary of py-spy's collapsed stacks."""

from benchmarks.profile import summarise

COLLAPSED = "\n".join(
    [
        "main (uvicorn/main.py:1);forward (torch/nn/modules/module.py:1) 3",
        "main (uvicorn/main.py:1);run (asyncio/base_events.py:1) 1",
        "main (x.py:1);odd frame with a line",
        " break (x.py:2) 0",
        "",
    ]
)


def test_summary_counts_samples():
    summary = summarise(COLLAPSED)

    assert "4 samples." in summary
    assert summary.startswith("| where | share of samples |")


def test_summary_skips_broken_records():
    summary = summarise("main (x.py:1);name with a\n" + COLLAPSED)

    assert "4 samples." in summary
