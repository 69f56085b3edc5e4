"""Host-side meter encoders: our own telegrams and frames, for tests, the
demo and the meter simulator. Independent of lib/hanport on purpose (own
CRCs, own formatting) so that a decoder bug is not mirrored here."""
