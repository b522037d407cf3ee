"""Result documents: render them to PDF, sign them, verify them.

Submodules, imported on demand (endesive and pyHanko are slow to import):

- :mod:`signing.pki` — the demo PKI: provincial CA, one certificate per officer;
- :mod:`signing.providers` — where signing keys come from: :mod:`signing.keyfiles`
  (encrypted key files) or :mod:`signing.pkcs11` (PKCS#11 tokens, SoftHSM2), with
  :mod:`signing.keycache` keeping unlocked signers and token sessions for a short while;
- :mod:`signing.render` — A4 PDFs with correct Vietnamese and pre-created signature slots;
- :mod:`signing.sign` — visible PAdES signatures with endesive, one slot at a time;
- :mod:`signing.timestamps` — RFC 3161 timestamps on signatures (PAdES B-T), over HTTP;
  :mod:`signing.tsa_standin` — the local time-stamping authority of the demo and tests;
- :mod:`signing.seal` — the agency's seal as a result's last signature;
  :mod:`signing.images` — the handwritten-signature and seal pictures;
- :mod:`signing.ltv` — the CRL and the DSS of long-term validation (PAdES B-LT);
- :mod:`signing.verify` — validation with pyHanko against our own trust roots only, with
  each signature's PAdES level (:mod:`signing.levels`);
- :mod:`signing.errors` — :class:`~signing.errors.SigningError`, the exception raised here;
- helpers: :mod:`signing.fonts`, :mod:`signing.template` (safe ``{placeholder}`` filling),
  :mod:`signing.slots` (signature fields), :mod:`signing.appearance` (the visible stamp).

Nothing here imports Flask.
"""
