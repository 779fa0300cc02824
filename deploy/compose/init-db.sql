-- The three databases of acoustid.org; `acoustid db upgrade` (the migrate service) fills them.
CREATE DATABASE acoustid_app;
CREATE DATABASE acoustid_fingerprint;
CREATE DATABASE acoustid_ingest;
