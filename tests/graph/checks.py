"""The check list the graph CLI tests share: every failed check is printed and kept, so one run
reports all of them, and `finish()` turns them into the exit status (0 only when none failed).
The tests import it from their own directory (python puts a script's directory on sys.path).
"""
FAILURES = []


def check(condition, message):
    if not condition:
        FAILURES.append(message)
        print("FAIL:", message)


def finish():
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("all checks passed")
    return 0
