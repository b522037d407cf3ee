"""How long rendering, unlocking, signing and verifying a document take: ``python -m bench.signing``.

One run measures, each ``-n`` times (median and p95, ms):

- ``render first``: the first render in this process (parses the fonts);
- ``render warm``: later renders, fpdf2 parsing the fonts per document (``before``) vs
  the per-process font cache (``after``);
- ``unlock``: :func:`signing.keyfiles.load_signer` decrypting and checking the key (``before``)
  vs a hit in the unlocked-signer cache (``after``);
- ``sign (key unlocked)``: :func:`signing.sign.sign_pdf` on endesive's own path — CMS built
  per signature, stamp drawn whole, endesive's per-pixel image copy — (``before``) vs the
  prepared signer (``after``); ``sign first`` is the first signature of a freshly unlocked
  signer, which pays for :func:`signing.sign.prepare`;
- ``verify``: :func:`signing.verify.verify_pdf` of a document with two signatures.
- PAdES (after only): a signature with the officer's handwritten-signature picture; with
  an RFC 3161 timestamp from the TSA stand-in over HTTP on 127.0.0.1 (and the round trip
  alone); adding the validation data (DSS: certificates and CRL) to a two-signature
  document; verifying that B-LT document (levels included).

``before`` and ``after`` alternate call by call, so a noisy shared machine slows both alike;
compare the *ratios*. Results go to stdout and ``bench/signing-results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from endesive.pdf.PyPDF2_annotate.annotations.image import Image as EndesiveImage

from signing import appearance, fonts, images, keycache, keyfiles, ltv, pki, timestamps
from signing import sign as sign_module
from signing.render import render_pdf
from signing.sign import prepare, sign_pdf
from signing.verify import verify_pdf

RESULTS = Path(__file__).resolve().parent / "signing-results.json"
PASSPHRASE = "mật khẩu ký số"
AGENCY = "Sở Giao thông vận tải Thanh Hóa"
SPEC = {
    "title": "GIẤY PHÉP KINH DOANH VẬN TẢI BẰNG XE Ô TÔ",
    "subtitle": "Số giấy phép: {licence_no}",
    "paragraphs": ["Cấp cho: {company}.", "Địa chỉ trụ sở: Thôn 1, xã Xuân Dương, huyện "
                   "Thường Xuân, tỉnh Thanh Hóa."],
    "fields": [{"label": "Loại hình kinh doanh", "value": "Vận tải hành khách theo hợp đồng"},
               {"label": "Người đại diện", "value": "Nguyễn Thị Hồng"}],
    "footer": ["Nơi nhận:", "- Như trên;", "- Lưu: VT."],
}
CONTEXT = {"agency_name": AGENCY, "number": "123/GP-SGTVT", "issued_on": "2026-02-05",
           "licence_no": "38-0001", "company": "Công ty TNHH Vận tải Hồng Đức"}
SLOTS = [{"label": "Người thẩm định", "name": "Nguyễn Văn An", "title": "Chuyên viên"},
         {"label": "KT. Giám đốc", "name": "Lê Thị Bình", "title": "Phó Giám đốc"}]


def _ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _stats(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(samples), "median_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(p95, 2)}


@contextmanager
def _endesive_path():
    """Sign as before this work: no CMS template, whole stamp drawn, per-pixel copy."""
    fast_bytes = EndesiveImage.get_raw_image_bytes
    fast_stamp, fast_font = sign_module.stamp, appearance._font
    EndesiveImage.get_raw_image_bytes = staticmethod(sign_module._ORIGINAL_RAW_IMAGE_BYTES)
    appearance._font = appearance._font.__wrapped__

    def fresh_stamp(full_name, title, agency, width, height, picture=None):
        lines = appearance.appearance_lines(full_name, title, agency, appearance.SAMPLE_MOMENT)
        return appearance._stamp.__wrapped__(tuple(lines[:-1]), lines[-1], float(width),
                                             float(height), picture)

    sign_module.stamp = fresh_stamp
    try:
        yield
    finally:
        EndesiveImage.get_raw_image_bytes = staticmethod(fast_bytes)
        sign_module.stamp, appearance._font = fast_stamp, fast_font


def _pair(n: int, before: Callable[[], object], after: Callable[[], object]) -> dict:
    """Alternate ``before`` and ``after`` ``n`` times each; return both stats and the ratio."""
    b, a = [], []
    for _ in range(n):
        b.append(before())
        a.append(after())
    result = {"before": _stats(b), "after": _stats(a)}
    result["speedup_median"] = round(result["before"]["median_ms"]
                                     / max(result["after"]["median_ms"], 1e-6), 2)
    return result


def run(n: int) -> dict:
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        pki_dir = Path(tmp)
        pki.issue_certificate(pki_dir, "chuyenvien", full_name="Nguyễn Văn An",
                              title="Chuyên viên", agency=AGENCY, passphrase=PASSPHRASE)
        pki.issue_certificate(pki_dir, "lanhdao", full_name="Lê Thị Bình",
                              title="Phó Giám đốc", agency=AGENCY, passphrase=PASSPHRASE)
        out["render first"] = {"first_ms": round(_ms(
            lambda: render_pdf(SPEC, CONTEXT, signature_slots=SLOTS)), 2)}

        def render(cached: bool) -> float:
            fonts.cache_fonts = cached
            try:
                return _ms(lambda: render_pdf(SPEC, CONTEXT, signature_slots=SLOTS))
            finally:
                fonts.cache_fonts = True

        out["render warm"] = _pair(n, lambda: render(False), lambda: render(True))

        def unlock(cached: bool) -> float:
            saved = keycache.signer_cache.ttl
            keycache.signer_cache.ttl = saved if cached else 0
            try:
                return _ms(lambda: keyfiles.load_signer(pki_dir, "chuyenvien", PASSPHRASE))
            finally:
                keycache.signer_cache.ttl = saved

        keycache.signer_cache.clear()
        out["unlock"] = _pair(n, lambda: unlock(False), lambda: unlock(True))

        unsigned = render_pdf(SPEC, CONTEXT, signature_slots=SLOTS)
        keycache.signer_cache.clear()
        fresh = keyfiles.load_signer(pki_dir, "chuyenvien", PASSPHRASE)
        out["sign first (incl. prepare)"] = {"first_ms": round(_ms(
            lambda: sign_pdf(unsigned, fresh, slot=1)), 2)}
        slow = keyfiles.Signer(fresh.username, fresh.key, fresh.certificate, list(fresh.chain))
        slow.prepared = False  # endesive builds the CMS
        fast = prepare(keyfiles.load_signer(pki_dir, "chuyenvien", PASSPHRASE))

        def sign(prepared: bool) -> float:
            if prepared:
                return _ms(lambda: sign_pdf(unsigned, fast, slot=1))
            with _endesive_path():
                return _ms(lambda: sign_pdf(unsigned, slow, slot=1))

        out["sign (key unlocked)"] = _pair(n, lambda: sign(False), lambda: sign(True))

        head = keyfiles.load_signer(pki_dir, "lanhdao", PASSPHRASE)
        twice = sign_pdf(sign_pdf(unsigned, fast, slot=1), head, slot=2)
        roots = pki.trust_roots(pki_dir)
        report = verify_pdf(twice, roots)
        assert report.ok, report  # the benchmark signs for real: both signatures must hold
        out["verify (2 signatures)"] = _stats(
            [_ms(lambda: verify_pdf(twice, roots)) for _ in range(n)])
        out.update(_pades(n, pki_dir, unsigned, fast, head, roots))
    return out


def _pades(n: int, pki_dir: Path, unsigned: bytes, fast, head, roots) -> dict:
    out: dict = {}
    picture = images.signature_image(pki_dir, "chuyenvien", "Nguyễn Văn An")
    sign_pdf(unsigned, fast, slot=1, image=picture)  # the stamp with its picture, cached
    out["sign + picture"] = _stats(
        [_ms(lambda: sign_pdf(unsigned, fast, slot=1, image=picture)) for _ in range(n)])
    tsa = timestamps.provider(timestamps.STANDIN, pki_dir)
    tsa.token(os.urandom(32))  # starts the stand-in, issues its certificate
    out["TSA round trip (stand-in)"] = _stats(
        [_ms(lambda: tsa.token(os.urandom(32))) for _ in range(n)])
    out["sign + timestamp (B-T)"] = _stats(
        [_ms(lambda: sign_pdf(unsigned, fast, slot=1, timestamper=tsa)) for _ in range(n)])
    stamped = sign_pdf(sign_pdf(unsigned, fast, slot=1, timestamper=tsa), head, slot=2,
                       timestamper=tsa)
    ltv.current_crl(pki_dir)  # issued once (then every 6 days)
    out["add validation data (DSS)"] = _stats(
        [_ms(lambda: ltv.add_validation_data(stamped, pki_dir)) for _ in range(n)])
    long_term = ltv.add_validation_data(stamped, pki_dir)
    report = verify_pdf(long_term, roots)
    assert report.ok and [s.level for s in report.signatures] == ["B-LT"] * 2, report
    out["verify (2 signatures, B-LT)"] = _stats(
        [_ms(lambda: verify_pdf(long_term, roots)) for _ in range(n)])
    return out


def _machine() -> dict:
    from importlib.metadata import version

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(), "python": platform.python_version(),
        "cores": os.cpu_count(), "load_before": list(os.getloadavg()),
        "packages": {name: version(name) for name in
                     ("endesive", "fpdf2", "pyHanko", "cryptography", "asn1crypto", "pillow",
                      "fonttools")},
    }


def _print(results: dict) -> None:
    print(f"{'step':30} {'before med/p95':>18} {'after med/p95':>18} {'speed-up':>9}")
    for name, value in results.items():
        if "before" in value:
            b, a = value["before"], value["after"]
            print(f"{name:30} {b['median_ms']:>8.1f}/{b['p95_ms']:<8.1f} "
                  f"{a['median_ms']:>9.1f}/{a['p95_ms']:<8.1f} {value['speedup_median']:>8}x")
        elif "first_ms" in value:
            print(f"{name:30} {'':>18} {value['first_ms']:>9.1f} (once)")
        else:
            print(f"{name:30} {'':>18} {value['median_ms']:>9.1f}/{value['p95_ms']:<8.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=30, help="repetitions per measure (30)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    machine = _machine()
    results = run(args.n)
    machine["load_after"] = list(os.getloadavg())
    _print(results)
    args.out.write_text(json.dumps({"machine": machine, "results": results}, indent=2,
                                   ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
