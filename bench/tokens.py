"""What keeping officers' keys in a PKCS#11 token (SoftHSM2) costs: ``python -m bench.tokens``.

One run measures, each ``-n`` times (median and p95, ms):

- ``create token``: once: initialise a SoftHSM2 token, generate its RSA-2048 key inside it
  and certify it with the demo CA (what ``motcua demo`` does per officer);
- ``unlock``: opening the officer's signer with the cache off — a key file's decryption and
  RSA check (``file``) vs a token login and key look-up (``pkcs11``);
- ``raw signature``: ``signer.sign`` of a CMS's signed attributes (~100 bytes);
- ``sign_pdf``: a whole visible signature with a prepared signer, file vs token.

Results go to stdout and ``bench/tokens-results.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.signing import AGENCY, CONTEXT, SLOTS, SPEC, _machine, _ms, _stats
from signing import keycache, providers
from signing.pkcs11 import SOFTHSM_LIB
from signing.render import render_pdf
from signing.sign import prepare, sign_pdf

RESULTS = Path(__file__).with_name("tokens-results.json")
PIN = "mật khẩu ký số"


def _compare(n: int, file_fn, token_fn) -> dict:
    samples: dict[str, list[float]] = {"file": [], "pkcs11": []}
    for _ in range(n):  # alternate, so a noisy machine slows both alike
        samples["file"].append(_ms(file_fn))
        samples["pkcs11"].append(_ms(token_fn))
    return {kind: _stats(values) for kind, values in samples.items()}


def run(n: int) -> dict:
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        pki_dir = Path(tmp) / "pki"
        officer = {"full_name": "Nguyễn Văn An", "title": "Chuyên viên", "agency": AGENCY}
        files = providers.FileKeys(pki_dir, agency_passphrase=PIN)
        tokens = providers.Pkcs11Keys(pki_dir, agency_passphrase=PIN, library=SOFTHSM_LIB,
                                      cache_ttl=0)
        files.issue_officer("chuyenvien", pin=PIN, **officer)
        out["create token"] = {"first_ms": round(_ms(
            lambda: tokens.issue_officer("chuyenvien", pin=PIN, **officer)), 2)}

        def unlock(provider) -> None:
            with provider.officer("chuyenvien", PIN):
                pass

        saved, keycache.signer_cache.ttl = keycache.signer_cache.ttl, 0
        try:
            out["unlock"] = _compare(n, lambda: unlock(files), lambda: unlock(tokens))
        finally:
            keycache.signer_cache.ttl = saved
        attrs = b"\x31" + bytes(99)
        unsigned = render_pdf(SPEC, CONTEXT, signature_slots=SLOTS)
        with files.officer("chuyenvien", PIN) as by_file, \
                tokens.officer("chuyenvien", PIN) as by_token:
            out["raw signature"] = _compare(n, lambda: by_file.sign(attrs),
                                            lambda: by_token.sign(attrs))
            prepare(by_file), prepare(by_token)
            out["sign_pdf (prepared)"] = _compare(
                n, lambda: sign_pdf(unsigned, by_file, slot=1),
                lambda: sign_pdf(unsigned, by_token, slot=1))
        tokens.close()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=30, help="repetitions per measure (30)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    machine = _machine()
    results = run(args.n)
    for name, value in results.items():
        if "first_ms" in value:
            print(f"{name:22} {value['first_ms']:>9.1f} ms (once)")
        else:
            print(f"{name:22} file {value['file']['median_ms']:>7.2f}/{value['file']['p95_ms']:<7.2f}"
                  f" pkcs11 {value['pkcs11']['median_ms']:>7.2f}/{value['pkcs11']['p95_ms']:<7.2f}"
                  " ms (median/p95)")
    args.out.write_text(json.dumps({"machine": machine, "results": results}, indent=2,
                                   ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
