"""What the candidate libraries cost per call, for the choices recorded in docs/facts.md.

    .venv/bin/python bench/facts_libraries.py

cn2an (numerals), jionlp (money / location / time parsers, and its place table), cpca (place parsing;
optional: not a dependency, install it to include it). Times are per call, on one typical sentence.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SENTENCE = ("8月7日，兰山区2023年重大项目推进会召开。市委常委、区委书记王明出席会议并讲话，会上，21个重大项目集中签约，"
            "总投资138亿元，其中外资项目总投资3000万美元。")


def per_call(fn, *args, repeat: int = 20) -> float:
    fn(*args)
    t = time.perf_counter()
    for _ in range(repeat):
        fn(*args)
    return (time.perf_counter() - t) / repeat * 1000


def main() -> int:
    import cn2an

    print(f"cn2an.cn2an('三十', 'smart'): {per_call(cn2an.cn2an, '三十', 'smart', repeat=2000):.4f} ms")
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        import jionlp
    print(f"import jionlp: {(time.perf_counter() - t) * 1000:.0f} ms")
    print(f"jionlp.parse_money('3000万美元'): {per_call(jionlp.parse_money, '3000万美元'):.3f} ms")
    print(f"jionlp.parse_time('1月14日'): {per_call(jionlp.parse_time, '1月14日'):.3f} ms")
    print(f"jionlp.parse_location(sentence): {per_call(jionlp.parse_location, SENTENCE):.2f} ms")
    print(f"jionlp.recognize_location(sentence): {per_call(jionlp.recognize_location, SENTENCE, repeat=2):.0f} ms")
    if importlib.util.find_spec("cpca"):
        import cpca

        print(f"cpca.transform([sentence]): {per_call(cpca.transform, [SENTENCE]):.2f} ms")
    from pipelines.facts import extract_facts

    extract_facts(SENTENCE, "2023-08-08")
    ms = per_call(extract_facts, SENTENCE, "2023-08-08", repeat=200)
    print(f"pipelines.facts.extract_facts(sentence): {ms:.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
