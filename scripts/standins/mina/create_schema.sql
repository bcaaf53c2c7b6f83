-- Stand-in schema of the mina-archive stand-in image (chainfleet scripts/images.sh), NOT
-- Mina's create_schema.sql (MinaProtocol/mina src/app/archive/create_schema.sql, which the
-- real image installs at this same path): one table named like the real schema's `blocks`,
-- enough to prove the generated start-up applies the file once.
CREATE TABLE blocks (
  id serial PRIMARY KEY,
  state_hash text NOT NULL UNIQUE
);
