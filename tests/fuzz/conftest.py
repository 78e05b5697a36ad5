"""The fuzz tests' report: how many generated requests each target received."""

from fuzz_kit import STATS


def pytest_terminal_summary(terminalreporter):
    if STATS.statuses:
        terminalreporter.write_sep("-", f"fuzzing: {STATS.summary()}")
        for line in STATS.lines():
            terminalreporter.write_line(line)
