"""Phrases of the project's rules and code that occur in synthetic-dev spam and on no real page.

    .venv/bin/python bench/corpus_phrases.py ../shared/corpus

A rule keyed to one corpus's wording misses the same structure elsewhere: this lists every run of 4–12
Chinese characters (or fullwidth punctuation) in pipelines/**/*.py and *.yml that appears in a gold
spam line of synthetic-dev and in no page (nor gold) of real-dev or unlabeled-gov, longest form only,
with the files it is in. What is left should be the common label of a structure, not a page's words.
"""
import json
import pathlib
import re
import sys

from charset_normalizer import from_bytes

root = pathlib.Path(__file__).resolve().parent.parent
corpus = pathlib.Path(sys.argv[1])
spam = []
for g in (corpus/'synthetic-dev/gold').glob('*.json'):
    spam += json.loads(g.read_text())['spam']
spam_text = '\n'.join(spam)
def page_texts(name):
    out = []
    for p in (corpus/name/'pages').iterdir():
        b = p.read_bytes()
        for enc in ('utf-8', 'gb18030', 'big5'):
            try:
                out.append(b.decode(enc))
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append(str(from_bytes(b).best()))
    return out
real = '\n'.join(page_texts('real-dev') + page_texts('unlabeled-gov'))
real_golds = []
for g in (corpus/'real-dev/gold').glob('*.json'):
    real_golds.append(json.dumps(json.loads(g.read_text()), ensure_ascii=False))
real += '\n'.join(real_golds)
cands = set()
for f in list(root.glob('pipelines/**/*.py')) + list(root.glob('pipelines/**/*.yml')):
    t = f.read_text(encoding='utf-8')
    for m in re.finditer(r'[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]{4,}', t):
        s = m.group()
        for n in range(4, min(len(s), 12) + 1):
            for i in range(len(s) - n + 1):
                cands.add((s[i:i+n], str(f.relative_to(root))))
hits = {}
for s, f in cands:
    if s in spam_text and s not in real:
        hits.setdefault(s, set()).add(f)
# keep maximal
keys = sorted(hits, key=len, reverse=True)
maximal = [k for k in keys if not any(k != o and k in o for o in keys)]
for k in sorted(maximal):
    print(k, sorted(hits[k]))
print(len(maximal), file=sys.stderr)
