"""Reading nbgrader's marked regions out of a notebook cell's source, for the notebook and grading tests."""


def between(source: str, begin: str, end: str) -> list[str]:
    """Lines strictly between ``### begin`` and ``### end`` markers (e.g. "BEGIN SOLUTION", "END SOLUTION")."""
    out, inside = [], False
    for line in source.splitlines():
        if line.strip() == f"### {begin}":
            inside = True
        elif line.strip() == f"### {end}":
            inside = False
        elif inside:
            out.append(line)
    return out


def meaningful(lines) -> list[str]:
    """Code lines worth searching for, stripped: not blank, not a comment, not trivially short."""
    return [ln.strip() for ln in lines if len(ln.strip()) >= 8 and not ln.strip().startswith("#")]
